package app_test

// Email through a real SMTP relay (apptest.StartSMTP: go-smtp on a loopback
// port with STARTTLS and AUTH), on SQLite and PostgreSQL: password resets,
// verification, the outbox across restarts and outages, permanent
// refusals, offline replies and unsubscribing.

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

const (
	resetPage = "https://shop.example/account/reset?from=mail"
	chatPage  = "https://shop.example/support"
)

// mailServer starts a server whose mail goes through a test relay, with the
// site's pages set in both modes. Its log is kept, so that a test can check
// that no token reached it.
func mailServer(t *testing.T, dbURL string, opts ...apptest.Option) (*apptest.Server, *apptest.SMTP, *syncBuffer) {
	t.Helper()
	relay := apptest.StartSMTP(t)
	logs := &syncBuffer{}
	opts = append([]apptest.Option{apptest.Mail(relay), apptest.Timings(apptest.ChatTimings),
		apptest.Logger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	s := apptest.Start(t, dbURL, opts...)
	for _, k := range []string{s.SKLive, s.SKTest} {
		s.Do(t, "PATCH", s.Path(""), k, map[string]any{"password_reset_url": resetPage, "chat_url": chatPage}).Want(t, 200)
	}
	return s, relay, logs
}

// noTokens fails if the log holds a token of a link.
func noTokens(t *testing.T, logs *syncBuffer) {
	t.Helper()
	for _, p := range []string{"cpr_", "cev_", "cun_", "apr_", "cinv_"} {
		if strings.Contains(logs.String(), p) {
			t.Errorf("the log holds a %s token", p)
		}
	}
}

// jobs returns the team's outbox, newest first.
func jobs(t *testing.T, s *apptest.Server) []mail.Job {
	t.Helper()
	out, err := s.App.Mail().Recent(context.Background(), s.Team.ID, 100)
	if err != nil {
		t.Fatalf("recent mail: %v", err)
	}
	return out
}

// waitJob waits until the newest job of kind satisfies ok, and returns it.
func waitJob(t *testing.T, s *apptest.Server, kind mail.Kind, ok func(mail.Job) bool) mail.Job {
	t.Helper()
	deadline := time.Now().Add(apptest.Wait)
	for {
		for _, j := range jobs(t, s) {
			if j.Kind == kind {
				if ok(j) {
					return j
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s job as wanted: %+v", kind, jobs(t, s))
		}
		s.App.Mail().Wake()
		time.Sleep(20 * time.Millisecond)
	}
}

func finished(j mail.Job) bool { return j.FinishedAt != nil }

// newJob waits for a job of kind that is not among before and satisfies
// ok.
func newJob(t *testing.T, s *apptest.Server, kind mail.Kind, before []mail.Job, ok func(mail.Job) bool) mail.Job {
	t.Helper()
	return waitJob(t, s, kind, func(j mail.Job) bool {
		return !slices.ContainsFunc(before, func(b mail.Job) bool { return b.ID == j.ID }) && ok(j)
	})
}

// settle gives the worker a few rounds, for tests that check that nothing
// more arrives.
func settle(s *apptest.Server) {
	for range 5 {
		s.App.Mail().Wake()
		time.Sleep(60 * time.Millisecond)
	}
}

// waitAdvancing waits for the nth mail to rcpt while it moves the servers'
// clocks on a minute at a time: a retry that a delivery under way scheduled
// after the test moved the clock comes due too.
func waitAdvancing(t *testing.T, relay *apptest.SMTP, rcpt string, n int, servers ...*apptest.Server) *apptest.Received {
	t.Helper()
	deadline := time.Now().Add(apptest.Wait)
	for len(relay.To(rcpt)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("smtp: got %d messages to %s, want %d", len(relay.To(rcpt)), rcpt, n)
		}
		for _, s := range servers {
			s.Clock.Advance(time.Minute)
			s.App.Mail().Wake()
		}
		time.Sleep(30 * time.Millisecond)
	}
	return relay.To(rcpt)[n-1]
}

// fragment returns the value of key in link's fragment.
func fragment(t *testing.T, link, key string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil || v.Get(key) == "" {
		t.Fatalf("link %q: no %s in its fragment", link, key)
	}
	return v.Get(key)
}

// wantMail checks what every email must be: sent over TLS as the relay's
// user, from the server's bounce address, multipart with a text and an HTML
// part, the HTML loading nothing from elsewhere.
func wantMail(t *testing.T, m *apptest.Received, to, subject string) {
	t.Helper()
	h := m.Header
	switch {
	case !m.TLS:
		t.Errorf("%q: sent without TLS", subject)
	case m.User != "cstar":
		t.Errorf("%q: signed in as %q, want cstar", subject, m.User)
	case m.From != "bounces@cstar.test":
		t.Errorf("%q: envelope sender %q, want bounces@cstar.test", subject, m.From)
	case !slices.Equal(m.To, []string{to}):
		t.Errorf("%q: recipients %v, want %s", subject, m.To, to)
	case m.Subject != subject:
		t.Errorf("subject: got %q, want %q", m.Subject, subject)
	case h.Get("To") != "<"+to+">":
		t.Errorf("%q: To %q, want <%s>", subject, h.Get("To"), to)
	case !strings.HasPrefix(h.Get("Content-Type"), "multipart/alternative;"):
		t.Errorf("%q: Content-Type %q, want multipart/alternative", subject, h.Get("Content-Type"))
	case h.Get("Message-Id") == "" || h.Get("Date") == "" || h.Get("Mime-Version") != "1.0":
		t.Errorf("%q: Message-ID %q, Date %q, MIME-Version %q", subject, h.Get("Message-Id"), h.Get("Date"), h.Get("Mime-Version"))
	case h.Get("Auto-Submitted") != "auto-generated":
		t.Errorf("%q: Auto-Submitted %q, want auto-generated", subject, h.Get("Auto-Submitted"))
	case m.Text == "" || m.HTML == "":
		t.Errorf("%q: text %d bytes, HTML %d bytes; want both", subject, len(m.Text), len(m.HTML))
	}
	for _, remote := range []string{"<img", "src=", "url(", "<link", "@import"} {
		if strings.Contains(strings.ToLower(m.HTML), remote) {
			t.Errorf("%q: the HTML holds %q: it must load nothing", subject, remote)
		}
	}
}

// TestPasswordResetByMail: a reset link arrives at the relay with the token
// in its fragment, opens the site's page, works once within 30 minutes,
// applies the password policy, ends every session (the old socket closes)
// and signs the browser in.
func TestPasswordResetByMail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, logs := mailServer(t, dbURL)
		sign := widgetSignup(t, s, "ann@example.com", "Ann Example", "correct horse battery").Want(t, 201)
		old := sessionOf(t, sign)
		relay.WaitTo(t, "ann@example.com", 1) // the verification
		ws, _, _ := s.WidgetReady(t, s.PKLive, old, nil)

		r := s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": " Ann@Example.com"},
			"Accept-Language", "de-CH, de;q=0.9, en;q=0.5").Want(t, 202)
		if d := r.Data(t); len(d) != 1 || d["requested"] != true {
			t.Fatalf("answer: got %v, want {requested: true}", d)
		}
		m := relay.WaitTo(t, "ann@example.com", 2)
		wantMail(t, m, "ann@example.com", "Passwort für Acme zurücksetzen")
		if f := m.Header.Get("From"); f != `"Acme" <bounces@cstar.test>` {
			t.Errorf("From: got %q, want the team's name and the server's sender", f)
		}
		link := m.Link(t, "https://shop.example/")
		if !strings.HasPrefix(link, resetPage+"#cstar_reset=cpr_") {
			t.Fatalf("link: got %q, want the reset page with the token in the fragment", link)
		}
		if u, _ := url.Parse(link); u.RawQuery != "from=mail" {
			t.Errorf("link query: got %q, want the page's own (the token never in a query)", u.RawQuery)
		}
		if !strings.Contains(m.HTML, `href="`+link+`"`) {
			t.Errorf("the HTML part has no link to %s", link)
		}
		if !strings.Contains(m.Text, "Hallo Ann Example,") || !strings.Contains(m.Text, "30 Minuten") {
			t.Errorf("text: want German, with the name and the 30 minutes:\n%s", m.Text)
		}
		tok := fragment(t, link, "cstar_reset")

		confirm := func(tok, pw string) *apptest.Resp {
			return s.Do(t, "POST", wv1+"/password-reset/confirm", s.PKLive, map[string]any{"token": tok, "password": pw})
		}
		confirm(tok, "password1234").WantError(t, 400, "").WantField(t, "password")
		confirm("cpr_"+strings.Repeat("A", 43), "a brand new passphrase").WantError(t, 400, "This link is not valid or has expired: ask for a new one").WantField(t, "token")
		// A test key does not reach the live token.
		s.Do(t, "POST", wv1+"/password-reset/confirm", s.PKTest, map[string]any{"token": tok, "password": "a brand new passphrase"}).
			WantError(t, 400, "This link is not valid or has expired: ask for a new one")
		res := confirm(tok, "a brand new passphrase").Want(t, 200)
		if c := customerOf(t, res); c["email_verified"] != true {
			t.Errorf("customer after the reset: got email_verified %v, want true (the mail reached the address)", c["email_verified"])
		}
		fresh := sessionOf(t, res)
		ws.WantClose(protocol.CloseSessionInvalid)
		s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, old).WantError(t, 401, "Invalid session")
		s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, fresh).Want(t, 200)
		confirm(tok, "another new passphrase").WantError(t, 400, "This link is not valid or has expired: ask for a new one")
		widgetLogin(t, s, "ann@example.com", "correct horse battery", "").Want(t, 401)
		widgetLogin(t, s, "ann@example.com", "a brand new passphrase", "").Want(t, 200)

		// A link works for 30 minutes only.
		s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "ann@example.com"}).Want(t, 202)
		late := fragment(t, relay.WaitTo(t, "ann@example.com", 3).Link(t, "https://shop.example/"), "cstar_reset")
		s.Clock.Advance(mail.ResetTTL + time.Second)
		confirm(late, "a third new passphrase").WantError(t, 400, "This link is not valid or has expired: ask for a new one")
		noTokens(t, logs)
	})
}

