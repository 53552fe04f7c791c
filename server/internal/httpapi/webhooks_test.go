package httpapi_test

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
	"github.com/cstar-chat/cstar/server/webhooksig"
)

// hook creates an endpoint for events with key and returns its id and
// secret.
func (s *testServer) hook(t testing.TB, key, url string, events ...string) (id, secret string) {
	t.Helper()
	d := s.Do(t, "POST", s.Path("/webhooks"), key, map[string]any{"url": url, "events": events}).Want(t, 201).Data(t)
	return str(d["id"]), str(d["secret"])
}

// verified fails unless h carries a valid signature by secret and an event
// id header equal to its body's.
func verified(t testing.TB, h apptest.Hook, secret string) {
	t.Helper()
	if err := webhooksig.Verify(h.Header.Get("Cstar-Signature"), h.Body, secret, 0, time.Now()); err != nil {
		t.Errorf("signature %q: %v", h.Header.Get("Cstar-Signature"), err)
	}
	if got := h.Header.Get("Cstar-Event-Id"); got == "" || got != h.ID() {
		t.Errorf("Cstar-Event-Id: got %q, want the body's id %q", got, h.ID())
	}
}

var evtID = regexp.MustCompile(`^evt_[0-9a-f]{32}$`)

// TestWebhookEndpoints: endpoints are managed with secret keys, per mode;
// the secret is shown when created only; bad URLs and event types are 400s
// that name the field.
func TestWebhookEndpoints(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		r := s.Do(t, "POST", s.Path("/webhooks"), s.SKTest, map[string]any{"url": "https://example.com/hooks",
			"events": []string{"message.created", "ticket.created", "message.created"}, "description": "Orders"}).Want(t, 201)
		d := r.Data(t)
		id := str(d["id"])
		if !strings.HasPrefix(str(d["secret"]), "whsec_") || len(str(d["secret"])) < 40 {
			t.Errorf("secret: got %q, want whsec_…", d["secret"])
		}
		if !reflect.DeepEqual(d["events"], []any{"message.created", "ticket.created"}) || d["enabled"] != true ||
			d["mode"] != "test" || d["url"] != "https://example.com/hooks" || d["description"] != "Orders" {
			t.Errorf("created: got %v", d)
		}
		got := s.Do(t, "GET", s.Path("/webhooks/"+id), s.SKTest, nil).Want(t, 200).Data(t)
		if _, ok := got["secret"]; ok {
			t.Errorf("GET shows the secret: %v", got)
		}
		if ids := s.Do(t, "GET", s.Path("/webhooks"), s.SKTest, nil).Want(t, 200).IDs(t); !reflect.DeepEqual(ids, []string{id}) {
			t.Errorf("list: got %v, want [%s]", ids, id)
		}
		// Live and test are apart; publishable keys see nothing.
		s.Do(t, "GET", s.Path("/webhooks/"+id), s.SKLive, nil).WantError(t, 404, "Webhook endpoint not found")
		if n := len(s.Do(t, "GET", s.Path("/webhooks"), s.SKLive, nil).Want(t, 200).Items(t)); n != 0 {
			t.Errorf("live list: got %d, want 0", n)
		}
		s.Do(t, "GET", s.Path("/webhooks"), s.PKTest, nil).WantError(t, 403, "Publishable keys cannot access this resource")

		up := s.Do(t, "PATCH", s.Path("/webhooks/"+strings.ToUpper(id)), s.SKTest,
			map[string]any{"events": []string{"*", "ticket.updated"}, "enabled": false}).Want(t, 200).Data(t)
		if !reflect.DeepEqual(up["events"], []any{"*"}) || up["enabled"] != false || up["url"] != "https://example.com/hooks" {
			t.Errorf("patched: got %v", up)
		}

		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no url", map[string]any{"events": []string{"*"}}, "url"},
			{"no events", map[string]any{"url": "https://example.com"}, "events"},
			{"empty events", map[string]any{"url": "https://example.com", "events": []string{}}, "events"},
			{"unknown event", map[string]any{"url": "https://example.com", "events": []string{"order.paid"}}, "events"},
			{"ftp", map[string]any{"url": "ftp://example.com/x", "events": []string{"*"}}, "url"},
			{"relative", map[string]any{"url": "/hooks", "events": []string{"*"}}, "url"},
			{"user info", map[string]any{"url": "https://u:p@example.com/", "events": []string{"*"}}, "url"},
			{"fragment", map[string]any{"url": "https://example.com/#x", "events": []string{"*"}}, "url"},
			{"long description", map[string]any{"url": "https://example.com", "events": []string{"*"},
				"description": strings.Repeat("d", 501)}, "description"},
			{"unknown field", map[string]any{"url": "https://example.com", "events": []string{"*"}, "secret": "x"}, "secret"},
		} {
			t.Run(c.name, func(t *testing.T) {
				s.Do(t, "POST", s.Path("/webhooks"), s.SKTest, c.body).WantError(t, 400, "").WantField(t, c.field)
			})
		}
		s.Do(t, "DELETE", s.Path("/webhooks/"+id), s.SKTest, nil).Want(t, 200)
		s.Do(t, "GET", s.Path("/webhooks/"+id), s.SKTest, nil).WantError(t, 404, "Webhook endpoint not found")
		s.Do(t, "DELETE", s.Path("/webhooks/"+id), s.SKTest, nil).WantError(t, 404, "Webhook endpoint not found")
		s.Do(t, "GET", s.Path("/webhooks/nope/deliveries"), s.SKTest, nil).WantError(t, 404, "Webhook endpoint not found")
	})
}

