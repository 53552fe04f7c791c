// Package jsbridge is the thin syscall/js edge of the CStarChat SDK, and the
// only code of the module that imports syscall/js: the loader's
// configuration and the core's methods handed to it, fetch, localStorage,
// JSON values, Promises, timers, and the chat's websocket and tab sharing.
// Everything else lives in wasm/sdk.
//
// Go weighs far more in the module than script does, so the glue to
// WebSocket, BroadcastChannel, Web Locks and crypto.randomUUID is script
// that the loader defines (__cstarSocket, __cstarTabs, __cstarID), and the
// callbacks of a kind share one js.FuncOf, bound to the name of each method
// or step (Attach, Fetch.Do): a function each would weigh kilobytes more.
package jsbridge
