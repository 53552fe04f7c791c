//go:build js && wasm

package jsbridge

import (
	"errors"
	"syscall/js"
	"testing"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// refuse is a transport without a network.
type refuse struct{}

func (refuse) Do(sdk.Request) (sdk.Response, error) { return sdk.Response{}, errors.New("refused") }

// TestAttachBindsTheModuleMethods holds the module to methods: Attach hands
// the loader every method of the module and no other, and exactly the
// asynchronous ones return a Promise.
func TestAttachBindsTheModuleMethods(t *testing.T) {
	g := js.Global()
	prev := g.Get("__cstarAttach")
	defer g.Set("__cstarAttach", prev)
	var core js.Value
	attach := js.FuncOf(func(_ js.Value, args []js.Value) any { core = args[0]; return nil })
	defer attach.Release()
	g.Set("__cstarAttach", attach)
	noop := js.FuncOf(func(js.Value, []js.Value) any { return nil })
	defer noop.Release()

	c := sdk.New(sdk.Config{PublishableKey: "pk_test_abcdefghijklmnopqrstuvwxyz"}, refuse{}, &sdk.MemoryStorage{})
	Attach(c, sdk.NewChat(c, sdk.ChatEnv{Clock: Clock{}, Random: Random}))
	if core.Type() != js.TypeObject {
		t.Fatalf("__cstarAttach got %v, want the core's methods", core)
	}
	keys := g.Get("Object").Call("keys", core)
	var bound []string
	for i := 0; i < keys.Length(); i++ {
		bound = append(bound, keys.Index(i).String())
	}
	sameNames(t, "methods Attach binds", bound, names(func(m method) bool { return m.where != loaderOnly }))

	var promises []any
	for _, m := range methods {
		if m.where == loaderOnly {
			continue
		}
		var arg any = map[string]any{} // as the page passes to signup, getMessages and the others
		if m.name == "sendMessage" {
			arg = ""
		}
		v := core.Call(m.name, arg, noop)
		promise := v.InstanceOf(g.Get("Promise"))
		if promise {
			promises = append(promises, v)
		}
		if promise != m.async {
			t.Errorf("%s returns a Promise: got %v, want %v", m.name, promise, m.async)
		}
	}
	// Most reject, without a network: wait for them before noop goes.
	settled := make(chan bool, 1)
	done := js.FuncOf(func(js.Value, []js.Value) any { settled <- true; return nil })
	defer done.Release()
	g.Get("Promise").Call("allSettled", promises).Call("then", done)
	wait(t, settled, "the promises")
}

// TestAttachSurvivesAStringArgument: a page that passes a string where an
// object is wanted (signup("x")) gets a settled Promise; before, the
// module panicked and every later call hung.
func TestAttachSurvivesAStringArgument(t *testing.T) {
	g := js.Global()
	prev := g.Get("__cstarAttach")
	defer g.Set("__cstarAttach", prev)
	var core js.Value
	attach := js.FuncOf(func(_ js.Value, args []js.Value) any { core = args[0]; return nil })
	defer attach.Release()
	g.Set("__cstarAttach", attach)
	c := sdk.New(sdk.Config{PublishableKey: "pk_test_abcdefghijklmnopqrstuvwxyz"}, refuse{}, &sdk.MemoryStorage{})
	Attach(c, sdk.NewChat(c, sdk.ChatEnv{Clock: Clock{}, Random: Random}))
	var promises []any
	for _, m := range methods {
		if m.where == loaderOnly || !m.async || m.name == "sendMessage" {
			continue
		}
		promises = append(promises, core.Call(m.name, "x"))
	}
	settled := make(chan bool, 1)
	done := js.FuncOf(func(js.Value, []js.Value) any { settled <- true; return nil })
	defer done.Release()
	g.Get("Promise").Call("allSettled", promises).Call("then", done)
	wait(t, settled, "the promises of calls with a string")
	if v := core.Call("isIdentified"); v.Type() != js.TypeBoolean {
		t.Fatalf("after the string calls isIdentified() gave %v: the module stopped", v)
	}
}
