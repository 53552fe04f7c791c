package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

var newKey = regexp.MustCompile(`id="new-key" class="secret" readonly value="([^"]+)"`)

// TestKeys: a key made in the dashboard is shown in the answer to the form
// and never again; it works; revoking it closes the widget sockets opened
// with it (the apikey service's end listener) and refuses it at once;
// a roll's old key works for the grace chosen.
func TestKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "ada@acme.example")
		b.Get(t, "/app/test/settings/keys")
		r := b.Post(t, "/app/test/settings/keys", form("type", "publishable"))
		wantStatus(t, "create", r, http.StatusCreated)
		m := newKey.FindSubmatch(r.Raw)
		if m == nil || !strings.HasPrefix(string(m[1]), "pk_test_") {
			t.Fatalf("the answer does not show a pk_test_ key: %.500s", r.Raw)
		}
		pk := string(m[1])
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control of the page with the key: %q, want no-store", cc)
		}
		for _, p := range []string{"/app/test/settings/keys", "/app/settings/keys", "/app/test/settings/audit"} {
			if has(b.Get(t, p), pk) {
				t.Fatalf("%s shows the key again", p)
			}
		}
		e.Do(t, "GET", e.Path(""), pk, nil).Want(t, http.StatusOK)

		// A widget on that key, then the key revoked from the dashboard.
		w, _ := e.chat(t, pk, "Grace", "hello")
		var keyID string
		for _, k := range e.Do(t, "GET", e.Path("/api-keys"), e.SKTest, nil).Items(t) {
			if k["redacted"] == pk[:12]+"…"+pk[len(pk)-4:] {
				keyID = apptest.Str(k["id"])
			}
		}
		if keyID == "" {
			t.Fatal("the new key is not in the API's list")
		}
		wantRedirect(t, "revoke", b.Post(t, "/app/test/settings/keys/"+keyID+"/revoke", nil), "/app/test/settings/keys")
		w.WantClose(protocol.CloseInvalidKey)
		e.Do(t, "GET", e.Path(""), pk, nil).Want(t, http.StatusUnauthorized)
		// The last secret key of a mode cannot go.
		var sk string
		for _, k := range e.Do(t, "GET", e.Path("/api-keys"), e.SKLive, nil).Items(t) {
			if k["type"] == "secret" {
				sk = apptest.Str(k["id"])
			}
		}
		b.Get(t, "/app/settings/keys")
		r = b.Post(t, "/app/settings/keys/"+sk+"/revoke", nil)
		wantRedirect(t, "revoke the last secret key", r, "/app/settings/keys")
		if f := b.Get(t, "/app/settings/keys"); !has(f, "last active secret key") {
			t.Errorf("the refusal is not shown: %.300s", f.Raw)
		}
		// Roll with a grace of an hour: both work, the old one until then.
		r = b.Post(t, "/app/settings/keys/"+sk+"/roll", form("grace", "3600"))
		wantStatus(t, "roll", r, http.StatusCreated)
		next := string(newKey.FindSubmatch(r.Raw)[1])
		e.Do(t, "GET", e.Path(""), next, nil).Want(t, http.StatusOK)
		e.Do(t, "GET", e.Path(""), e.SKLive, nil).Want(t, http.StatusOK)
		e.Clock.Advance(time.Hour + time.Second)
		time.Sleep(time.Second) // the key cache
		e.Do(t, "GET", e.Path(""), e.SKLive, nil).Want(t, http.StatusUnauthorized)
	})
}

// TestUsageChart: a key's page draws its requests of the last 7 days as
// bars, with refusals apart, and the daily totals.
func TestUsageChart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		for range 3 {
			e.Do(t, "GET", e.Path(""), e.PKTest, nil).Want(t, http.StatusOK)
		}
		e.Do(t, "POST", e.Path("/customers"), e.PKTest, map[string]any{}).Want(t, http.StatusForbidden)
		var id string
		for _, k := range e.Do(t, "GET", e.Path("/api-keys"), e.SKTest, nil).Items(t) {
			if k["type"] == "publishable" {
				id = apptest.Str(k["id"])
			}
		}
		b := e.as(t, "olive@acme.example")
		r := b.Get(t, "/app/test/settings/keys/"+id+"/usage")
		wantStatus(t, "usage", r, http.StatusOK)
		if !has(r, `<strong id="total-requests">4</strong>`) || !has(r, "<strong>1</strong> refused") || !has(r, "<svg class=\"chart\"") {
			t.Fatalf("usage page: want 4 requests and 1 refused in an SVG chart: %.2000s", r.Raw)
		}
		if n := strings.Count(string(r.Raw), "<rect "); n != 2 {
			t.Errorf("bars: got %d, want 2 (the hour's requests and its refusal)", n)
		}
		// A test key's usage is not found from live.
		wantStatus(t, "the test key from live", b.Get(t, "/app/settings/keys/"+id+"/usage"), http.StatusNotFound)
	})
}

