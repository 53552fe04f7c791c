//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/jsbridge"
	"github.com/cstar-chat/cstar/wasm/sdk"
)

// main reads the configuration the loader left in globalThis.__cstarConfig
// ({publishableKey, apiBase}), builds the SDK core and hands its methods to
// the loader through globalThis.__cstarAttach, which replays the calls the
// page queued before the module was ready.
func main() {
	g := js.Global()
	cfg := g.Get("__cstarConfig")
	if !cfg.Truthy() {
		g.Get("console").Call("error", "CStarChat: load the SDK through cstar-chat.js")
		return
	}
	c := sdk.New(sdk.Config{PublishableKey: cfg.Get("publishableKey").String(), APIBase: cfg.Get("apiBase").String()},
		jsbridge.Fetch{}, jsbridge.LocalStorage())

	str := func(o js.Value, k string) string {
		if v := o.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	arg := func(args []js.Value) js.Value {
		if len(args) > 0 && args[0].Type() == js.TypeObject {
			return args[0]
		}
		return js.Global().Get("Object").New()
	}
	customer := func(cu sdk.Customer, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return cu.Map(), nil
	}
	core := map[string]any{
		"signup": func(this js.Value, args []js.Value) any {
			o := arg(args)
			return jsbridge.Promise(func() (any, error) {
				return customer(c.Signup(str(o, "email"), str(o, "name"), str(o, "password")))
			})
		},
		"login": func(this js.Value, args []js.Value) any {
			o := arg(args)
			return jsbridge.Promise(func() (any, error) { return customer(c.Login(str(o, "email"), str(o, "password"))) })
		},
		"identify": func(this js.Value, args []js.Value) any {
			o := arg(args)
			fields := map[string]any{}
			for jsName, wire := range map[string]string{"token": "token", "userId": "user_id", "email": "email", "name": "name", "userHash": "user_hash"} {
				if s := str(o, jsName); s != "" {
					fields[wire] = s
				}
			}
			return jsbridge.Promise(func() (any, error) { return customer(c.Identify(fields)) })
		},
		"logout": func(this js.Value, args []js.Value) any {
			return jsbridge.Promise(func() (any, error) { return nil, c.Logout() })
		},
		"isIdentified": func(this js.Value, args []js.Value) any { return c.IsIdentified() },
		"getCustomer": func(this js.Value, args []js.Value) any {
			if cu := c.GetCustomer(); cu != nil {
				return jsbridge.ToJS(cu.Map())
			}
			return js.Null()
		},
		"on": func(this js.Value, args []js.Value) any {
			if len(args) < 2 || args[1].Type() != js.TypeFunction {
				return js.Undefined()
			}
			h := args[1]
			off := c.On(args[0].String(), func(v any) {
				if e, ok := v.(*sdk.Error); ok {
					h.Invoke(jsbridge.ErrorValue(e))
					return
				}
				h.Invoke(jsbridge.ToJS(v))
			})
			return js.FuncOf(func(js.Value, []js.Value) any { off(); return nil })
		},
		"reload": func(this js.Value, args []js.Value) any { c.Reload(); return nil },
		"refresh": func(this js.Value, args []js.Value) any {
			return jsbridge.Promise(func() (any, error) { return nil, c.Refresh() })
		},
	}
	obj := js.Global().Get("Object").New()
	for name, f := range core {
		obj.Set(name, js.FuncOf(f.(func(js.Value, []js.Value) any)))
	}
	if attach := g.Get("__cstarAttach"); attach.Type() == js.TypeFunction {
		attach.Invoke(obj)
	} else {
		g.Set("CStarChatCore", obj)
	}
	select {} // keep the module alive for callbacks
}
