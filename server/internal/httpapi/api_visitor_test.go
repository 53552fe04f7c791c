package httpapi_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// visitor creates an anonymous visitor with key (body may be nil) and
// returns its token and id.
func visitor(t *testing.T, s *testServer, key string, body any) (token, id string) {
	t.Helper()
	d := s.Do(t, "POST", wv1+"/visitor", key, body).Want(t, 201).Data(t)
	ses, _ := d["session"].(map[string]any)
	v, _ := d["visitor"].(map[string]any)
	if str(ses["expires_at"]) == "" {
		t.Errorf("visitor session: got %v, want an expiry", ses)
	}
	return str(ses["token"]), str(v["id"])
}

var sent atomic.Int64

// visitorSays opens the widget channel with token and sends body; it returns
// the ticket the message went to.
func visitorSays(t *testing.T, s *testServer, token, body string) string {
	t.Helper()
	w, _, _ := s.WidgetReady(t, s.PKTest, token, nil)
	defer w.Conn.Close()
	w.SendMsg("c-"+strconv.FormatInt(sent.Add(1), 10), body)
	ack := w.WaitFor(protocol.FrameAck)
	m := msg(ack)
	if str(m["body"]) != body {
		t.Fatalf("ack: got %v, want %q", m, body)
	}
	return str(m["ticket_id"])
}

// customerOf reads a customer through the secret-key API.
func (s *testServer) customerOf(t *testing.T, id string) map[string]any {
	t.Helper()
	return s.Do(t, "GET", s.Path("/customers/"+id), s.SKTest, nil).Want(t, 200).Data(t)
}

// ticketsOf lists the ids of a customer's tickets (newest first).
func (s *testServer) ticketsOf(t *testing.T, customerID string) []string {
	t.Helper()
	return s.Do(t, "GET", s.Path("/tickets?customer_id="+customerID), s.SKTest, nil).Want(t, 200).IDs(t)
}