// TestPasswordResetNoEnumeration: the answer to a reset request, its body
// and its time are the same whether an account has the email or not; only
// the account gets mail.
func TestPasswordResetNoEnumeration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, _ := mailServer(t, dbURL, apptest.TrustLoopbackProxy)
		const n = 16
		for i := range n {
			widgetSignup(t, s, "known"+strconvI(i)+"@example.com", "Known", "correct horse battery").Want(t, 201)
		}
		var known, unknown []time.Duration
		var bodies []string
		for i := range n {
			for _, who := range []string{"known", "nobody"} {
				start := time.Now()
				r := s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": who + strconvI(i) + "@example.com"},
					"X-Forwarded-For", "198.51.100."+strconvI(i*2+len(who)%2+1)).Want(t, 202)
				d := time.Since(start)
				bodies = append(bodies, r.WithoutRequestID())
				if who == "known" {
					known = append(known, d)
				} else {
					unknown = append(unknown, d)
				}
			}
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Fatalf("bodies differ: %s and %s", bodies[0], b)
			}
		}
		mk, mu := median(known), median(unknown)
		t.Logf("median answer: %v for an account, %v for none", mk, mu)
		if diff := mk - mu; diff > 15*time.Millisecond || diff < -15*time.Millisecond {
			t.Errorf("median answer: %v for an account, %v for none; want within 15 ms", mk, mu)
		}
		for i := range n {
			relay.WaitTo(t, "known"+strconvI(i)+"@example.com", 2) // verification, then reset
		}
		settle(s)
		for _, m := range relay.Mails() {
			if strings.HasPrefix(m.To[0], "nobody") {
				t.Errorf("mail to %v, which has no account", m.To)
			}
		}
		dropped := 0
		for _, j := range jobs(t, s) {
			if j.Kind == mail.CustomerReset && j.Status == mail.Dropped {
				dropped++
				if j.To != "" {
					t.Errorf("a dropped request keeps the address typed: %q", j.To)
				}
			}
		}
		if dropped != n {
			t.Errorf("dropped reset jobs: got %d, want %d", dropped, n)
		}
	})
}

