//go:build js && wasm

package jsbridge

import (
	"strconv"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// loadLoader runs js/cstar-chat.js in Node with a stand-in page (whose
// script tag has the publishable key globalThis.pageKey, if set), fake Web
// Locks and a recording WebSocket, so that the chat glue it defines for this
// package is the one under test.
func loadLoader(t *testing.T) {
	t.Helper()
	if js.Global().Get("__cstarSocket").Type() == js.TypeFunction {
		return
	}
	js.Global().Call("eval", `(() => {
		globalThis.window = globalThis;
		globalThis.location = { href: "https://site.example/", origin: "https://site.example" };
		globalThis.addEventListener ??= () => {};
		globalThis.document = { readyState: "loading", addEventListener() {}, querySelector() { return null },
			currentScript: { src: "https://api.example/widget/cstar-chat.js",
				getAttribute: k => k === "data-publishable-key" ? globalThis.pageKey ?? "pk_test_abcdefghijklmnopqrstuvwxyz" : null } };
		// Web Locks by name: a request holds its lock until its callback's
		// promise settles (the tabs' leader never lets go) or releaseLock()
		// (its tab closed); the next request for the name waits.
		const names = {};
		let grants = 0;
		const release = (name, id) => { const s = names[name]; if (s.held === id) { s.held = 0; grant(name); } };
		const grant = name => {
			const s = names[name];
			if (s.held || !s.waiting.length) return;
			const [cb, done, fail] = s.waiting.shift(), id = ++grants;
			s.held = id;
			Promise.resolve(cb({ name, mode: "exclusive" })).then(v => { release(name, id); done(v); }, e => { release(name, id); fail(e); });
		};
		const locks = { request(name, cb) { const s = names[name] ??= { waiting: [], held: 0 };
			return new Promise((done, fail) => { s.waiting.push([cb, done, fail]); Promise.resolve().then(() => grant(name)); }); } };
		globalThis.releaseLock = () => { for (const name in names) release(name, names[name].held); };
		Object.defineProperty(globalThis, "navigator", { value: { locks }, configurable: true, writable: true });
		globalThis.sockets = [];
		globalThis.WebSocket = class {
			constructor(url) { if (url.startsWith("bad")) throw new SyntaxError("bad url"); this.url = url; this.sent = []; sockets.push(this); }
			send(d) { this.sent.push(d); }
			close(code) { this.closedWith = code; }
		};
		// runLoader runs the loader again, as a new page would.
		globalThis.runLoader = () => {
			delete globalThis.CStarChat;
			(0, eval)(require("fs").readFileSync(require("path").join(process.cwd(), "../../js/cstar-chat.js"), "utf8"));
		};
		runLoader();
	})()`)
}

func wait[T any](t *testing.T, c chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(2 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func TestClock(t *testing.T) {
	fired := make(chan string, 2)
	start := Clock{}.Now()
	Clock{}.AfterFunc(10, func() { fired <- "a" })
	stop := Clock{}.AfterFunc(5, func() { fired <- "stopped" })
	stop()
	stop() // twice is fine
	if got := wait(t, fired, "the timer"); got != "a" {
		t.Fatalf("fired %q, want a (the stopped timer ran)", got)
	}
	if d := (Clock{}).Now() - start; d < 9 {
		t.Fatalf("fired after %d ms, want at least 10", d)
	}
	if r := Random(); r < 0 || r >= 1 {
		t.Fatalf("Random: got %v", r)
	}
}

type sockEvent struct {
	event string
	frame map[string]any
	code  int
}

func TestDial(t *testing.T) {
	loadLoader(t)
	got := make(chan sockEvent, 10)
	on := func(ev string, f map[string]any, code int) { got <- sockEvent{ev, f, code} }
	s := Dial("wss://api.example/api/widget/v1/chat?key=pk&v=1", on)
	if s == nil {
		t.Fatal("Dial: got nil")
	}
	ws := js.Global().Get("sockets").Index(0)
	if ws.Get("url").String() != "wss://api.example/api/widget/v1/chat?key=pk&v=1" {
		t.Fatalf("url: got %v", ws.Get("url"))
	}
	ws.Call("onopen", js.ValueOf(map[string]any{}))
	ws.Call("onmessage", js.ValueOf(map[string]any{"data": "not json"}))
	ws.Call("onmessage", js.ValueOf(map[string]any{"data": `{"type":"ready","tickets":[]}`}))
	s.Send(map[string]any{"type": "resume", "session": "cs_1", "tickets": map[string]any{"t1": 2.0}})
	ws.Call("onclose", js.ValueOf(map[string]any{"code": 4000}))
	if e := <-got; e.event != "open" {
		t.Fatalf("first event: got %+v", e)
	}
	if e := <-got; e.event != "frame" || e.frame["type"] != "ready" {
		t.Fatalf("second event: got %+v, want the ready frame (bad JSON skipped)", e)
	}
	if e := <-got; e.event != "close" || e.code != 4000 {
		t.Fatalf("third event: got %+v, want close 4000", e)
	}
	if sent := ws.Get("sent").Index(0).String(); !strings.Contains(sent, `"session":"cs_1"`) || !strings.Contains(sent, `"t1":2`) {
		t.Fatalf("sent: got %s", sent)
	}

	// Closing from our side reports nothing more.
	s = Dial("wss://api.example/x", on)
	ws = js.Global().Get("sockets").Index(1)
	s.Close()
	if ws.Get("closedWith").Int() != 1000 || !ws.Get("onmessage").IsNull() {
		t.Fatalf("closed with %v, onmessage %v", ws.Get("closedWith"), ws.Get("onmessage"))
	}
	if Dial("bad://", on) != nil {
		t.Fatal("a URL WebSocket refuses: got a socket, want nil")
	}
}

func TestTabs(t *testing.T) {
	loadLoader(t)
	a, b := Tabs("cstar.chat.v1.test.abc"), Tabs("cstar.chat.v1.test.abc")
	if a == nil || b == nil {
		t.Fatal("Tabs: got nil with BroadcastChannel and navigator.locks")
	}
	led := make(chan string, 2)
	recv := make(chan map[string]any, 2)
	a.Join(func(m map[string]any) { recv <- m }, func() { led <- "a" })
	b.Join(func(m map[string]any) { recv <- m }, func() { led <- "b" })
	if got := wait(t, led, "a leader"); got != "a" {
		t.Fatalf("leader: got %s, want a (first to ask)", got)
	}
	b.Post(map[string]any{"k": "out", "d": map[string]any{"type": "typing", "typing": true}})
	if m := wait(t, recv, "a post"); m["k"] != "out" || m["d"].(map[string]any)["typing"] != true {
		t.Fatalf("received: got %v", m)
	}
	js.Global().Call("releaseLock") // tab a goes away
	if got := wait(t, led, "the next leader"); got != "b" {
		t.Fatalf("next leader: got %s, want b", got)
	}

	nav := js.Global().Get("navigator")
	js.Global().Set("navigator", js.ValueOf(map[string]any{}))
	defer js.Global().Set("navigator", nav)
	js.Global().Delete("__cstarTabs")
	defer loadLoaderAgain(t)
	if Tabs("x") != nil {
		t.Fatal("Tabs without the loader's glue: got non-nil")
	}
}

func loadLoaderAgain(t *testing.T) {
	js.Global().Delete("__cstarSocket")
	loadLoader(t)
}

func TestNewID(t *testing.T) {
	loadLoader(t)
	id := NewID()
	if len(id) != 36 || id[14] != '4' || id == NewID() {
		t.Fatalf("got %q, want a random UUID", id)
	}
	// Pages that are not a secure context have no randomUUID.
	c := js.Global().Get("crypto")
	js.Global().Call("eval", `Object.defineProperty(globalThis, "crypto", { value: {}, configurable: true, writable: true })`)
	defer js.Global().Set("crypto", c)
	id = NewID()
	if len(id) < 10 || len(id) > 64 || strings.ContainsAny(id, " .") || id == NewID() {
		t.Fatalf("fallback: got %q, want printable ASCII up to 64 characters", id)
	}
}

// TestFetchAnswers runs Fetch against a Node HTTP server: a JSON answer and
// one that is not JSON.
func TestFetchAnswers(t *testing.T) {
	port := make(chan int, 1)
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any { port <- args[0].Int(); return nil })
	defer cb.Release()
	js.Global().Set("onPort", cb)
	js.Global().Call("eval", `(() => {
		const srv = require("http").createServer((req, res) => {
			if (req.url === "/json") { res.writeHead(401, { "Content-Type": "application/json" }); res.end('{"success":false,"error":"no"}'); }
			else { res.writeHead(502); res.end("<html>"); }
		});
		srv.listen(0, "127.0.0.1", () => { srv.unref(); onPort(srv.address().port); });
	})()`)
	base := "http://127.0.0.1:" + strconv.Itoa(wait(t, port, "the server"))
	res, err := Fetch{}.Do(sdk.Request{Method: "GET", Path: base + "/json"})
	if err != nil || res.Status != 401 || res.Body["error"] != "no" {
		t.Fatalf("JSON answer: got %+v, %v", res, err)
	}
	res, err = Fetch{}.Do(sdk.Request{Method: "POST", Path: base + "/html", Body: map[string]any{"a": 1.0}})
	if err != nil || res.Status != 502 || len(res.Body) != 0 {
		t.Fatalf("answer that is not JSON: got %+v, %v", res, err)
	}
}