// TestWebhookURLPolicy: without --webhooks-allow-insecure and
// --webhooks-allow-private, only https URLs that do not name this server's
// own network are accepted.
func TestWebhookURLPolicy(t *testing.T) {
	s := newTestServer(t, testdb.URL(t, "sqlite"), apptest.Config(func(c *config.Config) {
		c.WebhooksAllowInsecure, c.WebhooksAllowPrivate = false, false
	}))
	for _, u := range []string{"http://example.com/hooks", "https://127.0.0.1/hooks", "https://localhost:8443/",
		"https://api.localhost/", "https://10.1.2.3/", "https://192.168.0.10/", "https://169.254.169.254/latest",
		"https://[::1]/", "https://[fd00:ec2::254]/", "https://[::ffff:127.0.0.1]/", "https://100.64.0.1/", "https://0.0.0.0/"} {
		t.Run(u, func(t *testing.T) {
			s.Do(t, "POST", s.Path("/webhooks"), s.SKTest, map[string]any{"url": u, "events": []string{"*"}}).
				WantError(t, 400, "").WantField(t, "url")
		})
	}
	s.Do(t, "POST", s.Path("/webhooks"), s.SKTest, map[string]any{"url": "https://hooks.example.com/in", "events": []string{"*"}}).Want(t, 201)
}

