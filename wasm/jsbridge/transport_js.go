//go:build js && wasm

package jsbridge

import (
	"errors"
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// Fetch is the sdk.Transport of the browser: window.fetch with JSON bodies.
type Fetch struct{}

// Do implements sdk.Transport. It blocks its goroutine until fetch settles.
func (Fetch) Do(r sdk.Request) (sdk.Response, error) {
	headers := js.Global().Get("Object").New()
	for k, v := range r.Headers {
		headers.Set(k, v)
	}
	init := js.Global().Get("Object").New()
	init.Set("method", r.Method)
	init.Set("headers", headers)
	init.Set("credentials", "omit")
	init.Set("cache", "no-store")
	if r.Body != nil {
		headers.Set("Content-Type", "application/json")
		init.Set("body", js.Global().Get("JSON").Call("stringify", ToJS(r.Body)))
	}
	type result struct {
		res sdk.Response
		err error
	}
	done := make(chan result, 1)
	status := 0
	// One Go function, bound to the name of each step.
	var cb js.Func
	cb = js.FuncOf(func(this js.Value, args []js.Value) any {
		switch args[0].String() {
		case "response":
			status = args[1].Get("status").Int()
			args[1].Call("json").Call("then", cb.Call("bind", nil, "json"), cb.Call("bind", nil, "text"))
		case "json":
			body, _ := ToGo(args[1]).(map[string]any)
			done <- result{res: sdk.Response{Status: status, Body: body}}
		case "text": // a body that is not JSON still yields the status
			done <- result{res: sdk.Response{Status: status, Body: map[string]any{}}}
		default:
			msg := "fetch failed"
			if len(args) > 1 && args[1].Truthy() {
				msg = args[1].Get("message").String()
			}
			done <- result{err: errors.New(msg)}
		}
		return nil
	})
	js.Global().Call("fetch", r.Path, init).Call("then", cb.Call("bind", nil, "response"), cb.Call("bind", nil, "fail"))
	out := <-done
	cb.Release()
	return out.res, out.err
}
