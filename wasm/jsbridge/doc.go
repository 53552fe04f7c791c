// Package jsbridge is the thin syscall/js edge of the CStarChat SDK: fetch,
// localStorage, JSON values and Promises. Everything else lives in wasm/sdk.
package jsbridge