// TestVisitor: an anonymous visitor writes before having an account, an
// agent answers, and the same browser's signup (with the visitor's token in
// the request) moves the conversation into the account; agents see the
// visitor as such, its typed email as unverified, and the merge as events on
// REST and on the stream.
func TestVisitor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		stream, _, ready := s.Stream(t, s.SKTest, "")
		defer stream.Conn.Close()

		tok, vid := visitor(t, s, s.PKTest, map[string]any{"email": " Grace@Example.COM "})
		if !strings.HasPrefix(tok, "cs_") || len(tok) != 46 {
			t.Fatalf("visitor token %q: want cs_ and 43 characters (256 bits)", tok)
		}
		c := s.customerOf(t, vid)
		if c["kind"] != "visitor" || c["email"] != nil || c["unverified_email"] != "grace@example.com" || c["merged_into"] != nil {
			t.Errorf("visitor as agents see it: got %v, want kind visitor, no email, unverified_email grace@example.com", c)
		}
		// The typed email is never looked up.
		if n := len(s.Do(t, "GET", s.Path("/customers?email=grace@example.com"), s.SKTest, nil).Want(t, 200).Items(t)); n != 0 {
			t.Errorf("customers by the visitor's typed email: got %d, want 0", n)
		}
		// /me answers for the visitor's token too.
		if me := s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, tok).Want(t, 200).Data(t); me["id"] != vid {
			t.Errorf("/me with the visitor's token: got %v, want %s", me, vid)
		}
		// A name, later, is a claim too.
		v := s.Do(t, "PATCH", wv1+"/visitor", s.PKTest, map[string]any{"name": "Grace"}, protocol.SessionHeader, tok).Want(t, 200).Data(t)
		if v["name"] != "Grace" || v["email"] != "grace@example.com" {
			t.Errorf("PATCH visitor: got %v, want name Grace and the email kept", v)
		}
		if c := s.customerOf(t, vid); c["name_verified"] != false {
			t.Errorf("visitor's name_verified: got %v, want false", c["name_verified"])
		}

		ticket := visitorSays(t, s, tok, "Where is my order?")
		s.post(t, s.SKTest, ticket, "Let me check, Grace.")
		stream.WaitUntil(protocol.EventMessageCreated, func(f map[string]any) bool { return str(msg(f)["body"]) == "Let me check, Grace." })

		// The visitor's socket is open when the same browser signs up.
		vw, _, _ := s.WidgetReady(t, s.PKTest, tok, nil)
		d := s.Do(t, "POST", wv1+"/signup", s.PKTest, map[string]any{"email": "grace@example.com", "name": "Grace Hopper",
			"password": "correct horse battery"}, protocol.VisitorHeader, tok).Want(t, 201).Data(t)
		merged, _ := d["merged"].(map[string]any)
		if merged["visitor_id"] != vid || merged["tickets"] != float64(1) {
			t.Fatalf("signup's merged: got %v, want visitor %s and 1 ticket", d["merged"], vid)
		}
		cust, _ := d["customer"].(map[string]any)
		ses, _ := d["session"].(map[string]any)
		aid, atok := str(cust["id"]), str(ses["token"])
		vw.WantClose(protocol.CloseSessionInvalid)

		// The conversation is the account's now, whole.
		if got := s.ticketsOf(t, aid); !slices.Equal(got, []string{ticket}) {
			t.Errorf("account's tickets: got %v, want [%s]", got, ticket)
		}
		tk := s.Do(t, "GET", s.Path("/tickets/"+ticket), s.SKTest, nil).Want(t, 200).Data(t)
		if tk["customer_id"] != aid || tk["merged_from"] != vid {
			t.Errorf("ticket: got customer %v, merged_from %v; want %s, %s", tk["customer_id"], tk["merged_from"], aid, vid)
		}
		_, replay, _ := s.WidgetReady(t, s.PKTest, atok, nil)
		if got := bodies(replay); !slices.Equal(got, []string{"Where is my order?", "Let me check, Grace."}) {
			t.Errorf("account's replay: got %q, want the visitor's conversation", got)
		}
		c = s.customerOf(t, vid)
		if c["merged_into"] != aid || c["kind"] != "visitor" {
			t.Errorf("visitor after the merge: got %v, want kind visitor merged into %s", c, aid)
		}
		if a := s.customerOf(t, aid); a["kind"] != "account" {
			t.Errorf("account's kind: got %v, want account", a["kind"])
		}
		// The visitor's token is spent.
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, tok).WantError(t, 401, "Invalid session")
		// A second sign-in with it merges nothing.
		d = s.Do(t, "POST", wv1+"/login", s.PKTest, map[string]any{"email": "grace@example.com", "password": "correct horse battery"},
			protocol.VisitorHeader, tok).Want(t, 200).Data(t)
		if d["merged"] != nil {
			t.Errorf("login with a spent visitor token: got merged %v, want none", d["merged"])
		}

		// The merge is an event, on the stream and on REST.
		ev := stream.WaitFor(protocol.EventCustomerMerged)
		evTicket, _ := ev["ticket"].(map[string]any)
		if ev["ticket_id"] != ticket || evTicket["customer_id"] != aid || evTicket["merged_from"] != vid {
			t.Errorf("stream merge event: got %v, want ticket %s of %s merged from %s", ev, ticket, aid, vid)
		}
		evs := s.Do(t, "GET", s.Path("/events?after="+strconv.FormatInt(num(ready["pos"]), 10)), s.SKTest, nil).Want(t, 200).Items(t)
		var types []string
		for _, e := range evs {
			types = append(types, str(e["type"]))
		}
		if !slices.Contains(types, "customer.merged") {
			t.Errorf("REST events: got types %v, want a customer.merged", types)
		}
	})
}

// bodies lists the bodies of message frames.
func bodies(frames []map[string]any) []string {
	var out []string
	for _, f := range frames {
		if m := msg(f); m != nil {
			out = append(out, str(m["body"]))
		}
	}
	return out
}

