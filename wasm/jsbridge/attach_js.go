//go:build js && wasm

package jsbridge

import (
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// LoaderConfig reads the configuration the loader left in
// globalThis.__cstarConfig ({publishableKey, apiBase}); without it the
// module was not loaded through cstar-chat.js, which it says on the console.
func LoaderConfig() (sdk.Config, bool) {
	g := js.Global()
	cfg := g.Get("__cstarConfig")
	if !cfg.Truthy() {
		g.Get("console").Call("error", "CStarChat: load the SDK through cstar-chat.js")
		return sdk.Config{}, false
	}
	return sdk.Config{PublishableKey: cfg.Get("publishableKey").String(), APIBase: cfg.Get("apiBase").String()}, true
}

// Attach hands the core's methods to the loader through
// globalThis.__cstarAttach, which replays the calls the page queued before
// the module was ready (or sets globalThis.CStarChatCore without a loader).
// Every method is one Go function bound to its name.
func Attach(c *sdk.Client, chat *sdk.Chat) {
	g := js.Global()
	call := js.FuncOf(func(this js.Value, args []js.Value) any {
		name, a := args[0].String(), js.Undefined()
		if len(args) > 1 {
			a = args[1]
		}
		switch name {
		case "isIdentified":
			return c.IsIdentified()
		case "getCustomer":
			if cu := c.GetCustomer(); cu != nil {
				return ToJS(cu.Map())
			}
			return js.Null()
		case "on":
			if len(args) < 3 || args[2].Type() != js.TypeFunction {
				return js.Undefined()
			}
			h := args[2]
			off := c.On(a.String(), func(v any) {
				if e, ok := v.(*sdk.Error); ok {
					h.Invoke(ErrorValue(e))
					return
				}
				h.Invoke(ToJS(v))
			})
			return js.FuncOf(func(js.Value, []js.Value) any { off(); return nil })
		case "reload":
			// With the visitor the loader created, when storage is blocked.
			v, _ := ToGo(a).(map[string]any)
			c.Reload(v)
			return nil
		case "unreadCount":
			return chat.UnreadCount()
		case "markRead":
			chat.MarkRead()
			return nil
		case "setTyping":
			chat.SetTyping(a.Truthy())
			return nil
		case "connectionState":
			return chat.State()
		case "wake":
			chat.Wake()
			return nil
		}
		// sendMessage's text arrives trimmed by the loader (JavaScript's
		// trim knows Unicode white space, as the server's does).
		// Only sendMessage takes a string; anything else that is not an
		// object (signup("x")) becomes an empty one, whose missing fields
		// the server names, rather than a panic that would stop the module.
		if a.Type() != js.TypeObject && (name != "sendMessage" || a.Type() != js.TypeString) {
			a = g.Get("Object").New()
		}
		// sendMessage's second argument: the ids of the articles opened
		// before writing, which the loader passes as an array.
		var articles []any
		if len(args) > 2 {
			articles, _ = ToGo(args[2]).([]any)
		}
		return Promise(func() (any, error) { return async(c, chat, name, a, articles) })
	})
	obj := g.Get("Object").New()
	for _, m := range methods {
		if m.where != loaderOnly {
			obj.Set(m.name, call.Call("bind", nil, m.name))
		}
	}
	if attach := g.Get("__cstarAttach"); attach.Type() == js.TypeFunction {
		attach.Invoke(obj)
	} else {
		g.Set("CStarChatCore", obj)
	}
}

// async runs the method name that returns a Promise, with its argument a
// (an object, or the text of sendMessage).
func async(c *sdk.Client, chat *sdk.Chat, name string, a js.Value, articles []any) (any, error) {
	str := func(k string) string {
		if v := a.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	num := func(k string) int {
		if v := a.Get(k); v.Type() == js.TypeNumber {
			return v.Int()
		}
		return 0
	}
	// The fields of each endpoint, JS name then wire name: the server
	// refuses fields it does not know.
	var keys []string
	switch name {
	case "signup":
		keys = []string{"email", "email", "name", "name", "password", "password"}
	case "login":
		keys = []string{"email", "email", "password", "password"}
	case "identify":
		keys = []string{"token", "token", "userId", "user_id", "email", "email", "name", "name", "userHash", "user_hash"}
	}
	if keys != nil {
		fields := map[string]any{}
		for i := 0; i < len(keys); i += 2 {
			if s := str(keys[i]); s != "" {
				fields[keys[i+1]] = s
			}
		}
		cu, err := c.Auth("/"+name, fields)
		if err != nil {
			return nil, err
		}
		return cu.Map(), nil
	}
	switch name {
	case "logout":
		return nil, c.Logout()
	case "sendMessage":
		text := ""
		if a.Type() == js.TypeString {
			text = a.String()
		}
		m, err := chat.SendMessage(text, articles)
		if err != nil {
			return nil, err
		}
		return m.Map(), nil
	case "getMessages":
		ms, err := chat.GetMessages(sdk.HistoryQuery{TicketID: str("ticketId"), BeforeSeq: num("beforeSeq"), Limit: num("limit")})
		if err != nil {
			return nil, err
		}
		return sdk.MessageMaps(ms), nil
	}
	return nil, nil
}