func strconvI(i int) string { return strconv.Itoa(i) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestPasswordResetThrottles: three mails an hour per address (then the
// same answer and no mail), ten requests an hour per client address (then
// 429).
func TestPasswordResetThrottles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, _ := mailServer(t, dbURL, apptest.TrustLoopbackProxy)
		widgetSignup(t, s, "ann@example.com", "Ann", "correct horse battery").Want(t, 201)
		for i := range 5 {
			s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "ann@example.com"},
				"X-Forwarded-For", "203.0.113."+strconvI(i+1)).Want(t, 202)
		}
		relay.WaitTo(t, "ann@example.com", 4) // the verification and three resets
		settle(s)
		if got := len(relay.To("ann@example.com")); got != 4 {
			t.Errorf("mails to ann: got %d, want 4 (one verification, three resets)", got)
		}

		for i := range 10 {
			s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "x" + strconvI(i) + "@example.com"},
				"X-Forwarded-For", "192.0.2.9").Want(t, 202)
		}
		r := s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "y@example.com"}, "X-Forwarded-For", "192.0.2.9")
		r.WantError(t, 429, "Too many password reset requests, please retry later")
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		// Another address is not held back.
		s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "y@example.com"}, "X-Forwarded-For", "192.0.2.10").Want(t, 202)
		s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "not an email"}).WantError(t, 400, "").WantField(t, "email")
	})
}

