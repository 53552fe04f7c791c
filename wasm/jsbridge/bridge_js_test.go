//go:build js && wasm

package jsbridge

import (
	"errors"
	"syscall/js"
	"testing"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

func TestRoundTrip(t *testing.T) {
	in := map[string]any{"s": "x", "n": 1.5, "b": true, "z": nil, "a": []any{"p", 2.0}, "o": map[string]any{"k": "v"}}
	js.Global().Set("roundTrip", ToJS(in))
	parsed := js.Global().Get("JSON").Call("parse", js.Global().Get("JSON").Call("stringify", js.Global().Get("roundTrip")))
	out := ToGo(parsed).(map[string]any)
	if out["s"] != "x" || out["n"] != 1.5 || out["b"] != true || out["z"] != nil ||
		out["a"].([]any)[1] != 2.0 || out["o"].(map[string]any)["k"] != "v" {
		t.Fatalf("got %#v, want %#v", out, in)
	}
}

// Node has no localStorage, which stands for a browser where it is blocked:
// the SDK must keep working in memory.
func TestStorageFallsBackToMemory(t *testing.T) {
	st := LocalStorage()
	if _, ok := st.(*sdk.MemoryStorage); !ok {
		t.Fatalf("got %T, want *sdk.MemoryStorage without localStorage", st)
	}
	st.Save("k", map[string]any{"v": 1.0})
	if v, ok := st.Load("k"); !ok || v["v"] != 1.0 {
		t.Fatalf("got %v, %v", v, ok)
	}
}

// TestLocalStorage uses a stub with the Web Storage API.
func TestLocalStorage(t *testing.T) {
	js.Global().Call("eval", `globalThis.localStorage = (() => { const m = new Map(); return {
		getItem: k => m.has(k) ? m.get(k) : null, setItem: (k, v) => m.set(k, String(v)), removeItem: k => m.delete(k) }; })()`)
	defer js.Global().Delete("localStorage")
	st := LocalStorage()
	if _, ok := st.(*local); !ok {
		t.Fatalf("got %T, want localStorage-backed storage", st)
	}
	st.Save("cstar.k", map[string]any{"token": "t"})
	raw := js.Global().Get("localStorage").Call("getItem", "cstar.k").String()
	if raw != `{"token":"t"}` {
		t.Fatalf("stored %q, want JSON", raw)
	}
	st.Delete("cstar.k")
	if _, ok := st.Load("cstar.k"); ok {
		t.Fatal("deleted entry still loads")
	}
}

func TestFetchNetworkError(t *testing.T) {
	_, err := Fetch{}.Do(sdk.Request{Method: "GET", Path: "http://127.0.0.1:1/nothing"})
	if err == nil {
		t.Fatal("fetch to a closed port: got nil error")
	}
}

func TestErrorValue(t *testing.T) {
	e := ErrorValue(&sdk.Error{Message: "Invalid email or password", Status: 401, Code: "unauthorized"})
	if e.Get("message").String() != "Invalid email or password" || e.Get("status").Int() != 401 || e.Get("code").String() != "unauthorized" {
		t.Fatalf("got message=%v status=%v code=%v", e.Get("message"), e.Get("status"), e.Get("code"))
	}
	if ErrorValue(errors.New("x")).Get("status").Int() != 0 {
		t.Fatal("a plain error must carry status 0")
	}
}