// TestWebhookDelivery: events of the log reach the endpoints that want
// them, signed, with the REST API's shapes in data; test-mode events go to
// test endpoints only; the deliveries list says how each went.
func TestWebhookDelivery(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		rcv, live, other := apptest.NewReceiver(t), apptest.NewReceiver(t), apptest.NewReceiver(t)
		hookID, secret := s.hook(t, s.SKTest, rcv.URL, "customer.created", "ticket.created", "message.created", "customer.deleted")
		s.hook(t, s.SKLive, live.URL, "*")
		s.hook(t, s.SKTest, other.URL, "ticket.updated")

		cust := s.create(t, s.SKTest, "/customers", map[string]any{"email": "ann@example.com", "name": "Ann <&>"})
		tid := s.create(t, s.SKTest, "/tickets", map[string]any{"subject": "Help", "customer_id": cust})
		s.Do(t, "POST", s.Path("/tickets/"+tid+"/messages"), s.SKTest, map[string]any{"body": "Hello", "author_name": "Bob"}).Want(t, 201)
		// An event's data is the resource as it is when the event is fanned
		// out, normally milliseconds later: wait for that before deleting.
		rcv.WaitN(t, 3)
		s.Do(t, "DELETE", s.Path("/customers/"+cust), s.SKTest, nil).Want(t, 200)
		hs := rcv.WaitN(t, 4)
		want := []string{"customer.created", "ticket.created", "message.created", "customer.deleted"}
		byType := map[string]apptest.Hook{}
		for _, h := range hs {
			verified(t, h, secret)
			byType[h.Type()] = h
			if !evtID.MatchString(h.ID()) || h.Event["livemode"] != false {
				t.Errorf("%s: got id %q livemode %v, want evt_… and false", h.Type(), h.ID(), h.Event["livemode"])
			}
			if c, ok := h.Event["created"].(float64); !ok || time.Since(time.Unix(int64(c), 0)) > time.Minute {
				t.Errorf("%s: created %v, want Unix seconds of now", h.Type(), h.Event["created"])
			}
			if ct := h.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q", ct)
			}
		}
		for _, typ := range want {
			if _, ok := byType[typ]; !ok {
				t.Fatalf("got %d events, none of type %s", len(hs), typ)
			}
		}
		if c := byType["customer.created"].Data(); c["id"] != cust || c["name"] != "Ann <&>" || c["email"] != "ann@example.com" {
			t.Errorf("customer.created data: got %v", c)
		}
		if !strings.Contains(string(byType["customer.created"].Body), `"Ann <&>"`) {
			t.Errorf("body escapes HTML: %s", byType["customer.created"].Body)
		}
		if d := byType["customer.deleted"].Data(); !reflect.DeepEqual(d, map[string]any{"id": cust, "deleted": true}) {
			t.Errorf("customer.deleted data: got %v", d)
		}
		if m := byType["message.created"].Data(); m["body"] != "Hello" || m["ticket_id"] != tid || num(m["seq"]) != 1 {
			t.Errorf("message.created data: got %v", m)
		}
		// A ticket's data is the ticket as GET renders it then.
		tk := byType["ticket.created"].Data()
		if tk["id"] != tid || tk["subject"] != "Help" || tk["mode"] != "test" {
			t.Errorf("ticket.created data: got %v", tk)
		}
		// Each event once; the other test endpoint wanted only
		// ticket.updated; nothing of test mode reached the live one.
		time.Sleep(300 * time.Millisecond)
		if n := len(rcv.Hooks()); n != 4 {
			t.Errorf("deliveries: got %d, want 4", n)
		}
		if n := len(other.Hooks()) + len(live.Hooks()); n != 0 {
			t.Errorf("other endpoints: got %d requests, want none", n)
		}

		ds := s.Do(t, "GET", s.Path("/webhooks/"+hookID+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t)
		if len(ds) != 4 {
			t.Fatalf("deliveries list: got %d, want 4", len(ds))
		}
		for _, d := range ds {
			if d["state"] != "succeeded" || num(d["attempts"]) != 1 || num(d["status_code"]) != 200 ||
				d["response"] != "ok" || d["next_retry_at"] != nil || d["completed_at"] == nil || !evtID.MatchString(str(d["event_id"])) {
				t.Errorf("delivery: got %v, want succeeded at the first attempt", d)
			}
		}
		// A live event goes to the live endpoint.
		s.create(t, s.SKLive, "/customers", map[string]any{"email": "bo@example.com"})
		if h := live.WaitN(t, 1)[0]; h.Type() != "customer.created" || h.Event["livemode"] != true {
			t.Errorf("live endpoint: got %s livemode %v", h.Type(), h.Event["livemode"])
		}
	})
}

// TestWebhookRetries: a failing endpoint is retried with backoff until it
// answers 2xx; timeouts and errors count as failures; the response is kept
// up to 1 KB; /metrics counts every outcome.
func TestWebhookRetries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		tm := apptest.WebhookTimings
		tm.Timeout = 300 * time.Millisecond
		s := newTestServer(t, dbURL, apptest.Webhooks(tm))
		rcv := apptest.NewReceiver(t)
		rcv.Answer(func(n int, h apptest.Hook) (int, string, time.Duration) {
			switch n {
			case 0:
				return 500, strings.Repeat("x", 3000), 0
			case 1:
				return 200, "too late", time.Second // a timeout
			case 2:
				return 302, "moved", 0 // redirects are not followed
			}
			return 204, "", 0
		})
		hookID, _ := s.hook(t, s.SKTest, rcv.URL, "customer.created")
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "ann@example.com"})
		hs := rcv.WaitN(t, 4)
		for _, h := range hs[1:] {
			if h.ID() != hs[0].ID() || string(h.Body) != string(hs[0].Body) {
				t.Errorf("retry: got %s, want the same event and body as the first attempt", h.Body)
			}
		}
		// Backoff: 200 ms doubling, ±25 %.
		for i, min := range []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond} {
			if gap := hs[i+1].At.Sub(hs[i].At); gap < min {
				t.Errorf("retry %d came %v after the previous attempt, want at least %v", i+1, gap, min)
			}
		}
		var d map[string]any
		deadline := time.Now().Add(apptest.Wait)
		for time.Now().Before(deadline) {
			d = s.Do(t, "GET", s.Path("/webhooks/"+hookID+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t)[0]
			if d["state"] == "succeeded" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if d["state"] != "succeeded" || num(d["attempts"]) != 4 || num(d["status_code"]) != 204 {
			t.Errorf("delivery: got %v, want succeeded at the 4th attempt", d)
		}
		m := string(s.Do(t, "GET", "/metrics", "", nil).Want(t, 200).Raw)
		for _, line := range []string{`cstar_webhook_deliveries_total{outcome="success"} 1`,
			`cstar_webhook_deliveries_total{outcome="http_error"} 2`, `cstar_webhook_deliveries_total{outcome="timeout"} 1`,
			`cstar_webhook_deliveries_total{outcome="refused"} 0`} {
			if !strings.Contains(m, line) {
				t.Errorf("metrics: no %q in\n%s", line, grep(m, "webhook"))
			}
		}
	})
}

