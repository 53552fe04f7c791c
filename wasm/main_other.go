//go:build !(js && wasm)

package main

// The SDK only runs in a browser; natively this package holds its build tests.
func main() {}