// TestAudit: every action of the issue leaves an entry (who, what, when,
// from which address), shown in the dashboard and read with a secret key
// at GET …/audit-log (paged like the other lists); a mode's entries stay
// in that mode, the team's are in both.
func TestAudit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "olive@acme.example")
		b.Get(t, "/app/settings/keys")
		r := b.Post(t, "/app/settings/keys", form("type", "secret"))
		wantStatus(t, "create", r, http.StatusCreated)
		var sk, pk string
		for _, k := range e.Do(t, "GET", e.Path("/api-keys"), e.SKLive, nil).Items(t) {
			if k["type"] == "publishable" {
				pk = apptest.Str(k["id"])
			} else {
				sk = apptest.Str(k["id"]) // the newest: the dashboard's
			}
		}
		steps := []struct{ path, action string }{
			{"/app/settings/keys/" + sk + "/roll", "api_key.rolled"},
			{"/app/settings/keys/" + pk + "/revoke", "api_key.revoked"},
			{"/app/settings/origins", "allowed_origins.changed"},
			{"/app/settings/identity/roll", "identity_secret.rolled"},
			{"/app/settings/identity/user-hash", "user_hash.changed"},
			{"/app/settings/widget", "widget.changed"},
			{"/app/settings/team", "team.renamed"},
			{"/app/settings/team/invitations", "agent.invited"},
			{"/app/settings/team/agents/" + e.member.ID + "/role", "agent.role_changed"},
			{"/app/settings/team/agents/" + e.member.ID + "/remove", "agent.removed"},
		}
		values := form("origins", "https://shop.example.com", "enabled", "0", "title", "Help", "color", "#112233",
			"name", "Acme Corp", "email", "new@acme.example", "role", "admin", "grace", "0")
		for _, s := range steps {
			b.Get(t, "/app/settings/team")
			if r := b.Post(t, s.path, values); r.Status >= 400 {
				t.Fatalf("%s: %d %.300s", s.path, r.Status, r.Raw)
			}
		}
		page := b.Get(t, "/app/settings/audit")
		for _, s := range append([]struct{ path, action string }{{"", "api_key.created"}}, steps...) {
			if !has(page, "<code>"+s.action+"</code>") {
				t.Errorf("the audit page has no %s", s.action)
			}
		}
		if !has(page, "Olive &lt;olive@acme.example&gt;") || !has(page, "127.0.0.1") {
			t.Errorf("the audit page shows no actor and address: %.1000s", page.Raw)
		}

		// The API, with a live secret key, a page at a time.
		var got []map[string]any
		cursor := ""
		for {
			p := e.Path("/audit-log?limit=4")
			if cursor != "" {
				p += "&cursor=" + cursor
			}
			r := e.Do(t, "GET", p, e.SKLive, nil).Want(t, http.StatusOK)
			got = append(got, r.Items(t)...)
			pg, _ := r.Body["pagination"].(map[string]any)
			if pg["has_more"] != true {
				break
			}
			cursor = apptest.Str(pg["next_cursor"])
		}
		if len(got) != 11 {
			t.Fatalf("audit log through the API: %d entries, want 11", len(got))
		}
		first := got[len(got)-1]
		actor, _ := first["actor"].(map[string]any)
		if first["action"] != "api_key.created" || first["mode"] != "live" || actor["type"] != "agent" ||
			actor["id"] != e.owner.ID || first["ip"] != "127.0.0.1" || first["created_at"] == nil {
			t.Errorf("the oldest entry: got %v, want the owner's key creation in live from 127.0.0.1", first)
		}
		if got[0]["action"] != "agent.removed" || got[0]["mode"] != nil {
			t.Errorf("the newest entry: got %v, want the removal, of the whole team (mode null)", got[0])
		}
		e.Do(t, "GET", e.Path("/audit-log"), e.PKTest, nil).Want(t, http.StatusForbidden)
		// Test mode sees the team's entries, not live's key entries.
		test := e.Do(t, "GET", e.Path("/audit-log?limit=100"), e.SKTest, nil).Want(t, http.StatusOK).Items(t)
		for _, it := range test {
			if it["mode"] == "live" {
				t.Errorf("test mode's log shows a live entry: %v", it)
			}
		}
		if len(test) != 4 {
			t.Errorf("test mode's log: %d entries, want the team's 4", len(test))
		}

		// The rest of the team's actions: an invitation withdrawn, one
		// accepted, the two-factor rule.
		b.Get(t, "/app/settings/team")
		gone := b.Post(t, "/app/settings/team/invitations", form("email", "gone@acme.example", "role", "agent"))
		wantStatus(t, "invite", gone, http.StatusCreated)
		invs, _ := e.App.Agents().Invitations(t.Context(), e.Team.ID)
		for _, inv := range invs {
			if inv.Email == "gone@acme.example" {
				b.Post(t, "/app/settings/team/invitations/"+inv.ID+"/withdraw", nil)
			}
		}
		r = b.Post(t, "/app/settings/team/invitations", form("email", "ivy@acme.example", "role", "agent"))
		tok := between(string(r.Raw), "/app/invite#token=", `"`)
		ivy := e.Browser(t)
		ivy.Get(t, "/app/invite")
		wantRedirect(t, "accept", ivy.Post(t, "/app/invite", form("token", tok, "name", "Ivy", "password", apptest.AgentPassword)), "/app/inbox")
		b.Get(t, "/app/settings/team")
		b.Post(t, "/app/settings/team", form("name", "Acme Corp", "require_totp", "1"))
		page = b.Get(t, "/app/settings/audit")
		for _, a := range []string{"invitation.withdrawn", "invitation.accepted", "team.two_factor_changed"} {
			if !has(page, "<code>"+a+"</code>") {
				t.Errorf("the audit page has no %s", a)
			}
		}
		if !has(page, "Ivy &lt;ivy@acme.example&gt;") {
			t.Error("the acceptance is not by the new agent")
		}
	})
}

