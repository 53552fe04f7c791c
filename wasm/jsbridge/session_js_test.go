//go:build js && wasm

package jsbridge

import (
	"syscall/js"
	"testing"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// signIn is a transport whose every answer signs customer c1 in.
type signIn struct{}

func (signIn) Do(sdk.Request) (sdk.Response, error) {
	return sdk.Response{Status: 200, Body: map[string]any{"success": true, "data": map[string]any{
		"customer": map[string]any{"id": "c1", "name": "Jane", "created_at": "2026-11-28T10:00:00Z"},
		"session":  map[string]any{"token": "cs_1", "expires_at": "2026-12-28T10:00:00Z"},
	}}}, nil
}

// TestLoaderReadsTheModuleSession proves that the loader, which reads the
// persisted session before the module runs, names it as the module does
// (sdk.Config.StorageKey) and reads its format: a page sees the session the
// module stored for the page's publishable key, and none stored for another
// mode or key.
func TestLoaderReadsTheModuleSession(t *testing.T) {
	loadLoader(t)
	g := js.Global()
	g.Call("eval", `globalThis.localStorage = (() => { const m = new Map(); return {
		getItem: k => m.has(k) ? m.get(k) : null, setItem: (k, v) => m.set(k, String(v)),
		removeItem: k => m.delete(k), clear: () => m.clear() }; })()`)
	defer g.Delete("localStorage")
	defer func() { g.Delete("pageKey"); g.Call("runLoader") }()

	keys := []string{"pk_test_abcdefghijklmnopqrstuvwxyz", "pk_live_abcdefghijklmnopqrstuvwxyz",
		"pk_test_0123456789ABCDEFGHIJ", "pk_test_short", ""}
	for _, stored := range keys {
		g.Get("localStorage").Call("clear")
		c := sdk.New(sdk.Config{PublishableKey: stored}, signIn{}, LocalStorage())
		if _, err := c.Login("jane@example.com", "securepass123"); err != nil {
			t.Fatal(err)
		}
		for _, page := range keys {
			g.Set("pageKey", page)
			g.Call("runLoader")
			api := g.Get("CStarChat")
			if got, want := api.Call("isIdentified").Bool(), page == stored; got != want {
				t.Errorf("a page with key %q, the module's session stored for %q: isIdentified() got %v, want %v", page, stored, got, want)
				continue
			}
			if cu := api.Call("getCustomer"); page == stored && (cu.Type() != js.TypeObject || cu.Get("id").String() != "c1") {
				t.Errorf("a page with key %q: getCustomer() got %v, want customer c1", page, cu)
			}
		}
	}
}

// TestLoaderReadsTheModuleOutbox proves that the loader's pendingMessages,
// which the widget calls after a reload, reads the outbox the module
// writes (sdk.Config.OutboxKey and its items): the signed-in customer's
// messages waiting to be sent, and none of another key's page.
func TestLoaderReadsTheModuleOutbox(t *testing.T) {
	loadLoader(t)
	g := js.Global()
	g.Call("eval", `globalThis.localStorage = (() => { const m = new Map(); return {
		getItem: k => m.has(k) ? m.get(k) : null, setItem: (k, v) => m.set(k, String(v)),
		removeItem: k => m.delete(k), clear: () => m.clear() }; })()`)
	defer g.Delete("localStorage")
	defer func() { g.Delete("pageKey"); g.Call("runLoader") }()

	key := "pk_test_abcdefghijklmnopqrstuvwxyz"
	c := sdk.New(sdk.Config{PublishableKey: key}, signIn{}, LocalStorage())
	if _, err := c.Login("jane@example.com", "securepass123"); err != nil {
		t.Fatal(err)
	}
	ids := 0
	ch := sdk.NewChat(c, sdk.ChatEnv{Dial: func(string, func(string, map[string]any, int)) sdk.Socket { return nil },
		Clock: Clock{}, Random: func() float64 { return 0 }, NewID: func() string { ids++; return "cid-" + string(rune('0'+ids)) }})
	ch.Start()
	ch.Send("waiting", nil, func(sdk.Message, error) {})

	for page, want := range map[string]int{key: 1, "pk_test_0123456789ABCDEFGHIJ": 0} {
		g.Set("pageKey", page)
		g.Call("runLoader")
		got := g.Get("CStarChat").Call("pendingMessages")
		if got.Length() != want {
			t.Errorf("page with key %q: pendingMessages() has %d items, want %d", page, got.Length(), want)
			continue
		}
		if want == 1 && (got.Index(0).Get("clientId").String() != "cid-1" || got.Index(0).Get("body").String() != "waiting") {
			t.Errorf("pendingMessages()[0]: got %v, want cid-1 \"waiting\"", got.Index(0))
		}
	}
}

// recorder answers every request as signIn does and keeps the requests.
type recorder struct{ reqs []sdk.Request }

func (r *recorder) Do(q sdk.Request) (sdk.Response, error) {
	r.reqs = append(r.reqs, q)
	return signIn{}.Do(q)
}

// TestModuleReadsTheLoaderVisitor proves that the anonymous visitor the
// loader creates at a first message (it writes sdk.Config.VisitorKey) is the
// one the module holds: its first sign-in carries the visitor's token in
// X-CStar-Visitor (the proof that merges), and then forgets it; the
// loader's getVisitor() reads it too.
func TestModuleReadsTheLoaderVisitor(t *testing.T) {
	loadLoader(t)
	g := js.Global()
	g.Call("eval", `globalThis.localStorage = (() => { const m = new Map(); return {
		getItem: k => m.has(k) ? m.get(k) : null, setItem: (k, v) => m.set(k, String(v)),
		removeItem: k => m.delete(k), clear: () => m.clear() }; })();
		globalThis.fetch = (url, init) => Promise.resolve({ ok: true, status: 201, json: () => Promise.resolve({ success: true, data: {
			visitor: { id: "v1", name: "", email: "ann@example.com", created_at: "2026-11-28T10:00:00Z" },
			session: { token: "cs_visitor", expires_at: "2026-12-28T10:00:00Z" } } }) });`)
	defer g.Delete("localStorage")
	defer g.Delete("fetch")
	defer func() { g.Delete("pageKey"); g.Call("runLoader") }()
	key := "pk_test_abcdefghijklmnopqrstuvwxyz"
	g.Set("pageKey", key)
	g.Call("runLoader")
	done := make(chan js.Value, 1)
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any { done <- args[0]; return nil })
	defer cb.Release()
	g.Get("CStarChat").Call("setVisitorEmail", "ann@example.com").Call("then", cb, cb)
	if v := wait(t, done, "setVisitorEmail"); v.Type() != js.TypeObject || v.Get("id").String() != "v1" {
		t.Fatalf("setVisitorEmail: got %v, want visitor v1", v)
	}
	if v := g.Get("CStarChat").Call("getVisitor"); v.Get("email").String() != "ann@example.com" || g.Get("CStarChat").Call("isIdentified").Bool() {
		t.Errorf("loader after the visitor: getVisitor() %v, isIdentified() %v; want ann@example.com and false", v, g.Get("CStarChat").Call("isIdentified"))
	}

	rec := &recorder{}
	c := sdk.New(sdk.Config{PublishableKey: key}, rec, LocalStorage())
	if c.IsIdentified() || c.GetCustomer() != nil {
		t.Errorf("the module with a visitor: identified %v, customer %v; want false and none", c.IsIdentified(), c.GetCustomer())
	}
	if _, err := c.Login("ann@example.com", "securepass123"); err != nil {
		t.Fatal(err)
	}
	if got := rec.reqs[0].Headers["X-CStar-Visitor"]; got != "cs_visitor" {
		t.Errorf("the sign-in's X-CStar-Visitor: got %q, want the loader's visitor token", got)
	}
	if v := g.Get("CStarChat").Call("getVisitor"); !v.IsNull() {
		t.Errorf("getVisitor() after a sign-in: got %v, want null (the visitor is spent)", v)
	}
	c.Logout()
	c.Login("ann@example.com", "securepass123")
	if got := rec.reqs[len(rec.reqs)-1].Headers["X-CStar-Visitor"]; got != "" {
		t.Errorf("a later sign-in's X-CStar-Visitor: got %q, want none", got)
	}
}