// TestWebhookResponseKept: a failed attempt keeps 1 KB of the response and
// the time of the next retry.
func TestWebhookResponseKept(t *testing.T) {
	s := newTestServer(t, testdb.URL(t, "sqlite"))
	rcv := apptest.NewReceiver(t)
	rcv.Answer(func(int, apptest.Hook) (int, string, time.Duration) { return 503, strings.Repeat("é", 1000), 0 })
	hookID, _ := s.hook(t, s.SKTest, rcv.URL, "*")
	s.create(t, s.SKTest, "/customers", map[string]any{"email": "ann@example.com"})
	rcv.WaitN(t, 1)
	var d map[string]any
	for range 200 {
		d = s.Do(t, "GET", s.Path("/webhooks/"+hookID+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t)[0]
		if num(d["attempts"]) >= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d["state"] != "pending" || num(d["status_code"]) != 503 || d["next_retry_at"] == nil || d["error"] != nil {
		t.Errorf("delivery: got %v, want pending after a 503 with a next retry", d)
	}
	if resp := str(d["response"]); len(resp) > 1024 || len(resp) < 1020 || !strings.HasPrefix(resp, "éé") {
		t.Errorf("response: got %d bytes, want the first 1 KB of valid text", len(resp))
	}
}

// TestWebhookDisabledAfterThreeDays: deliveries are retried for three days
// and then fail; an endpoint that failed for three days is disabled with
// its reason, and enabling it clears that.
func TestWebhookDisabledAfterThreeDays(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		rcv := apptest.NewReceiver(t)
		rcv.Answer(func(int, apptest.Hook) (int, string, time.Duration) { return 500, "down", 0 })
		hookID, _ := s.hook(t, s.SKTest, rcv.URL, "*")
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "ann@example.com"})
		rcv.WaitN(t, 2)
		if e := s.Do(t, "GET", s.Path("/webhooks/"+hookID), s.SKTest, nil).Want(t, 200).Data(t); e["failing_since"] == nil || e["enabled"] != true {
			t.Errorf("after failures: got %v, want failing_since set and still enabled", e)
		}
		s.Clock.Advance(72*time.Hour + time.Minute)
		var e map[string]any
		for range 500 {
			e = s.Do(t, "GET", s.Path("/webhooks/"+hookID), s.SKTest, nil).Want(t, 200).Data(t)
			if e["enabled"] == false {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if e["enabled"] != false || e["disabled_reason"] != "failing_3_days" || e["disabled_at"] == nil {
			t.Fatalf("after three days: got %v, want disabled with failing_3_days", e)
		}
		d := s.Do(t, "GET", s.Path("/webhooks/"+hookID+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t)[0]
		if d["state"] != "failed" || d["next_retry_at"] != nil || d["completed_at"] == nil {
			t.Errorf("delivery: got %v, want failed for good", d)
		}
		// Disabled: new events are not sent.
		n := len(rcv.Hooks())
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "bo@example.com"})
		time.Sleep(200 * time.Millisecond)
		if got := len(rcv.Hooks()); got != n {
			t.Errorf("disabled endpoint: got %d requests, want %d", got, n)
		}
		e = s.Do(t, "PATCH", s.Path("/webhooks/"+hookID), s.SKTest, map[string]any{"enabled": true}).Want(t, 200).Data(t)
		if e["enabled"] != true || e["disabled_reason"] != nil || e["failing_since"] != nil {
			t.Errorf("enabled again: got %v", e)
		}
		rcv.Answer(nil)
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "cy@example.com"})
		rcv.Wait(t, 0, "cy's customer.created", func(hs []apptest.Hook) bool {
			return len(hs) > 0 && hs[len(hs)-1].Data()["email"] == "cy@example.com"
		})
		// The audit trail says the delivery disabled it, and who enabled it.
		got := s.webhookAudit(t, s.SKTest)
		if want := []string{"webhook.created api_key:" + rcv.URL, "webhook.disabled system:" + rcv.URL,
			"webhook.updated api_key:" + rcv.URL}; !slices.Equal(got, want) {
			t.Errorf("audit log: got %v, want the creation, the disabling by the system, the enabling by the key", got)
		}
	})
}