// TestInvitations: an invitation link works once and for 7 days; the
// invited agent signs in with the role given.
func TestInvitations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "ada@acme.example")
		invite := func(email string) string {
			b.Get(t, "/app/settings/team")
			r := b.Post(t, "/app/settings/team/invitations", form("email", email, "role", "agent"))
			wantStatus(t, "invite", r, http.StatusCreated)
			link := between(string(r.Raw), `id="invite-link" class="secret" readonly value="`, `"`)
			// The token is in the fragment: no server's log sees it.
			if !strings.HasPrefix(link, e.URL+"/app/invite#token=cinv_") {
				t.Fatalf("the invitation link: %q", link)
			}
			if has(b.Get(t, "/app/settings/team"), link) {
				t.Fatal("the team page shows the link again")
			}
			return strings.TrimPrefix(link, e.URL)
		}
		// The page takes the token from the fragment (its script) and
		// posts it to /app/invite/open, which shows the invitation.
		open := func(b *apptest.Browser, tok string) *apptest.Resp {
			wantStatus(t, "the invitation page", b.Get(t, "/app/invite"), http.StatusOK)
			return b.Post(t, "/app/invite/open", form("token", tok))
		}
		tok := strings.TrimPrefix(invite("ivy@acme.example"), "/app/invite#token=")
		ivy := e.Browser(t)
		if r := open(ivy, tok); r.Status != http.StatusOK || !has(r, "ivy@acme.example") {
			t.Fatalf("the invitation: got %d, want 200 with its email", r.Status)
		}
		wantRedirect(t, "accept", ivy.Post(t, "/app/invite", form("token", tok, "name", "Ivy", "password", apptest.AgentPassword)), "/app/inbox")
		wantStatus(t, "Ivy's inbox", ivy.Get(t, "/app/inbox"), http.StatusOK)
		wantStatus(t, "Ivy's settings", ivy.Get(t, "/app/settings/keys"), http.StatusForbidden)
		again := e.Browser(t)
		wantStatus(t, "the used link", open(again, tok), http.StatusNotFound)
		wantStatus(t, "accepting it again", again.Post(t, "/app/invite", form("token", tok, "name", "Eve", "password", apptest.AgentPassword)), http.StatusNotFound)

		late := strings.TrimPrefix(invite("late@acme.example"), "/app/invite#token=")
		e.Clock.Advance(7*24*time.Hour + time.Minute)
		b = e.as(t, "ada@acme.example")
		wantStatus(t, "an expired link", open(e.Browser(t), late), http.StatusNotFound)
	})
}

