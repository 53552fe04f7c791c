//go:build js && wasm

// The floor of the ready-time benchmark: the smallest Go program that
// publishes a global to the page, built and served as the SDK's module is
// (TestReadyTime).
package main

import "syscall/js"

func main() {
	js.Global().Set("CStarFloor", js.ValueOf(map[string]any{"ready": true}))
	js.Global().Call("__floorPublished")
	select {}
}
