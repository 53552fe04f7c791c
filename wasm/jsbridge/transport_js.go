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
	var onResponse, onJSON, onNotJSON, onFail js.Func
	release := func() { onResponse.Release(); onJSON.Release(); onNotJSON.Release(); onFail.Release() }
	status := 0
	onFail = js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "fetch failed"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Get("message").String()
		}
		done <- result{err: errors.New(msg)}
		return nil
	})
	onJSON = js.FuncOf(func(this js.Value, args []js.Value) any {
		body, _ := ToGo(args[0]).(map[string]any)
		done <- result{res: sdk.Response{Status: status, Body: body}}
		return nil
	})
	// A body that is not JSON still yields the status.
	onNotJSON = js.FuncOf(func(js.Value, []js.Value) any {
		done <- result{res: sdk.Response{Status: status, Body: map[string]any{}}}
		return nil
	})
	onResponse = js.FuncOf(func(this js.Value, args []js.Value) any {
		status = args[0].Get("status").Int()
		args[0].Call("json").Call("then", onJSON, onNotJSON)
		return nil
	})
	js.Global().Call("fetch", r.Path, init).Call("then", onResponse, onFail)
	out := <-done
	release()
	return out.res, out.err
}
