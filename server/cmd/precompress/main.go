// Command precompress writes <file>.br (brotli -q 11) and <file>.gz (gzip -9)
// beside each file it is given, for the server to serve as they are:
//
//	go run ./server/cmd/precompress bin/widget/cstar.wasm bin/widget/wasm_exec.js
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"

	"github.com/cstar-chat/cstar/server/internal/assets"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		raw, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
		br := assets.Brotli(raw, 11)
		var gz bytes.Buffer
		g, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		g.Write(raw)
		g.Close()
		if err := os.WriteFile(name+".br", br, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(name+".gz", gz.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d bytes, %d brotli -q 11, %d gzip -9\n", name, len(raw), len(br), gz.Len())
	}
}