// TestVerifyEmail: a new account gets a confirmation link to the site's
// chat page, in the language asked for; it works once and makes the email
// verified everywhere (widget, API), and only then is it looked up.
func TestVerifyEmail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, logs := mailServer(t, dbURL)
		sign := s.Do(t, "POST", wv1+"/signup", s.PKLive, map[string]any{"email": "eva@example.com", "name": "Eva",
			"password": "correct horse battery"}, "Accept-Language", "es-ES,es;q=0.9").Want(t, 201)
		id := apptest.Str(customerOf(t, sign)["id"])
		ses := sessionOf(t, sign)
		if v := customerOf(t, sign)["email_verified"]; v != false {
			t.Errorf("signup: got email_verified %v, want false", v)
		}
		m := relay.WaitTo(t, "eva@example.com", 1)
		wantMail(t, m, "eva@example.com", "Confirma tu dirección de correo para Acme")
		link := m.Link(t, "https://shop.example/")
		if !strings.HasPrefix(link, chatPage+"#cstar_verify=cev_") {
			t.Fatalf("link: got %q, want the chat page with the token in the fragment", link)
		}
		if n := len(s.Do(t, "GET", s.Path("/customers?email=eva@example.com"), s.SKLive, nil).Want(t, 200).Items(t)); n != 0 {
			t.Errorf("customers by the unverified email: got %d, want 0", n)
		}
		tok := fragment(t, link, "cstar_verify")
		s.Do(t, "POST", wv1+"/verify-email", s.PKTest, map[string]any{"token": tok}).WantError(t, 400, "This confirmation link is not valid or has expired")
		r := s.Do(t, "POST", wv1+"/verify-email", s.PKLive, map[string]any{"token": tok}).Want(t, 200)
		if c, _ := r.Data(t)["customer"].(map[string]any); c["id"] != id || c["email_verified"] != true {
			t.Errorf("verified: got %v, want customer %s with email_verified true", c, id)
		}
		s.Do(t, "POST", wv1+"/verify-email", s.PKLive, map[string]any{"token": tok}).WantError(t, 400, "This confirmation link is not valid or has expired")
		if me := s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, ses).Want(t, 200).Data(t); me["email_verified"] != true {
			t.Errorf("/me: got email_verified %v, want true", me["email_verified"])
		}
		if c := s.Do(t, "GET", s.Path("/customers/"+id), s.SKLive, nil).Want(t, 200).Data(t); c["email_verified"] != true {
			t.Errorf("API customer: got email_verified %v, want true", c["email_verified"])
		}
		if ids := s.Do(t, "GET", s.Path("/customers?email=eva@example.com"), s.SKLive, nil).Want(t, 200).IDs(t); !slices.Equal(ids, []string{id}) {
			t.Errorf("customers by the verified email: got %v, want %s", ids, id)
		}
		// The site's own customer with the same address is not blocked by
		// the verified account.
		s.Do(t, "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "eva@example.com", "name": "Eva (site)"}).Want(t, 201)
		// Among the site's own customers proven emails stay unique.
		s.Do(t, "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "eva@example.com", "name": "Eva again"}).
			WantError(t, 409, "A customer with this email already exists")
		s.Do(t, "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "bo@example.com", "name": "Bo"}).Want(t, 201)
		s.Do(t, "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "bo@example.com", "external_id": "bo-2",
			"password_hash": "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}).
			WantError(t, 409, "A customer with this email already exists")
		noTokens(t, logs)
	})
}

// TestOutboxSurvivesRestartAndOutage: with the relay down, a mail waits in
// the outbox (retried with backoff) through a restart of the server, and is
// sent once when the relay is back: never twice.
func TestOutboxSurvivesRestartAndOutage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, _ := mailServer(t, dbURL)
		widgetSignup(t, s, "ann@example.com", "Ann", "correct horse battery").Want(t, 201)
		relay.WaitTo(t, "ann@example.com", 1)
		// The relay keeps a message before its 250 reaches the worker: a
		// stop in between is a failed attempt, and the mail is sent again
		// (at least once). Stop it once the worker has recorded the mail.
		waitJob(t, s, mail.VerifyEmail, func(j mail.Job) bool { return j.Status == mail.Sent })
		relay.Stop()
		s.Do(t, "POST", wv1+"/password-reset", s.PKLive, map[string]any{"email": "ann@example.com"}).Want(t, 202)
		j := waitJob(t, s, mail.CustomerReset, func(j mail.Job) bool { return j.Attempts >= 1 && j.LastError != "" })
		if j.Status != mail.Sending || !strings.Contains(j.LastError, "connect to") {
			t.Errorf("job with the relay down: got %s, %q; want sending with the connection's error", j.Status, j.LastError)
		}
		s.Stop(t)
		s.Restart(t)
		s.Clock.Advance(mail.Backoff(1) * 2)
		waitJob(t, s, mail.CustomerReset, func(j mail.Job) bool { return j.Attempts >= 2 })
		relay.Start(t)
		s.Clock.Advance(time.Hour + 15*time.Minute)
		waitAdvancing(t, relay, "ann@example.com", 2, s)
		waitJob(t, s, mail.CustomerReset, func(j mail.Job) bool { return j.Status == mail.Sent })
		s.Clock.Advance(2 * time.Hour)
		settle(s)
		if got := len(relay.To("ann@example.com")); got != 2 {
			t.Errorf("mails to ann: got %d, want 2 (the verification and one reset)", got)
		}
	})
}

