// Command wasm is the CStarChat browser SDK compiled to WebAssembly: it
// builds the core (wasm/sdk) on the browser's fetch, storage, clock and
// websocket (wasm/jsbridge) and hands its methods to the loader,
// js/cstar-chat.js.
package main
