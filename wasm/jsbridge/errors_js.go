//go:build js && wasm

package jsbridge

import (
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// ErrorValue turns err into a JS Error carrying status, code and field.
func ErrorValue(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	status, code, field := 0, "internal", ""
	if se, ok := err.(*sdk.Error); ok {
		status, code, field = se.Status, se.Code, se.Field
	}
	e.Set("status", status)
	e.Set("code", code)
	if field != "" {
		e.Set("field", field)
	}
	return e
}