// TestVisitorMergeBothOpen: when the account already has an open chat, the
// visitor's conversation (the one being written in) stays open and the
// account's is closed, so the customer keeps one open chat; a login and an
// identify merge as a signup does.
func TestVisitorMergeBothOpen(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		atok, aid := customer(t, s, s.PKTest, "Ann")
		old := visitorSays(t, s, atok, "An old question")

		vtok, vid := visitor(t, s, s.PKTest, nil)
		fresh := visitorSays(t, s, vtok, "A new question")
		d := s.Do(t, "POST", wv1+"/login", s.PKTest, map[string]any{"email": "ann@example.com", "password": "correct horse battery"},
			protocol.VisitorHeader, vtok).Want(t, 200).Data(t)
		if m, _ := d["merged"].(map[string]any); m["visitor_id"] != vid {
			t.Fatalf("login's merged: got %v, want %s", d["merged"], vid)
		}
		status := func(id string) string {
			return str(s.Do(t, "GET", s.Path("/tickets/"+id), s.SKTest, nil).Want(t, 200).Data(t)["status"])
		}
		if got := status(fresh); got != "open" {
			t.Errorf("the visitor's conversation: got %s, want open", got)
		}
		if got := status(old); got != "closed" {
			t.Errorf("the account's older conversation: got %s, want closed", got)
		}
		// The account's next message goes to the merged conversation.
		if got := visitorSays(t, s, atok, "Me again"); got != fresh {
			t.Errorf("next message's ticket: got %s, want the merged %s", got, fresh)
		}
		if got := s.ticketsOf(t, aid); len(got) != 2 {
			t.Errorf("account's tickets: got %v, want 2", got)
		}

		// identify (a token) merges too.
		vtok2, vid2 := visitor(t, s, s.PKTest, nil)
		t2 := visitorSays(t, s, vtok2, "Before I logged in to the shop")
		tok := sign(t, s.Team.IdentitySecrets[scope.Test], identitytoken.Claims{Subject: "shop-7", Email: "zoe@example.com", Name: "Zoe"}, s.Clock.Now())
		d = s.Do(t, "POST", wv1+"/identify", s.PKTest, map[string]any{"token": tok}, protocol.VisitorHeader, vtok2).Want(t, 200).Data(t)
		cust, _ := d["customer"].(map[string]any)
		if m, _ := d["merged"].(map[string]any); m["visitor_id"] != vid2 {
			t.Fatalf("identify's merged: got %v, want %s", d["merged"], vid2)
		}
		if got := s.ticketsOf(t, str(cust["id"])); !slices.Equal(got, []string{t2}) {
			t.Errorf("identified customer's tickets: got %v, want [%s]", got, t2)
		}
	})
}

