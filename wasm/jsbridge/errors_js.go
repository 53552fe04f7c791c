//go:build js && wasm

package jsbridge

import (
	"syscall/js"

	"github.com/cstar-chat/cstar/wasm/sdk"
)

// ErrorValue turns err into a JS Error carrying status and code.
func ErrorValue(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	status, code := 0, "internal"
	if se, ok := err.(*sdk.Error); ok {
		status, code = se.Status, se.Code
	}
	e.Set("status", status)
	e.Set("code", code)
	return e
}
