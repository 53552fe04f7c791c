// Package jsbridge is the thin syscall/js edge of the CStarChat SDK, and the
// only code of the module that imports syscall/js: the loader's
// configuration and the core's methods handed to it, fetch, localStorage,
// JSON values, Promises, timers, and the chat's websocket and tab sharing,
// whose script glue the loader defines (__cstarSocket, __cstarTabs,
// __cstarID) because script weighs far less than Go in the module.
// Everything else lives in wasm/sdk.
package jsbridge
