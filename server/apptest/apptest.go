package apptest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// Wait bounds every wait for a frame, a close or a state: generous, since
// the race detector on two cores is slow, and never slept through when
// things work.
const Wait = 10 * time.Second

// CheapPassword keeps argon2id fast in tests; production uses
// password.OWASP.
var CheapPassword = argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// ChatTimings (Timings(ChatTimings)) keep the websocket heartbeat well
// inside a test's time: pings
// every 200 ms, so that a test that waits sees them, and a resume within a
// second.
var ChatTimings = socket.Timings{Ping: 200 * time.Millisecond, PongWait: 5 * time.Second,
	WriteWait: 5 * time.Second, ResumeWait: time.Second, QueueLen: 64, Sweep: 50 * time.Millisecond}

// WebhookTimings keep webhook retries inside a test's time: due deliveries
// are looked for every 20 ms, retries start after 200 ms, attempts time out
// after 2 s and claims last 5 s. Retries still stop, and failing endpoints
// are disabled, after 3 days: tests move the Clock.
var WebhookTimings = webhook.Timings{Poll: 20 * time.Millisecond, Lease: 5 * time.Second, Timeout: 2 * time.Second,
	FirstRetry: 200 * time.Millisecond, MaxRetry: time.Second}

// Clock is the real clock plus an offset that tests advance. Adding to
// time.Now keeps the monotonic reading, so limiters that subtract times see
// the jump too.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now is the time as the server sees it.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	d := c.off
	c.mu.Unlock()
	return time.Now().Add(d)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Setup is what Start builds the server from; Options change it.
type Setup struct {
	Config config.Config
	App    app.Options
	// Team is created unless NoTeam is set.
	NoTeam bool
}

// Option changes the Setup.
type Option func(*Setup)

// Limits sets the hourly limits (0 keeps the test default, which no test
// reaches by accident).
func Limits(secret, publishable, library, invalid int) Option {
	return func(s *Setup) {
		c := &s.Config
		if secret > 0 {
			c.SecretLimit = secret
		}
		if publishable > 0 {
			c.PublishableLimit = publishable
		}
		if library > 0 {
			c.LibraryLimit = library
		}
		if invalid > 0 {
			c.InvalidKeyLimit = invalid
		}
	}
}

// TrustLoopbackProxy trusts 127.0.0.1 as a proxy, so that X-Forwarded-For
// picks the client IP.
func TrustLoopbackProxy(s *Setup) {
	s.Config.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// Timings sets the websocket heartbeat and deadlines.
func Timings(tm socket.Timings) Option { return func(s *Setup) { s.App.ChatTimings = tm } }

// Config changes the configuration.
func Config(f func(*config.Config)) Option { return func(s *Setup) { f(&s.Config) } }

// RealPasswords hashes with the production argon2id parameters, for
// benchmarks that measure them.
func RealPasswords(s *Setup) { s.App.PasswordParams = nil }

// Webhooks sets the webhook dispatcher's timings.
func Webhooks(tm webhook.Timings) Option { return func(s *Setup) { s.App.WebhookTimings = tm } }

// Logger sends the server's log to l (by default it is discarded).
func Logger(l *slog.Logger) Option { return func(s *Setup) { s.App.Log = l } }

// Mail sends the server's mail through relay (StartSMTP), trusting its
// certificate, and has the worker look for due mail every 50 ms.
func Mail(relay *SMTP) Option {
	return func(s *Setup) {
		s.Config.SMTPURL = relay.URL
		s.Config.SMTPFrom = "bounces@cstar.test"
		s.App.SMTPRootCAs = relay.RootCAs
		s.App.MailPoll = 50 * time.Millisecond
	}
}

// NoTeam starts the server without creating a team (another server on the
// same database has made it).
func NoTeam(s *Setup) { s.NoTeam = true }

// Server is a running cStar server, by default with one team and its four
// first keys.
type Server struct {
	App     *app.App
	URL     string
	Clock   *Clock
	Dialect string // "sqlite" or "postgres"
	Team    team.Created

	SKLive, SKTest, PKLive, PKTest string

	setup  Setup
	client *http.Client
}

var teamSeq struct {
	sync.Mutex
	n int
}

// UniqueSlug is prefix with a number no other call of this test binary got.
func UniqueSlug(prefix string) string {
	teamSeq.Lock()
	defer teamSeq.Unlock()
	teamSeq.n++
	return fmt.Sprintf("%s-%d", prefix, teamSeq.n)
}

// Start runs a server on dbURL until the test ends. Limits are high unless
// an option lowers them, so that only the rate-limit tests ever see a 429.
func Start(t testing.TB, dbURL string, opts ...Option) *Server {
	t.Helper()
	clk := &Clock{}
	p := CheapPassword
	st := Setup{Config: config.Default(), App: app.Options{Now: clk.Now, PasswordParams: &p, WebhookTimings: WebhookTimings}}
	st.Config.Addr = "127.0.0.1:0"
	// Webhook receivers in tests are httptest servers on loopback.
	st.Config.WebhooksAllowInsecure, st.Config.WebhooksAllowPrivate = true, true
	st.Config.DatabaseURL = dbURL
	st.Config.SecretLimit = 100000
	st.Config.PublishableLimit = 100000
	st.Config.LibraryLimit = 100000
	st.Config.InvalidKeyLimit = 100000
	st.Config.WidgetSessionLimit = 100000
	st.Config.WidgetIPLimit = 100000
	st.Config.WidgetVisitorLimit = 100000
	for _, o := range opts {
		o(&st)
	}
	dialect := "sqlite"
	if strings.HasPrefix(dbURL, "postgres") {
		dialect = "postgres"
	}
	s := &Server{Clock: clk, Dialect: dialect, setup: st, client: &http.Client{Timeout: 20 * time.Second}}
	s.open(t)
	// The server listens on the same address after a Restart.
	s.setup.Config.Addr = strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.App.Close(ctx); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	t.Cleanup(s.client.CloseIdleConnections)
	if !st.NoTeam {
		s.Team = s.CreateTeam(t, "Acme", UniqueSlug("acme"))
		s.SKLive = s.Team.Keys["sk_live"].Secret
		s.SKTest = s.Team.Keys["sk_test"].Secret
		s.PKLive = s.Team.Keys["pk_live"].Secret
		s.PKTest = s.Team.Keys["pk_test"].Secret
	}
	return s
}

func (s *Server) open(t testing.TB) {
	t.Helper()
	a, err := app.Open(context.Background(), s.setup.Config, s.setup.App)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	a.Start()
	s.App, s.URL = a, a.URL()
}

// Stop closes the server as a deploy would: requests drain and sockets are
// told to reconnect.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.App.Close(ctx); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
}

// Restart opens the stopped server again on the same address and database.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.open(t)
}

// CreateTeam creates a team with its four first keys.
func (s *Server) CreateTeam(t testing.TB, name, slug string) team.Created {
	t.Helper()
	c, err := s.App.Teams().Create(context.Background(), name, slug)
	if err != nil {
		t.Fatalf("create team %q: %v", slug, err)
	}
	for _, k := range []string{"sk_live", "sk_test", "pk_live", "pk_test"} {
		if c.Keys[k].Secret == "" {
			t.Fatalf("team %q: no %s key", slug, k)
		}
	}
	return c
}

// Path is the /api/v1 path of the test team, e.g. Path("/tickets").
func (s *Server) Path(rest string) string { return "/api/v1/teams/" + s.Team.ID + rest }
