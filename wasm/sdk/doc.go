// Package sdk is the pure-Go core of the CStarChat browser SDK: sessions,
// the widget API client, errors and events. It never touches syscall/js and
// never links encoding/json or fmt (they would add hundreds of kilobytes to
// every visitor's download), nor strings (it links unicode's tables); the js
// bridge turns JSON into the maps this package works on, so it is
// unit-tested with plain go test.
//
// The small helpers called from many places (str, obj, num, kv, ticket,
// settle and the like) are marked //go:noinline because every copy the
// compiler would inline into a caller stays in the module: without the
// marks it weighs about 6 KB more with brotli (33 KB raw).
package sdk
