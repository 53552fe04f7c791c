//go:build js && wasm

package jsbridge

import (
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// LocalStorage returns an sdk.Storage on window.localStorage, or memory
// when localStorage is missing or blocked (private modes, sandboxed frames).
func LocalStorage() sdk.Storage {
	if ls, ok := probe(); ok {
		return &local{ls: ls}
	}
	return &sdk.MemoryStorage{}
}

func probe() (ls js.Value, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ls = js.Global().Get("localStorage")
	if !ls.Truthy() {
		return js.Value{}, false
	}
	ls.Call("setItem", "cstar.probe", "1")
	ls.Call("removeItem", "cstar.probe")
	return ls, true
}

type local struct {
	ls  js.Value
	mem sdk.MemoryStorage // fallback once a write fails (quota, revoked access)
}

func (l *local) Load(key string) (v map[string]any, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = l.mem.Load(key)
		}
	}()
	s := l.ls.Call("getItem", key)
	if s.IsNull() {
		return nil, false
	}
	parsed := js.Global().Get("JSON").Call("parse", s)
	m, isMap := ToGo(parsed).(map[string]any)
	return m, isMap
}

func (l *local) Save(key string, v map[string]any) {
	defer func() {
		if recover() != nil {
			l.mem.Save(key, v)
		}
	}()
	l.ls.Call("setItem", key, js.Global().Get("JSON").Call("stringify", ToJS(v)))
}

func (l *local) Delete(key string) {
	defer func() { recover() }()
	l.mem.Delete(key)
	l.ls.Call("removeItem", key)
}
