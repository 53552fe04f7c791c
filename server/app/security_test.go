package app_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretInLogs sends valid and invalid keys, in headers and (wrongly)
// in a query string, and checks that no secret reaches the log.
func TestNoSecretInLogs(t *testing.T) {
	var logs syncBuffer
	s := apptest.Start(t, testdb.SQLite(t), apptest.NoTeam,
		apptest.Logger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	c := s.CreateTeam(t, "Acme", "acme")
	sk := c.Keys["sk_live"].Secret
	bad := sk[:len(sk)-1] + "x"
	for _, key := range []string{sk, bad} {
		s.Do(t, "GET", "/api/v1/teams/acme/tickets?api_key="+key, key, nil)
		s.Do(t, "GET", "/api/v1/teams/acme/tickets/nope", key, nil)
	}
	s.App.Close(context.Background())
	out := logs.String()
	if !strings.Contains(out, `"msg":"request"`) {
		t.Fatalf("no request log lines captured:\n%s", out)
	}
	for _, secret := range []string{sk, bad, sk[8:30]} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains a secret %q:\n%s", secret, out)
		}
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(priv)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// TestTLSWithHSTS serves HTTPS from --tls-cert/--tls-key and checks HSTS.
func TestTLSWithHSTS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	a := apptest.Start(t, testdb.SQLite(t), apptest.NoTeam,
		apptest.Config(func(c *config.Config) { c.TLSCert, c.TLSKey = cert, key })).App
	if !strings.HasPrefix(a.URL(), "https://") {
		t.Fatalf("URL() = %q, want https://…", a.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Get(a.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Fatalf("Strict-Transport-Security = %q, want max-age=…", got)
	}
}