// TestPermanentRefusal: a 5xx for the recipient is recorded and never
// retried; a 4xx is retried.
func TestPermanentRefusal(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, _ := mailServer(t, dbURL)
		relay.Refuse("bob@example.com", 550)
		widgetSignup(t, s, "bob@example.com", "Bob", "correct horse battery").Want(t, 201)
		j := waitJob(t, s, mail.VerifyEmail, finished)
		if j.Status != mail.Failed || !strings.Contains(j.LastError, "550") || j.Attempts != 1 || j.Recipient != "bob@example.com" {
			t.Fatalf("job refused with 550: got %s %q after %d attempts to %q; want failed, with the reply, once",
				j.Status, j.LastError, j.Attempts, j.Recipient)
		}
		s.Clock.Advance(3 * time.Hour)
		settle(s)
		if j := waitJob(t, s, mail.VerifyEmail, finished); j.Attempts != 1 {
			t.Errorf("a refused job was tried again: %d attempts", j.Attempts)
		}

		relay.Refuse("cy@example.com", 451)
		widgetSignup(t, s, "cy@example.com", "Cy", "correct horse battery").Want(t, 201)
		j = waitJob(t, s, mail.VerifyEmail, func(j mail.Job) bool { return j.Attempts >= 1 && j.LastError != "" })
		if j.Status != mail.Sending || !strings.Contains(j.LastError, "451") {
			t.Errorf("job refused with 451: got %s %q; want to be retried", j.Status, j.LastError)
		}
		relay.Refuse("cy@example.com", 0)
		s.Clock.Advance(time.Hour + 15*time.Minute)
		waitAdvancing(t, relay, "cy@example.com", 1, s)
	})
}

