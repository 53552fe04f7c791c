//go:build js && wasm

package main

import (
	"github.com/cstar-chat/cstar/wasm/jsbridge"
	"github.com/cstar-chat/cstar/wasm/sdk"
)

// main builds the SDK core on the browser's fetch, storage, clock and
// websocket, and hands its methods to the loader.
func main() {
	conf, ok := jsbridge.LoaderConfig()
	if !ok {
		return
	}
	c := sdk.New(conf, jsbridge.Fetch{}, jsbridge.LocalStorage())
	chat := sdk.NewChat(c, sdk.ChatEnv{Dial: jsbridge.Dial, Clock: jsbridge.Clock{}, Random: jsbridge.Random,
		NewID: jsbridge.NewID, Tabs: jsbridge.Tabs(conf.ChannelName())})
	jsbridge.Attach(c, chat)
	// The chat starts once the page's handlers are attached, so they see the
	// first connection event; the calls the loader replayed run in
	// goroutines, after this. The loader calls wake when the browser is
	// back online or the page becomes visible.
	chat.Start()
	select {} // keep the module alive for callbacks
}