// TestVisitorMergeFailureKeepsTheSignup: a merge that fails (here a trigger
// refuses the visitor's row) does not fail the signup, which cannot be taken
// back (its retry would be a 409): the account answers 201 with its session,
// and the merge is tried again on its own until the conversation is the
// account's.
func TestVisitorMergeFailureKeepsTheSignup(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		vtok, vid := visitor(t, s, s.PKTest, nil)
		tk := visitorSays(t, s, vtok, "A question before signing up")

		db := s.App.DB().Bun()
		ctx := context.Background()
		name := "merge_fault_" + strings.ReplaceAll(vid, "-", "_")
		fault := []string{"CREATE TRIGGER " + name + " BEFORE UPDATE OF merged_into ON customers WHEN NEW.id = '" + vid +
			"' BEGIN SELECT RAISE(ABORT, 'merge fault'); END"}
		unfault := []string{"DROP TRIGGER " + name}
		if s.Dialect == "postgres" {
			fault = []string{"CREATE FUNCTION " + name + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'merge fault'; END $$",
				"CREATE TRIGGER " + name + " BEFORE UPDATE OF merged_into ON customers FOR EACH ROW WHEN (NEW.id = '" + vid +
					"') EXECUTE FUNCTION " + name + "()"}
			unfault = []string{"DROP TRIGGER " + name + " ON customers", "DROP FUNCTION " + name + "()"}
		}
		for _, q := range fault {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		d := s.Do(t, "POST", wv1+"/signup", s.PKTest, map[string]any{"email": "mia@example.com", "name": "Mia",
			"password": "correct horse battery"}, protocol.VisitorHeader, vtok).Want(t, 201).Data(t)
		if d["merged"] != nil {
			t.Fatalf("merged while the merge fails: %v", d["merged"])
		}
		cust, _ := d["customer"].(map[string]any)
		if got := s.ticketsOf(t, str(cust["id"])); len(got) != 0 {
			t.Fatalf("account's tickets while the merge fails: got %v, want none", got)
		}
		for _, q := range unfault {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for !slices.Equal(s.ticketsOf(t, str(cust["id"])), []string{tk}) {
			if time.Now().After(deadline) {
				t.Fatalf("the visitor's conversation never moved into the account: got %v, want [%s]", s.ticketsOf(t, str(cust["id"])), tk)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The visitor's token is spent once merged.
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, vtok).Want(t, 401)
	})
}

// TestVisitorMergeAttacks: nothing but the visitor's token merges. An
// attacker who signs up, logs in or identifies with the email the victim
// typed, or who names the victim's customer id (or the victim's account
// token, or a token of the other mode) where the token goes, gets none of
// the victim's conversations; neither does a visitor token sent in another
// header.
func TestVisitorMergeAttacks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		vtok, vid := visitor(t, s, s.PKTest, map[string]any{"email": "victim@example.com", "name": "Victim"})
		ticket := visitorSays(t, s, vtok, "My card ends in 4242")
		test := s.Team.IdentitySecrets[scope.Test]

		// Sign-ups and identifies that carry the victim's email.
		s.Do(t, "POST", wv1+"/signup", s.PKTest, map[string]any{"email": "victim@example.com", "name": "Mallory",
			"password": "correct horse battery"}).Want(t, 201)
		tok := sign(t, test, identitytoken.Claims{Subject: "mallory", Email: "victim@example.com", Name: "Victim"}, s.Clock.Now())
		identify(s, t, s.PKTest, map[string]any{"token": tok}).Want(t, 200)
		mac := identitytoken.UserHash([]byte(test), "mallory-2")
		identify(s, t, s.PKTest, map[string]any{"user_id": "mallory-2", "user_hash": mac, "email": "victim@example.com"}).Want(t, 200)

		// Where the token goes: the victim's id, the attacker's own
		// session, a token of the other mode, garbage.
		mtok, _ := customer(t, s, s.PKTest, "Mallory2")
		liveTok, _ := visitor(t, s, s.PKLive, nil)
		for name, h := range map[string]string{"customer id": vid, "an account's token": mtok, "live visitor token": liveTok,
			"garbage": "cs_" + strings.Repeat("A", 43)} {
			d := s.Do(t, "POST", wv1+"/login", s.PKTest, map[string]any{"email": "mallory2@example.com", "password": "correct horse battery"},
				protocol.VisitorHeader, h).Want(t, 200).Data(t)
			if d["merged"] != nil {
				t.Errorf("%s as the visitor header: got merged %v, want none", name, d["merged"])
			}
		}
		// The token in the session header of a sign-in is no proof either.
		d := s.Do(t, "POST", wv1+"/login", s.PKTest, map[string]any{"email": "mallory2@example.com", "password": "correct horse battery"},
			protocol.SessionHeader, vtok).Want(t, 200).Data(t)
		if d["merged"] != nil {
			t.Errorf("visitor token in the session header: got merged %v, want none", d["merged"])
		}

		// The victim keeps everything.
		if got := s.ticketsOf(t, vid); !slices.Equal(got, []string{ticket}) {
			t.Errorf("victim's tickets: got %v, want [%s]", got, ticket)
		}
		if c := s.customerOf(t, vid); c["merged_into"] != nil {
			t.Errorf("victim merged into %v, want nothing", c["merged_into"])
		}
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, vtok).Want(t, 200)
		// A signed-in customer cannot set a visitor's claims.
		s.Do(t, "PATCH", wv1+"/visitor", s.PKTest, map[string]any{"email": "x@example.com"}, protocol.SessionHeader, mtok).
			WantError(t, 403, "Only an anonymous visitor can set this")
	})
}

// TestVisitorValidationAndBudget: a visitor's typed email must look like
// one; creation has its own budget per key and client IP.
func TestVisitorValidationAndBudget(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL, apptest.Config(func(c *config.Config) { c.WidgetVisitorLimit = 3 }))
		s.Do(t, "POST", wv1+"/visitor", s.PKTest, map[string]any{"email": "nope"}).WantField(t, "email")
		s.Do(t, "POST", wv1+"/visitor", s.PKTest, map[string]any{"name": "a\u202eb"}).WantField(t, "name")
		s.Do(t, "POST", wv1+"/visitor", s.SKTest, nil).Want(t, 403)
		// The two refusals above spent two of the three.
		visitor(t, s, s.PKTest, nil)
		s.Do(t, "POST", wv1+"/visitor", s.PKTest, nil).Want429(t)
		// Other widget calls keep their own budget.
		customer(t, s, s.PKTest, "Ann")
	})
}