// TestTestLiveSeparation: test data shows only in the test view, live data
// only in the live view, in every view: the inbox, a conversation, its row,
// the keys, a key's usage, the origins, the widget, the library, the log.
func TestTestLiveSeparation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		_, testTicket := e.chat(t, e.PKTest, "Tess", "a test question")
		_, liveTicket := e.chat(t, e.PKLive, "Liv", "a live question")
		b := e.as(t, "olive@acme.example")
		b.Get(t, "/app/test/settings/origins")
		b.Post(t, "/app/test/settings/origins", form("origins", "https://test.example.com"))
		b.Post(t, "/app/test/settings/widget", form("title", "Test title"))
		b.Post(t, "/app/test/settings/library/categories", form("name", "Test only category"))

		live, test := b.Get(t, "/app/inbox"), b.Get(t, "/app/test/inbox")
		if !has(live, "Liv") || has(live, "Tess") || !has(test, "Tess") || has(test, "Liv") {
			t.Error("inbox: want Liv in live only, Tess in test only")
		}
		if !has(test, "test-banner") || has(live, "test-banner") {
			t.Error("the test view is not marked as test, or the live one is")
		}
		wantStatus(t, "a test conversation in live", b.Get(t, "/app/conversations/"+testTicket), http.StatusNotFound)
		wantStatus(t, "a live conversation in test", b.Get(t, "/app/test/conversations/"+liveTicket), http.StatusNotFound)
		wantStatus(t, "a test conversation's row in live", b.Get(t, "/app/inbox/rows/"+testTicket), http.StatusNoContent)
		wantStatus(t, "the test conversation", b.Get(t, "/app/test/conversations/"+testTicket), http.StatusOK)
		lk, tk := b.Get(t, "/app/settings/keys"), b.Get(t, "/app/test/settings/keys")
		if has(lk, "_test_") || has(tk, "_live_") {
			t.Error("keys: a mode's page shows the other mode's keys")
		}
		if has(b.Get(t, "/app/settings/origins"), "test.example.com") || !has(b.Get(t, "/app/test/settings/origins"), "test.example.com") {
			t.Error("origins: test's list shows in live, or not in test")
		}
		if has(b.Get(t, "/app/settings/widget"), "Test title") || !has(b.Get(t, "/app/test/settings/widget"), "Test title") {
			t.Error("widget: test's title shows in live, or not in test")
		}
		if has(b.Get(t, "/app/settings/library"), "Test only category") || !has(b.Get(t, "/app/test/settings/library"), "Test only category") {
			t.Error("library: test's category shows in live, or not in test")
		}
		if has(b.Get(t, "/app/settings/audit"), "allowed_origins.changed") || !has(b.Get(t, "/app/test/settings/audit"), "allowed_origins.changed") {
			t.Error("audit: test's change shows in live, or not in test")
		}
		// The team's name and two-factor rule are live's: a crafted post in
		// the test view (its form is disabled) changes neither.
		b.Get(t, "/app/test/settings/team")
		for _, c := range []struct {
			form url.Values
			says string
		}{
			{form("name", "Renamed in test"), "shared by both modes"},
			{form("name", e.Team.Name, "require_totp", "1"), "change it in live mode"},
		} {
			wantRedirect(t, "a test-view team post", b.Post(t, "/app/test/settings/team", c.form), "/app/test/settings/team")
			if p := b.Get(t, "/app/test/settings/team"); !has(p, c.says) {
				t.Errorf("a test-view team post %v: want the refusal %q", c.form, c.says)
			}
		}
		if tm, err := e.App.Teams().Resolve(context.Background(), e.Team.ID); err != nil || tm.RequireTOTP || tm.Name != e.Team.Name {
			t.Errorf("a test-view post changed the team: %+v (%v)", tm, err)
		}
		// The live socket of one mode hears nothing of the other's.
		lw, _, _ := b.Live(t, "/app/live")
		tw, _ := e.chat(t, e.PKTest, "Tom", "another test question")
		_ = tw
		e.chat(t, e.PKLive, "Lou", "another live question")
		f := lw.WaitFor("message.created")
		m, _ := f["message"].(map[string]any)
		if m["body"] != "another live question" {
			t.Errorf("the live view's socket: got %v, want the live message only", m["body"])
		}
	})
}

