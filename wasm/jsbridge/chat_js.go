//go:build js && wasm

package jsbridge

import (
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// Clock is the sdk.Clock of the browser: Date.now and setTimeout.
type Clock struct{}

// Now implements sdk.Clock.
func (Clock) Now() int64 { return int64(js.Global().Get("Date").Call("now").Float()) }

// AfterFunc implements sdk.Clock.
func (Clock) AfterFunc(ms int64, f func()) (stop func()) {
	var cb js.Func
	done := false
	cb = js.FuncOf(func(js.Value, []js.Value) any {
		if !done {
			done = true
			cb.Release()
			f()
		}
		return nil
	})
	id := js.Global().Call("setTimeout", cb, ms)
	return func() {
		if !done {
			done = true
			js.Global().Call("clearTimeout", id)
			cb.Release()
		}
	}
}

// Random is Math.random: the jitter of reconnects needs no cryptography.
func Random() float64 { return js.Global().Get("Math").Call("random").Float() }

// NewID returns a client id from the loader's __cstarID: crypto.randomUUID,
// or on pages that are not a secure context (plain http) random base-36
// digits, unique enough among one customer's messages.
func NewID() string { return js.Global().Call("__cstarID").String() }

// socket is an sdk.Socket on the loader's __cstarSocket, a WebSocket that
// speaks JSON.
type socket struct {
	ws js.Value
	fn js.Func // the handler of every event
}

// Dial is the sdk.Dialer of the browser. It returns nil when WebSocket is
// missing or refuses the URL (a Content-Security-Policy without the API in
// connect-src, for one).
func Dial(url string, on func(event string, frame map[string]any, code int)) sdk.Socket {
	d := js.Global().Get("__cstarSocket")
	if d.Type() != js.TypeFunction {
		return nil
	}
	w := &socket{}
	w.fn = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := args[0].String()
		if ev == "close" {
			w.fn.Release()
		}
		f, _ := ToGo(args[1]).(map[string]any)
		on(ev, f, args[2].Int())
		return nil
	})
	if w.ws = d.Invoke(url, w.fn); w.ws.IsNull() {
		w.fn.Release()
		return nil
	}
	return w
}

// Send implements sdk.Socket. Sends follow the open event; a socket that
// closed meanwhile drops them, and the outbox resends.
func (w *socket) Send(frame map[string]any) { w.ws.Call("send", ToJS(frame)) }

// Close implements sdk.Socket; the socket reports nothing more.
func (w *socket) Close() {
	w.ws.Call("close")
	w.fn.Release()
}

// tabs is the sdk.Tabs of the browser. The loader's __cstarTabs holds the
// glue to the BroadcastChannel and the Web Lock.
type tabs struct {
	name, join, post js.Value
}

// Tabs returns the sdk.Tabs named name, or nil when the browser lacks
// BroadcastChannel or navigator.locks (secure contexts only): then every tab
// opens its own socket.
func Tabs(name string) sdk.Tabs {
	if j := js.Global().Get("__cstarTabs"); j.Type() == js.TypeFunction {
		return &tabs{name: js.ValueOf(name), join: j}
	}
	return nil
}

// Join implements sdk.Tabs: __cstarTabs(name, recv, lead) subscribes recv
// to the channel, queues for the lock, calls lead once it holds it (or once
// the browser refuses locks) and returns the function that posts.
func (t *tabs) Join(recv func(map[string]any), lead func()) {
	t.post = t.join.Invoke(t.name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		if m, ok := ToGo(args[0]).(map[string]any); ok {
			recv(m)
		}
		return nil
	}), js.FuncOf(func(js.Value, []js.Value) any {
		lead()
		return nil
	}))
}

// Post implements sdk.Tabs.
func (t *tabs) Post(msg map[string]any) { t.post.Invoke(ToJS(msg)) }