// verifiedCustomer signs a customer up, verifies the email with the link
// mailed and returns the session and the customer's id.
func verifiedCustomer(t *testing.T, s *apptest.Server, relay *apptest.SMTP, email string) (string, string) {
	t.Helper()
	sign := widgetSignup(t, s, email, strings.Split(email, "@")[0], "correct horse battery").Want(t, 201)
	tok := fragment(t, relay.WaitTo(t, email, 1).Link(t, chatPage), "cstar_verify")
	s.Do(t, "POST", wv1+"/verify-email", s.PKLive, map[string]any{"token": tok}).Want(t, 200)
	return sessionOf(t, sign), apptest.Str(customerOf(t, sign)["id"])
}

// openChat connects the customer's widget, writes a message and returns the
// socket and the conversation.
func openChat(t *testing.T, s *apptest.Server, ses, body string) (*apptest.WS, string) {
	t.Helper()
	w, _, _ := s.WidgetReady(t, s.PKLive, ses, nil)
	w.SendMsg("m-"+strconv.Itoa(len(body)), body)
	ack := w.WaitFor("ack")
	m, _ := ack["message"].(map[string]any)
	return w, apptest.Str(m["ticket_id"])
}

// waitDelivered waits until the customer's socket has recorded the
// delivery of the ticket's messages up to its last (the record runs beside
// the socket's writer).
func waitDelivered(t *testing.T, s *apptest.Server, ticket string) {
	t.Helper()
	deadline := time.Now().Add(apptest.Wait)
	for {
		var delivered, last int64
		err := s.App.DB().Bun().NewRaw("SELECT customer_delivered_seq, last_seq FROM tickets WHERE id = ?", ticket).
			Scan(context.Background(), &delivered, &last)
		if err == nil && delivered == last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s: delivered %d of %d (%v)", ticket, delivered, last, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func agentSays(t *testing.T, s *apptest.Server, ticket, body string) {
	t.Helper()
	s.Do(t, "POST", s.Path("/tickets/"+ticket+"/messages"), s.SKLive, map[string]any{"body": body, "author_name": "Sam"}).Want(t, 201)
}

// TestOfflineReplies: an agent's messages that reach none of the customer's
// sockets within the delay are emailed, together, once; a customer who
// stayed, or came back first, gets nothing; one click unsubscribes.
func TestOfflineReplies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s, relay, logs := mailServer(t, dbURL)
		gone, _ := verifiedCustomer(t, s, relay, "gone@example.com")
		stays, _ := verifiedCustomer(t, s, relay, "stays@example.com")
		w1, t1 := openChat(t, s, gone, "Where is my order?")
		w1.Conn.Close()
		w2, t2 := openChat(t, s, stays, "Is it in stock?")
		agentSays(t, s, t1, "It left the warehouse today.")
		agentSays(t, s, t1, "Tracking: <ZX-42> & more")
		agentSays(t, s, t2, "Yes, plenty.")
		w2.WaitUntil("message", func(f map[string]any) bool {
			m, _ := f["message"].(map[string]any)
			return m["body"] == "Yes, plenty."
		})
		waitDelivered(t, s, t2)
		settle(s)
		if n := len(relay.To("gone@example.com")); n != 1 {
			t.Fatalf("before the delay: got %d mails, want only the verification", n)
		}
		s.Clock.Advance(mail.DefaultOfflineDelay + time.Second)
		m := relay.WaitTo(t, "gone@example.com", 2)
		wantMail(t, m, "gone@example.com", "New reply from Acme")
		for _, want := range []string{"It left the warehouse today.", "Tracking: <ZX-42> & more", "Sam,",
			"Replies to this email are not read yet", "Continue the conversation:\n" + chatPage} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text: no %q in\n%s", want, m.Text)
			}
		}
		if !strings.Contains(m.HTML, "Tracking: &lt;ZX-42&gt; &amp; more") {
			t.Error("HTML: the agent's message is not escaped")
		}
		unsub := m.Header.Get("List-Unsubscribe")
		if !strings.HasPrefix(unsub, "<"+s.URL+"/mail/unsubscribe/cun_") || m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe %q, -Post %q; want the one-click link (RFC 8058)", unsub, m.Header.Get("List-Unsubscribe-Post"))
		}
		settle(s)
		if n := len(relay.To("stays@example.com")); n != 1 {
			t.Errorf("the customer who stayed: got %d mails, want only the verification", n)
		}

		// A customer who comes back before the delay gets none.
		before := jobs(t, s)
		agentSays(t, s, t1, "Anything else?")
		back, _, _ := s.WidgetReady(t, s.PKLive, gone, nil)
		waitDelivered(t, s, t1)
		s.Clock.Advance(mail.DefaultOfflineDelay + time.Second)
		j := newJob(t, s, mail.OfflineReply, before, finished)
		if j.Status != mail.Dropped || j.LastError != "nothing unseen: the customer came back" {
			t.Errorf("after coming back: got %s %q, want dropped", j.Status, j.LastError)
		}
		back.Conn.Close()
		if n := len(relay.To("gone@example.com")); n != 2 {
			t.Errorf("after coming back: got %d mails, want 2", n)
		}

		// The link's page does nothing by itself; its POST (one click in a
		// mail client) unsubscribes.
		link := strings.Trim(unsub, "<>")
		page := s.Do(t, "GET", strings.TrimPrefix(link, s.URL), "", nil).Want(t, 200)
		if !strings.Contains(string(page.Raw), `<form method="post">`) {
			t.Error("the unsubscribe page has no form")
		}
		r := s.Do(t, "POST", strings.TrimPrefix(link, s.URL), "", "List-Unsubscribe=One-Click",
			"Content-Type", "application/x-www-form-urlencoded").Want(t, 200)
		if !strings.Contains(string(r.Raw), "Unsubscribed") {
			t.Errorf("unsubscribe: got %s", r.Raw)
		}
		s.Do(t, "POST", "/mail/unsubscribe/cun_"+strings.Repeat("x", 43), "", "List-Unsubscribe=One-Click",
			"Content-Type", "application/x-www-form-urlencoded").Want(t, 404)
		before = jobs(t, s)
		agentSays(t, s, t1, "Still there?")
		s.Clock.Advance(mail.DefaultOfflineDelay + time.Second)
		j = newJob(t, s, mail.OfflineReply, before, finished)
		if j.Status != mail.Dropped || j.LastError != "the customer unsubscribed" {
			t.Errorf("after unsubscribing: got %s %q, want dropped", j.Status, j.LastError)
		}
		if n := len(relay.To("gone@example.com")); n != 2 {
			t.Errorf("after unsubscribing: got %d mails, want 2", n)
		}
		// An unverified customer gets no offline mail either.
		raw := sessionOf(t, widgetSignup(t, s, "raw@example.com", "Raw", "correct horse battery").Want(t, 201))
		w3, t3 := openChat(t, s, raw, "Hello?")
		w3.Conn.Close()
		before = jobs(t, s)
		agentSays(t, s, t3, "Hi!")
		s.Clock.Advance(mail.DefaultOfflineDelay + time.Second)
		j = newJob(t, s, mail.OfflineReply, before, finished)
		if j.Status != mail.Dropped || j.LastError != "the customer has no verified email" {
			t.Errorf("unverified customer: got %s %q, want dropped", j.Status, j.LastError)
		}
		noTokens(t, logs)
		if !strings.Contains(logs.String(), `"path":"POST /mail/unsubscribe/{token}"`) {
			t.Error("the unsubscribe request is not logged by its pattern")
		}
	})
}