// TestLibrary: a category and a Markdown article made in the dashboard, a
// draft until published (the public Library API shows it then), its slug
// made from the title, and the preview rendered by the server.
func TestLibrary(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "ada@acme.example")
		b.Get(t, "/app/settings/library")
		wantRedirect(t, "category", b.Post(t, "/app/settings/library/categories", form("name", "Getting started")), "/app/settings/library")
		cats := e.Do(t, "GET", e.Path("/categories"), e.SKLive, nil).Items(t)
		if len(cats) != 1 || cats[0]["slug"] != "getting-started" {
			t.Fatalf("categories: %v", cats)
		}
		r := b.Post(t, "/app/settings/library/articles", form("title", "Reset your password", "slug", "", "status", "draft",
			"category_id", apptest.Str(cats[0]["id"]), "body", "Open **Settings**."))
		wantRedirect(t, "article", r, "/app/settings/library/articles/")
		id := strings.TrimPrefix(r.Header.Get("Location"), "/app/settings/library/articles/")
		e.Do(t, "GET", "/api/library/"+e.Team.Slug+"/articles/reset-your-password", "", nil).Want(t, http.StatusNotFound)
		wantRedirect(t, "publish", b.Post(t, "/app/settings/library/articles/"+id, form("title", "Reset your password", "status", "published",
			"body", "Open **Settings**.")), "/app/settings/library/articles/"+id)
		a := e.Do(t, "GET", "/api/library/"+e.Team.Slug+"/articles/reset-your-password", "", nil).Want(t, http.StatusOK).Data(t)
		if a["status"] != "published" || a["body"] != "Open **Settings**." || a["category_id"] != cats[0]["id"] {
			t.Fatalf("the published article: %v", a)
		}
		p := b.Post(t, "/app/settings/library/preview", form("body", "# Hi\n<script>x</script> **b**"))
		if !has(p, "<h1>Hi</h1>") || has(p, "<script>") || !has(p, "<strong>b</strong>") {
			t.Fatalf("preview: %s", p.Raw)
		}
		if page := b.Get(t, "/app/settings/library"); !has(page, "Reset your password") || !has(page, "published") {
			t.Error("the library page does not list the article as published")
		}
		wantRedirect(t, "delete", b.Post(t, "/app/settings/library/articles/"+id+"/delete", nil), "/app/settings/library")
		e.Do(t, "GET", "/api/library/"+e.Team.Slug+"/articles/reset-your-password", "", nil).Want(t, http.StatusNotFound)
	})
}

// TestWidgetSettingsForm: the widget form sets the reply time and the
// agents' avatar URL too, which the widget then reads; a bad avatar URL is
// refused in words and changes nothing.
func TestWidgetSettingsForm(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "olive@acme.example")
		b.Get(t, "/app/test/settings/widget")
		avatar := "https://cdn.example.com/avatars/{name}.png"
		wantRedirect(t, "save", b.Post(t, "/app/test/settings/widget", form("title", "Ask us", "availability", "away",
			"reply_time", "hours", "avatar_url", avatar)), "/app/test/settings/widget")
		settings := func() map[string]any {
			return e.Do(t, "GET", "/api/widget/v1/settings", e.PKTest, nil).Want(t, http.StatusOK).Data(t)
		}
		if s := settings(); s["reply_time"] != "hours" || s["avatar_url"] != avatar || s["availability"] != "away" {
			t.Errorf("the widget's settings: got %v", s)
		}
		if p := b.Get(t, "/app/test/settings/widget"); !has(p, `value="hours" selected`) || !has(p, "Away · Replies within hours") {
			t.Error("the form or its preview does not show the reply time saved, as the widget's header says it")
		}
		wantRedirect(t, "a bad avatar URL", b.Post(t, "/app/test/settings/widget", form("title", "Ask us", "availability", "away",
			"reply_time", "minutes", "avatar_url", "http://cdn.example.com/a.png")), "/app/test/settings/widget")
		if p := b.Get(t, "/app/test/settings/widget"); !has(p, "avatar_url must be an https URL") {
			t.Error("a bad avatar URL: no refusal in words")
		}
		if s := settings(); s["reply_time"] != "hours" || s["avatar_url"] != avatar {
			t.Errorf("after a refused save: got %v, want the settings unchanged", s)
		}
	})
}
