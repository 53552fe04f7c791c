//go:build js && wasm

package jsbridge

import "syscall/js"

// ToGo converts a JSON-like JS value (as JSON.parse returns) to Go maps,
// slices, strings, float64s, bools and nil.
func ToGo(v js.Value) any {
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeNumber:
		return v.Float()
	case js.TypeBoolean:
		return v.Bool()
	case js.TypeObject:
		if js.Global().Get("Array").Call("isArray", v).Bool() {
			out := make([]any, v.Length())
			for i := range out {
				out[i] = ToGo(v.Index(i))
			}
			return out
		}
		keys := js.Global().Get("Object").Call("keys", v)
		out := make(map[string]any, keys.Length())
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			out[k] = ToGo(v.Get(k))
		}
		return out
	}
	return nil
}

// ToJS converts Go maps, slices and scalars to JS values.
func ToJS(v any) js.Value {
	switch x := v.(type) {
	case nil:
		return js.Null()
	case map[string]any:
		o := js.Global().Get("Object").New()
		for k, e := range x {
			o.Set(k, ToJS(e))
		}
		return o
	case []any:
		a := js.Global().Get("Array").New(len(x))
		for i, e := range x {
			a.SetIndex(i, ToJS(e))
		}
		return a
	case string, float64, bool, int:
		return js.ValueOf(x)
	}
	return js.Undefined()
}

// Promise runs f in a goroutine and returns a JS Promise of its result.
func Promise(f func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(this js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		executor.Release()
		go func() {
			v, err := f()
			if err != nil {
				reject.Invoke(ErrorValue(err))
				return
			}
			resolve.Invoke(ToJS(v))
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}
