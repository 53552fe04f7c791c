// Command wasm is the CStarChat browser SDK, compiled to WebAssembly. It is a
// placeholder until the identity/SDK issue lands.
package main