// webhookAudit lists the webhook entries of the audit log of key's mode,
// oldest first, as "action actor-type:target".
func (s *testServer) webhookAudit(t *testing.T, key string) []string {
	t.Helper()
	var out []string
	for _, e := range s.Do(t, "GET", s.Path("/audit-log"), key, nil).Want(t, 200).Items(t) {
		if a := str(e["action"]); strings.HasPrefix(a, "webhook.") {
			out = append(out, a+" "+str(e["actor"].(map[string]any)["type"])+":"+str(e["target"]))
		}
	}
	slices.Reverse(out)
	return out
}

// TestWebhookAudit: creating, changing, rolling and deleting an endpoint
// are in the audit log of the key's mode only, the URL without its query.
func TestWebhookAudit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		rcv := apptest.NewReceiver(t)
		// The audit log keeps the URL without its query (a receiver's own
		// token often travels there).
		id, _ := s.hook(t, s.SKTest, rcv.URL+"?token=s3cret", "*")
		s.Do(t, "PATCH", s.Path("/webhooks/"+id), s.SKTest, map[string]any{"enabled": false}).Want(t, 200)
		s.Do(t, "POST", s.Path("/webhooks/"+id+"/roll-secret"), s.SKTest, nil).Want(t, 200)
		s.Do(t, "DELETE", s.Path("/webhooks/"+id), s.SKTest, nil).Want(t, 200)
		u := "api_key:" + rcv.URL
		want := []string{"webhook.created " + u, "webhook.updated " + u, "webhook.secret_rolled " + u, "webhook.deleted " + u}
		if got := s.webhookAudit(t, s.SKTest); !slices.Equal(got, want) {
			t.Errorf("test mode's audit log: got %v, want %v", got, want)
		}
		if got := s.webhookAudit(t, s.SKLive); len(got) != 0 {
			t.Errorf("live mode's audit log: got %v, want none", got)
		}
	})
}

// TestWebhookRollSecret: after a roll with a grace period, deliveries carry
// a signature by each secret; after a roll without one, by the new only.
func TestWebhookRollSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		rcv := apptest.NewReceiver(t)
		hookID, first := s.hook(t, s.SKTest, rcv.URL, "*")
		r := s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/roll-secret"), s.SKTest, map[string]any{"expires_in": 3600}).Want(t, 200).Data(t)
		second := str(r["secret"])
		if !strings.HasPrefix(second, "whsec_") || second == first || r["previous_secret_expires_at"] == nil {
			t.Fatalf("roll: got %v, want a new secret and the old one's expiry", r)
		}
		s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/test"), s.SKTest, nil).Want(t, 202)
		h := rcv.WaitN(t, 1)[0]
		if n := strings.Count(h.Header.Get("Cstar-Signature"), "v1="); n != 2 {
			t.Errorf("signatures in the grace: got %d, want 2", n)
		}
		verified(t, h, first)
		verified(t, h, second)
		if h.Type() != "ping" || h.Data()["webhook_id"] != hookID {
			t.Errorf("test event: got %s %v, want ping naming the endpoint", h.Type(), h.Data())
		}
		r = s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/roll-secret"), s.SKTest, map[string]any{"expires_in": 0}).Want(t, 200).Data(t)
		third := str(r["secret"])
		s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/test"), s.SKTest, nil).Want(t, 202)
		h = rcv.WaitN(t, 2)[1]
		verified(t, h, third)
		if err := webhooksig.Verify(h.Header.Get("Cstar-Signature"), h.Body, second, 0, time.Now()); err == nil {
			t.Error("a secret rolled without grace still signs")
		}
		s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/roll-secret"), s.SKTest, map[string]any{"expires_in": 8 * 86400}).
			WantError(t, 400, "").WantField(t, "expires_in")
	})
}

