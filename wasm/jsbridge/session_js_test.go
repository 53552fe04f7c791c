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
	ch.Send("waiting", func(sdk.Message, error) {})

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