// TestModuleReadsTheLoaderReset proves that the session the loader's
// resetPassword signs in with (it writes sdk.Config.StorageKey, as the
// module would) is the one the module holds, with the customer's email
// verified; that the reset carried the visitor's token (the proof that
// merges) and spent it; and that verifyEmail marks the signed-in customer's
// email verified where the module reads it.
func TestModuleReadsTheLoaderReset(t *testing.T) {
	loadLoader(t)
	g := js.Global()
	g.Call("eval", `globalThis.localStorage = (() => { const m = new Map(); return {
		getItem: k => m.has(k) ? m.get(k) : null, setItem: (k, v) => m.set(k, String(v)),
		removeItem: k => m.delete(k), clear: () => m.clear() }; })();
		globalThis.requests = [];
		globalThis.fetch = (url, init) => { requests.push({ url, init }); return Promise.resolve({ ok: true, status: 200,
			json: () => Promise.resolve({ success: true, data: url.endsWith("/password-reset") ? { requested: true } : {
			customer: { id: "c1", email: "ann@example.com", name: "Ann", external_id: null, created_at: "2026-11-28T10:00:00Z",
				email_verified: true },
			session: url.endsWith("/confirm") ? { token: "cs_new", expires_at: "2026-12-28T10:00:00Z" } : undefined } }) }); };`)
	defer g.Delete("localStorage")
	defer g.Delete("fetch")
	defer g.Delete("requests")
	defer func() { g.Delete("pageKey"); g.Call("runLoader") }()
	key := "pk_test_abcdefghijklmnopqrstuvwxyz"
	g.Set("pageKey", key)
	g.Call("runLoader")
	cfg := sdk.Config{PublishableKey: key}
	LocalStorage().Save(cfg.VisitorKey(), map[string]any{"v": float64(1), "token": "cs_visitor",
		"visitor": map[string]any{"id": "v1"}})
	done := make(chan js.Value, 1)
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any { done <- args[0]; return nil })
	defer cb.Release()
	api := g.Get("CStarChat")

	api.Call("requestPasswordReset", "ann@example.com").Call("then", cb, cb)
	if v := wait(t, done, "requestPasswordReset"); !v.IsUndefined() {
		t.Errorf("requestPasswordReset: got %v, want undefined", v)
	}
	api.Call("resetPassword", "cpr_token", "a new passphrase").Call("then", cb, cb)
	if v := wait(t, done, "resetPassword"); v.Get("id").String() != "c1" || !v.Get("emailVerified").Bool() {
		t.Fatalf("resetPassword: got %v, want customer c1 with the email verified", v)
	}
	reqs := g.Get("requests")
	if n := reqs.Length(); n != 2 {
		t.Fatalf("requests: got %d, want 2", n)
	}
	confirm := reqs.Index(1)
	if u := confirm.Get("url").String(); u != "https://api.example/api/widget/v1/password-reset/confirm" {
		t.Errorf("reset URL: got %s", u)
	}
	if h := confirm.Get("init").Get("headers"); h.Get("X-CStar-Visitor").String() != "cs_visitor" {
		t.Errorf("the reset's X-CStar-Visitor: got %v, want the visitor's token", h.Get("X-CStar-Visitor"))
	}
	if body := confirm.Get("init").Get("body").String(); body != `{"token":"cpr_token","password":"a new passphrase"}` {
		t.Errorf("reset body: got %s", body)
	}
	c := sdk.New(cfg, &recorder{}, LocalStorage())
	if cu := c.GetCustomer(); !c.IsIdentified() || cu == nil || cu.ID != "c1" || !cu.EmailVerified {
		t.Fatalf("the module after the loader's reset: identified %v, customer %+v; want c1 with the email verified", c.IsIdentified(), cu)
	}
	if !api.Call("getVisitor").IsNull() {
		t.Error("the visitor is not spent by the reset")
	}

	// A customer signed in with an unverified email verifies it.
	LocalStorage().Save(cfg.StorageKey(), map[string]any{"v": float64(1), "token": "cs_new",
		"customer": map[string]any{"id": "c1", "email": "ann@example.com", "emailVerified": false}})
	api.Call("verifyEmail", "cev_token").Call("then", cb, cb)
	if v := wait(t, done, "verifyEmail"); !v.Get("emailVerified").Bool() {
		t.Fatalf("verifyEmail: got %v", v)
	}
	if cu := sdk.New(cfg, &recorder{}, LocalStorage()).GetCustomer(); cu == nil || !cu.EmailVerified {
		t.Errorf("the module after verifyEmail: got %+v, want the email verified", cu)
	}
}
