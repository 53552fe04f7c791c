// Package protocol is the wire contract between the cStar server and its
// clients (the WebAssembly SDK among them): JSON envelopes and shared shapes.
// It uses the standard library only, so that wasm/ can import it.
package protocol
