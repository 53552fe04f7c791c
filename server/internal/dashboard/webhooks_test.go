package dashboard_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/webhooksig"
)

var (
	shownSecret = regexp.MustCompile(`id="new-secret"[^>]*value="(whsec_[^"]+)"`)
	endpointIDs = regexp.MustCompile(`id="webhook-([0-9a-f-]+)"`)
	deliveryIDs = regexp.MustCompile(`id="delivery-([0-9a-f-]+)"`)
)

// TestWebhooksPage: an owner adds an endpoint in Settings → Webhooks (its
// secret shown once), whose deliveries are signed with that secret; sends a
// ping, redelivers, rolls the secret (the new one shown once), pauses and
// deletes it, each in the audit log; a bad URL is refused in words; the
// test view has endpoints of its own; an agent gets 403.
func TestWebhooksPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		rcv := apptest.NewReceiver(t)
		wantStatus(t, "an agent", e.as(t, "mo@acme.example").Get(t, "/app/settings/webhooks"), http.StatusForbidden)

		b := e.as(t, "olive@acme.example")
		b.Get(t, "/app/settings/webhooks")
		r := b.Post(t, "/app/settings/webhooks", form("url", "ftp://shop.example.com/hooks", "events", "*"))
		wantRedirect(t, "a bad URL", r, "/app/settings/webhooks")
		if p := b.Get(t, "/app/settings/webhooks"); !has(p, "url must be an https URL") || endpointIDs.Match(p.Raw) {
			t.Fatalf("a bad URL: want it refused in words and nothing added (%.300s)", p.Raw)
		}

		r = b.Post(t, "/app/settings/webhooks", form("url", rcv.URL, "description", "Orders", "events", "message.created",
			"events", "ticket.created"))
		wantStatus(t, "add", r, http.StatusCreated)
		m := shownSecret.FindSubmatch(r.Raw)
		ids := endpointIDs.FindSubmatch(r.Raw)
		if m == nil || ids == nil {
			t.Fatalf("add: want the secret shown once and the endpoint listed (%.500s)", r.Raw)
		}
		secret, id := string(m[1]), string(ids[1])
		if p := b.Get(t, "/app/settings/webhooks"); has(p, secret) || !has(p, "Orders") {
			t.Error("the list shows the secret again, or not the endpoint")
		}
		if has(b.Get(t, "/app/test/settings/webhooks"), id) {
			t.Error("the test view lists a live endpoint")
		}

		e.chat(t, e.PKLive, "Gus", "Where is my order?")
		hs := rcv.Wait(t, 0, "message.created", func(hs []apptest.Hook) bool { return hasHook(hs, "message.created") })
		for _, h := range hs {
			if err := webhooksig.Verify(h.Header.Get("Cstar-Signature"), h.Body, secret, 0, time.Now()); err != nil {
				t.Errorf("%s: signature: %v", h.Type(), err)
			}
		}

		self := "/app/settings/webhooks/" + id
		b.Get(t, self)
		wantRedirect(t, "ping", b.Post(t, self+"/test", nil), self)
		rcv.Wait(t, 0, "a ping", func(hs []apptest.Hook) bool { return hasHook(hs, "ping") })
		page := b.Get(t, self)
		if !has(page, "ping") || !has(page, "message.created") || !has(page, "succeeded") {
			t.Errorf("the endpoint's page: want its deliveries (%.300s)", page.Raw)
		}
		d := deliveryIDs.FindAllSubmatch(page.Raw, -1)
		if len(d) == 0 {
			t.Fatal("no delivery rows")
		}
		n := len(rcv.Hooks())
		wantRedirect(t, "redeliver", b.Post(t, self+"/deliveries/"+string(d[len(d)-1][1])+"/redeliver", nil), self)
		rcv.Wait(t, 0, "the redelivery", func(hs []apptest.Hook) bool { return len(hs) > n })

		r = b.Post(t, self+"/roll", form("grace", "0"))
		wantStatus(t, "roll", r, http.StatusCreated)
		m = shownSecret.FindSubmatch(r.Raw)
		if m == nil || string(m[1]) == secret {
			t.Fatal("roll: want a new secret shown once")
		}
		next := string(m[1])
		n = len(rcv.Hooks())
		b.Post(t, self+"/test", nil)
		h := rcv.Wait(t, 0, "a ping after the roll", func(hs []apptest.Hook) bool { return len(hs) > n })[n]
		if err := webhooksig.Verify(h.Header.Get("Cstar-Signature"), h.Body, next, 0, time.Now()); err != nil {
			t.Errorf("after the roll: %v", err)
		}
		if err := webhooksig.Verify(h.Header.Get("Cstar-Signature"), h.Body, secret, 0, time.Now()); err == nil {
			t.Error("after a roll with no grace the old secret still signs")
		}

		// The box unticked on a page that showed it enabled: paused.
		wantRedirect(t, "pause", b.Post(t, self, form("url", rcv.URL, "description", "Orders", "events", "*",
			"was_enabled", "1")), self)
		if p := b.Get(t, self); !has(p, "paused") || !has(p, `value="*" checked`) {
			t.Error("after the save: want the endpoint paused, on every event")
		}
		// A page opened while it was enabled, saved now: the description
		// changes, the pause stays.
		wantRedirect(t, "a stale page", b.Post(t, self, form("url", rcv.URL, "description", "Order system", "events", "*",
			"was_enabled", "1", "enabled", "1")), self)
		if p := b.Get(t, self); !has(p, "paused") || !has(p, "Order system") {
			t.Error("a stale page's save: want the new description and the endpoint still paused")
		}
		wantRedirect(t, "delete", b.Post(t, self+"/delete", nil), "/app/settings/webhooks")
		if p := b.Get(t, "/app/settings/webhooks"); has(p, id) {
			t.Error("the deleted endpoint is still listed")
		}
		wantStatus(t, "the deleted endpoint's page", b.Get(t, self), http.StatusNotFound)

		audit := html.UnescapeString(string(b.Get(t, "/app/settings/audit").Raw))
		for _, a := range []string{"webhook.created", "webhook.secret_rolled", "webhook.updated", "webhook.deleted"} {
			if !strings.Contains(audit, a) {
				t.Errorf("audit log: no %s", a)
			}
		}
	})
}

func hasHook(hs []apptest.Hook, typ string) bool {
	for _, h := range hs {
		if h.Type() == typ {
			return true
		}
	}
	return false
}