// TestWidgetSettings: a secret key sets its mode's widget header (and only
// its mode's); the widget API reads it with the team's id and slug, which
// the public Library API takes.
func TestWidgetSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		for name, tc := range map[string]struct {
			widget map[string]any
			field  string
		}{
			"availability": {map[string]any{"availability": "busy"}, "availability"},
			"reply time":   {map[string]any{"reply_time": "soon"}, "reply_time"},
			"avatar http":  {map[string]any{"avatar_url": "http://cdn.example.com/{name}.png"}, "avatar_url"},
			"avatar name":  {map[string]any{"avatar_url": "https://cdn.example.com/a.png"}, "avatar_url"},
		} {
			t.Run(name, func(t *testing.T) {
				s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"widget": tc.widget}).WantField(t, tc.field)
			})
		}
		w := map[string]any{"availability": "away", "reply_time": "hours", "avatar_url": "https://cdn.example.com/{name}.png"}
		d := s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"widget": w}).Want(t, 200).Data(t)
		if got, _ := d["widget"].(map[string]any); got["availability"] != "away" || got["reply_time"] != "hours" {
			t.Errorf("PATCH team widget: got %v, want away, hours", d["widget"])
		}
		got := s.Do(t, "GET", wv1+"/settings", s.PKTest, nil).Want(t, 200).Data(t)
		tm, _ := got["team"].(map[string]any)
		if got["availability"] != "away" || got["reply_time"] != "hours" || got["avatar_url"] != w["avatar_url"] ||
			tm["id"] != s.Team.ID || tm["slug"] != s.Team.Slug {
			t.Errorf("widget settings: got %v, want away, hours, the avatar URL and the team", got)
		}
		// Live's are untouched, and a publishable key reads no team widget.
		if live := s.Do(t, "GET", wv1+"/settings", s.PKLive, nil).Want(t, 200).Data(t); live["availability"] != "" {
			t.Errorf("live widget settings: got %v, want unset", live)
		}
		if pub := s.Do(t, "GET", s.Path(""), s.PKTest, nil).Want(t, 200).Data(t); pub["widget"] != nil {
			t.Errorf("team read with a publishable key: got widget %v, want none", pub["widget"])
		}
	})
}

// TestArticleViews: the ids a send names are noted on the conversation
// when they are published articles of the team and mode; agents list them.
func TestArticleViews(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		article := func(key, title, status string) string {
			return s.create(t, key, "/articles", map[string]any{"title": title, "body": "Body of " + title, "status": status})
		}
		reset := article(s.SKTest, "Reset your password", "published")
		ship := article(s.SKTest, "Shipping times", "published")
		draft := article(s.SKTest, "Unreleased", "draft")
		live := article(s.SKLive, "Live only", "published")

		vtok, _ := visitor(t, s, s.PKTest, nil)
		w, _, _ := s.WidgetReady(t, s.PKTest, vtok, nil)
		w.Send(map[string]any{"type": "send", "client_id": "a-1", "body": "Still stuck",
			"articles": []string{reset, draft, live, "not-an-id", ship, reset}})
		ticket := str(msg(w.WaitFor(protocol.FrameAck))["ticket_id"])
		views := s.Do(t, "GET", s.Path("/tickets/"+ticket+"/article-views"), s.SKTest, nil).Want(t, 200).Items(t)
		var titles []string
		for _, v := range views {
			titles = append(titles, str(v["title"]))
			if str(v["viewed_at"]) == "" || str(v["slug"]) == "" {
				t.Errorf("article view %v: want slug and viewed_at", v)
			}
		}
		slices.Sort(titles)
		if !slices.Equal(titles, []string{"Reset your password", "Shipping times"}) {
			t.Errorf("article views: got %q, want the two published test-mode articles", titles)
		}
		s.Do(t, "GET", s.Path("/tickets/"+ticket+"/article-views"), s.SKLive, nil).WantError(t, 404, "Ticket not found")
		s.Do(t, "GET", s.Path("/tickets/"+ticket+"/article-views"), s.PKTest, nil).Want(t, 403)
	})
}