// TestDevMailbox: without --smtp-url, mail is kept in the dev mailbox
// (which the dashboard shows) and logged without its links.
func TestDevMailbox(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		logs := &syncBuffer{}
		s := apptest.Start(t, dbURL, apptest.Logger(slog.New(slog.NewJSONHandler(logs, nil))))
		s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"chat_url": chatPage}).Want(t, 200)
		widgetSignup(t, s, "dev@example.com", "Dev", "correct horse battery").Want(t, 201)
		s.App.Mail().Wake()
		j := waitJob(t, s, mail.VerifyEmail, finished)
		if j.Status != mail.Sent {
			t.Fatalf("dev mailbox: got %s %q, want sent", j.Status, j.LastError)
		}
		box, err := s.App.Mail().DevMailbox(context.Background(), s.Team.ID, 10)
		if err != nil || len(box) != 1 || box[0].To != "dev@example.com" || !strings.Contains(box[0].Text, chatPage+"#cstar_verify=cev_") {
			t.Fatalf("dev mailbox: got %+v, %v; want the verification with its link", box, err)
		}
		if !strings.Contains(logs.String(), "mail kept in the dev mailbox") {
			t.Error("the dev mailbox logged nothing")
		}
		noTokens(t, logs)
	})
}

// TestMailAcrossProcesses: two servers on one PostgreSQL database share the
// outbox and the events: every mail is sent once, whichever process queued
// it, and an offline reply written on one is mailed by one of them once. A
// process stopped with mail queued leaves it to the other.
func TestMailAcrossProcesses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		if strings.HasPrefix(url, "sqlite") {
			t.Skip("SQLite mode is single-process")
		}
		relay := apptest.StartSMTP(t)
		node := func() *apptest.Server {
			return apptest.Start(t, url, apptest.NoTeam, apptest.Mail(relay), apptest.Timings(apptest.ChatTimings),
				apptest.TrustLoopbackProxy)
		}
		a, b := node(), node()
		team := a.CreateTeam(t, "Acme", "acme")
		a.Team, b.Team = team, team
		a.SKLive, a.PKLive = team.Keys["sk_live"].Secret, team.Keys["pk_live"].Secret
		b.SKLive, b.PKLive = a.SKLive, a.PKLive
		a.Do(t, "PATCH", a.Path(""), a.SKLive, map[string]any{"password_reset_url": resetPage, "chat_url": chatPage}).Want(t, 200)

		const n = 24
		for i := range n {
			srv := []*apptest.Server{a, b}[i%2]
			widgetSignup(t, srv, "p"+strconvI(i)+"@example.com", "P", "correct horse battery").Want(t, 201)
		}
		for i := range n {
			srv := []*apptest.Server{b, a}[i%2]
			srv.Do(t, "POST", wv1+"/password-reset", srv.PKLive, map[string]any{"email": "p" + strconvI(i) + "@example.com"},
				"X-Forwarded-For", "198.51.100."+strconvI(i+1)).Want(t, 202)
		}
		for i := range n {
			relay.WaitTo(t, "p"+strconvI(i)+"@example.com", 2)
		}
		// An offline reply: the customer chats on A, the agent answers on B.
		ses, _ := verifiedCustomer(t, a, relay, "off@example.com")
		w, ticket := openChat(t, a, ses, "Hello from A")
		w.Conn.Close()
		agentSays(t, b, ticket, "Answered from B")
		a.Clock.Advance(mail.DefaultOfflineDelay + time.Second)
		b.Clock.Advance(mail.DefaultOfflineDelay + time.Second)
		relay.WaitTo(t, "off@example.com", 2)
		// Stopped before the worker recorded the 250, the relay would get the
		// offline reply again (at least once): wait for the record.
		waitJob(t, a, mail.OfflineReply, func(j mail.Job) bool { return j.Status == mail.Sent })

		// A stops with a mail queued while the relay is down; B sends it.
		relay.Stop()
		a.Do(t, "POST", wv1+"/password-reset", a.PKLive, map[string]any{"email": "p0@example.com"}).Want(t, 202)
		a.Stop(t)
		relay.Start(t)
		b.Clock.Advance(2 * time.Hour)
		waitAdvancing(t, relay, "p0@example.com", 3, b)
		a.Restart(t)
		settle(b)
		settle(a)
		seen := map[string]int{}
		for _, m := range relay.Mails() {
			seen[m.Header.Get("Message-Id")]++
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("message %s sent %d times", id, c)
			}
		}
		if want := 2*n + 2 + 1; len(seen) != want {
			t.Errorf("mails: got %d, want %d", len(seen), want)
		}
	})
}
