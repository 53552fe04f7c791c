package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// demoEnv is a real cStar server with a demo team and the demo site beside
// it on its own port.
type demoEnv struct {
	api, site string
	team      teamJSON
}

func newDemoEnv(t *testing.T, dbURL string) *demoEnv {
	t.Helper()
	a := apptest.Start(t, dbURL, apptest.NoTeam)
	team := createdJSON(a.CreateTeam(t, "Demo Store", "demo"))
	site, err := startDemo("127.0.0.1:0", a.URL, team, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.close)
	return &demoEnv{api: a.URL, site: site.url, team: team}
}

// call sends a JSON request and decodes a JSON answer into out (if any).
func call(t *testing.T, c *http.Client, method, url string, hdr map[string]string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, url, err)
		}
	}
	return res.StatusCode
}

// TestDemoPages: every page embeds the widget with the test publishable
// key under a strict CSP, and no page or script carries the secret key or
// the identity secret.
func TestDemoPages(t *testing.T) {
	e := newDemoEnv(t, testdb.SQLite(t))
	for _, path := range []string{"/", "/account", "/static/account.js", "/static/style.css"} {
		res, err := http.Get(e.site + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", path, res.StatusCode)
		}
		for _, secret := range []string{e.team.Keys["sk_test"], e.team.Keys["sk_live"], e.team.IdentitySecrets["test"]} {
			if strings.Contains(string(body), secret) {
				t.Errorf("GET %s: the page holds a secret", path)
			}
		}
		if strings.HasPrefix(path, "/static/") {
			continue
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self' "+e.api+" 'wasm-unsafe-eval'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q, want the API in script-src and no unsafe-inline", path, csp)
		}
		if !strings.Contains(string(body), `data-publishable-key="`+e.team.Keys["pk_test"]+`"`) {
			t.Errorf("GET %s: no widget tag with the test publishable key", path)
		}
		if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") {
			t.Errorf("GET %s: inline script or style", path)
		}
	}
}

// TestDemoBringYourOwnAuth: the store's own login, then a token its
// backend signs, which cStar accepts as the store's user.
func TestDemoBringYourOwnAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newDemoEnv(t, dbURL)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		var errOut struct{ Error string }
		if st := call(t, c, "POST", e.site+"/account/identity-token", nil, nil, &errOut); st != 401 {
			t.Fatalf("token before login: status %d, want 401", st)
		}
		if st := call(t, c, "POST", e.site+"/account/login", nil, map[string]string{"email": "alex@store.example", "password": "wrong"}, &errOut); st != 401 || errOut.Error != "Wrong email or password" {
			t.Fatalf("wrong password: %d %q", st, errOut.Error)
		}
		if st := call(t, c, "POST", e.site+"/account/login", nil, map[string]string{"email": "alex@store.example", "password": "alex-store-pass"}, nil); st != 200 {
			t.Fatalf("login: status %d", st)
		}
		var tok struct{ Token string }
		if st := call(t, c, "POST", e.site+"/account/identity-token", nil, nil, &tok); st != 200 || tok.Token == "" {
			t.Fatalf("token: status %d %+v", st, tok)
		}
		var who struct {
			Data struct {
				Customer struct {
					Name       string `json:"name"`
					Email      string `json:"email"`
					ExternalID string `json:"external_id"`
				} `json:"customer"`
			} `json:"data"`
		}
		st := call(t, http.DefaultClient, "POST", e.api+"/api/widget/v1/identify",
			map[string]string{"Authorization": "Bearer " + e.team.Keys["pk_test"]}, map[string]string{"token": tok.Token}, &who)
		cu := who.Data.Customer
		if st != 200 || cu.ExternalID != "store-user-1" || cu.Name != "Alex Rivera" || cu.Email != "alex@store.example" {
			t.Fatalf("identify with the store's token: %d %+v, want Alex as store-user-1", st, cu)
		}
		// Signed out of the store, no more tokens.
		call(t, c, "POST", e.site+"/account/logout", nil, nil, nil)
		if st := call(t, c, "POST", e.site+"/account/identity-token", nil, nil, &errOut); st != 401 {
			t.Fatalf("token after logout: status %d, want 401", st)
		}
	})
}

// TestDemoRefusesForeignHosts: the demo (whose backend signs identity
// tokens with the team's identity secret) answers only loopback host names,
// so a page whose domain an attacker re-points at 127.0.0.1 (DNS rebinding)
// cannot get a token.
func TestDemoRefusesForeignHosts(t *testing.T) {
	e := newDemoEnv(t, testdb.SQLite(t))
	for _, c := range []struct {
		host string
		want int
	}{
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8081", http.StatusMisdirectedRequest},
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"localhost:8081", http.StatusOK},
		{"127.0.0.1", http.StatusOK},
		{"[::1]:8081", http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", e.site+"/", nil)
		req.Host = c.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("Host %s: got %d, want %d", c.host, res.StatusCode, c.want)
		}
	}
}

// TestDemoContent: a new demo team has published help articles and a
// widget that says it is online and replies in minutes, in both modes, so
// that make run's widget shows help first.
func TestDemoContent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		a := apptest.Start(t, dbURL, apptest.NoTeam)
		c := a.CreateTeam(t, "Demo Store", "demo")
		if err := demoContent(context.Background(), a.App, c.ID); err != nil {
			t.Fatal(err)
		}
		for _, pk := range []string{c.Keys["pk_test"].Secret, c.Keys["pk_live"].Secret} {
			items := a.Do(t, "GET", "/api/v1/teams/"+c.ID+"/articles", pk, nil).Want(t, 200).Items(t)
			if len(items) != len(demoArticles) {
				t.Errorf("published articles: got %d, want %d", len(items), len(demoArticles))
			}
			s := a.Do(t, "GET", "/api/widget/v1/settings", pk, nil).Want(t, 200).Data(t)
			if s["availability"] != "online" || s["reply_time"] != "minutes" {
				t.Errorf("widget settings: got %v, want online, minutes", s)
			}
		}
	})
}
