// Package sdk is the pure-Go core of the CStarChat browser SDK: sessions,
// the widget API client, errors and events. It never touches syscall/js and
// never links encoding/json or fmt (they would add hundreds of kilobytes to
// every visitor's download), nor strings (it links unicode's tables); the js
// bridge turns JSON into the maps this package works on, so it is
// unit-tested with plain go test.
package sdk