// TestWebhookRedeliver: a delivery sent again is a new delivery of the same
// event: same id, same body.
func TestWebhookRedeliver(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		rcv := apptest.NewReceiver(t)
		hookID, secret := s.hook(t, s.SKTest, rcv.URL, "customer.created")
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "ann@example.com"})
		first := rcv.WaitN(t, 1)[0]
		var ds []map[string]any
		for range 200 {
			ds = s.Do(t, "GET", s.Path("/webhooks/"+hookID+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t)
			if ds[0]["state"] == "succeeded" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		r := s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/deliveries/"+str(ds[0]["id"])+"/redeliver"), s.SKTest, nil).Want(t, 202).Data(t)
		if r["event_id"] != first.ID() || r["state"] != "pending" || r["id"] == ds[0]["id"] {
			t.Errorf("redeliver: got %v, want a new pending delivery of %s", r, first.ID())
		}
		again := rcv.WaitN(t, 2)[1]
		verified(t, again, secret)
		if again.ID() != first.ID() || string(again.Body) != string(first.Body) {
			t.Errorf("redelivered: got %s, want %s", again.Body, first.Body)
		}
		s.Do(t, "POST", s.Path("/webhooks/"+hookID+"/deliveries/01a2206a-e1c7-7cbd-b02c-8b6cb78361c8/redeliver"), s.SKTest, nil).
			WantError(t, 404, "Delivery not found")
	})
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestWebhookHeldBackWhileFailing: while an endpoint fails, its new events
// wait as long as it has been failing instead of being tried at once; the
// first retry that succeeds makes them due at once.
func TestWebhookHeldBackWhileFailing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		tm := apptest.WebhookTimings
		tm.FirstRetry, tm.MaxRetry = time.Minute, time.Hour
		s := newTestServer(t, dbURL, apptest.Webhooks(tm))
		rcv := apptest.NewReceiver(t)
		rcv.Answer(func(int, apptest.Hook) (int, string, time.Duration) { return 500, "down", 0 })
		hookID, _ := s.hook(t, s.SKTest, rcv.URL, "customer.created")
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "ann@example.com"})
		rcv.WaitN(t, 1)
		s.Clock.Advance(10 * time.Minute)
		rcv.WaitN(t, 2) // Ann's first retry, failing too
		// Bo's event waits: the endpoint has failed for 10 minutes.
		s.create(t, s.SKTest, "/customers", map[string]any{"email": "bo@example.com"})
		time.Sleep(300 * time.Millisecond)
		if hs := rcv.Hooks(); len(hs) != 2 {
			t.Fatalf("while failing: got %d requests, want Bo's event held back", len(hs))
		}
		var bo map[string]any
		for _, d := range s.Do(t, "GET", s.Path("/webhooks/"+hookID+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t) {
			if num(d["attempts"]) == 0 {
				bo = d
			}
		}
		if bo == nil || bo["state"] != "pending" {
			t.Fatalf("Bo's delivery: got %v, want pending and not tried", bo)
		}
		// The receiver is back; Ann's next retry (due within 2.5 minutes)
		// succeeds, and Bo's event goes at once, not 10 minutes later.
		rcv.Answer(nil)
		s.Clock.Advance(3 * time.Minute)
		rcv.Wait(t, 0, "Bo's event right after Ann's retry", func(hs []apptest.Hook) bool {
			return len(hs) > 0 && hs[len(hs)-1].Data()["email"] == "bo@example.com"
		})
		if e := s.Do(t, "GET", s.Path("/webhooks/"+hookID), s.SKTest, nil).Want(t, 200).Data(t); e["failing_since"] != nil {
			t.Errorf("after a success: failing_since %v, want null", e["failing_since"])
		}
	})
}

// TestWebhookVisitorMerge: a visitor's conversation moving into the
// account that signed up with the visitor's token is a customer.merged
// event, whose data is the moved ticket naming the visitor.
func TestWebhookVisitorMerge(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		rcv := apptest.NewReceiver(t)
		_, secret := s.hook(t, s.SKTest, rcv.URL, "customer.merged")
		tok, vid := visitor(t, s, s.PKTest, nil)
		tid := visitorSays(t, s, tok, "hello before signing up")
		s.Do(t, "POST", wv1+"/signup", s.PKTest, map[string]any{"email": "vera@example.com", "name": "Vera",
			"password": "correct horse battery"}, protocol.VisitorHeader, tok).Want(t, 201)
		h := rcv.WaitN(t, 1)[0]
		verified(t, h, secret)
		data, _ := h.Event["data"].(map[string]any)
		if h.Type() != "customer.merged" || data["id"] != tid || data["merged_from"] != vid {
			t.Fatalf("merge event: got %v, want customer.merged of ticket %s from visitor %s", h.Event, tid, vid)
		}
	})
}
