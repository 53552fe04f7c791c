package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
)

// Placeholder is replaced in the loader by the hashed module's file name.
const Placeholder = "__CSTAR_WASM__"

// The files a widget directory holds (make build writes them to bin/widget).
const (
	LoaderFile = "cstar-chat.js"
	GlueFile   = "wasm_exec.js"
	// UIFile is the widget's user interface, which the loader fetches after
	// the page's load event unless the site turns it off (data-ui="none").
	UIFile     = "cstar-widget.js"
	ModuleFile = "cstar.wasm"
	// TypesFile declares the CStarChat global for TypeScript; served when
	// the directory has it (make widget copies it).
	TypesFile = "cstar-chat.d.ts"
)

type file struct {
	contentType  string
	cacheControl string
	etag         string
	raw, br, gz  []byte
}

// Set is the widget's files, compressed once at start-up.
type Set struct {
	files map[string]*file
	// Module is the hashed name of the SDK module, e.g. "cstar.3f2a…wasm".
	Module string
}

// Load reads the widget files from dir and prepares them for serving.
func Load(dir fs.FS) (*Set, error) {
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(dir, name)
		if err != nil {
			return nil, fmt.Errorf("assets: %w", err)
		}
		return b, nil
	}
	wasm, err := read(ModuleFile)
	if err != nil {
		return nil, err
	}
	loader, err := read(LoaderFile)
	if err != nil {
		return nil, err
	}
	glue, err := read(GlueFile)
	if err != nil {
		return nil, err
	}
	ui, err := read(UIFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wasm)
	s := &Set{files: map[string]*file{}, Module: "cstar." + hex.EncodeToString(sum[:8]) + ".wasm"}
	loader = StripComments(bytes.ReplaceAll(loader, []byte(Placeholder), []byte(s.Module)))
	// The hashed module never changes under its name; the loader and glue
	// keep their names across releases, so caches revalidate them.
	s.add(dir, ModuleFile, s.Module, "application/wasm", "public, max-age=31536000, immutable", wasm)
	s.add(nil, LoaderFile, LoaderFile, "text/javascript; charset=utf-8", "public, max-age=300, must-revalidate", loader)
	s.add(dir, GlueFile, GlueFile, "text/javascript; charset=utf-8", "public, max-age=3600, must-revalidate", glue)
	s.add(dir, UIFile, UIFile, "text/javascript; charset=utf-8", "public, max-age=300, must-revalidate", ui)
	if types, err := fs.ReadFile(dir, TypesFile); err == nil {
		s.add(dir, TypesFile, TypesFile, "application/typescript; charset=utf-8", "public, max-age=300, must-revalidate", types)
	}
	return s, nil
}

// StripComments drops the lines of a script that are only a comment (// …,
// or a /* … */ block that starts a line) and blank lines: every page runs
// the loader, and its comments, which the source keeps for people, are a
// sixth of its bytes. Comments after code on a line stay.
func StripComments(js []byte) []byte {
	var out bytes.Buffer
	block := false
	for _, line := range bytes.Split(js, []byte("\n")) {
		t := bytes.TrimSpace(line)
		switch {
		case block:
			block = !bytes.Contains(t, []byte("*/"))
			continue
		case bytes.HasPrefix(t, []byte("/*")):
			block = !bytes.Contains(t, []byte("*/"))
			continue
		case len(t) == 0 || bytes.HasPrefix(t, []byte("//")):
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// add prepares one file. Variants precompressed by make build (<src>.br at
// brotli -q 11, <src>.gz) are used when present and current; otherwise the
// file is compressed here at a fast level, since -q 11 on the module takes
// seconds and start-up must not.
func (s *Set) add(dir fs.FS, src, name, ctype, cache string, raw []byte) {
	sum := sha256.Sum256(raw)
	f := &file{contentType: ctype, cacheControl: cache, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, raw: raw}
	f.br = precompressed(dir, src+".br", raw, func(b []byte) (io.Reader, error) { return brotli.NewReader(bytes.NewReader(b)), nil })
	if f.br == nil {
		f.br = Brotli(raw, 5)
	}
	f.gz = precompressed(dir, src+".gz", raw, func(b []byte) (io.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) })
	if f.gz == nil {
		var gz bytes.Buffer
		g, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		g.Write(raw)
		g.Close()
		f.gz = gz.Bytes()
	}
	s.files[name] = f
}

// precompressed returns the file name from dir when it decompresses to raw,
// so that a stale variant is never served.
func precompressed(dir fs.FS, name string, raw []byte, open func([]byte) (io.Reader, error)) []byte {
	if dir == nil {
		return nil
	}
	b, err := fs.ReadFile(dir, name)
	if err != nil {
		return nil
	}
	r, err := open(b)
	if err != nil {
		return nil
	}
	got, err := io.ReadAll(io.LimitReader(r, int64(len(raw))+1))
	if err != nil || !bytes.Equal(got, raw) {
		return nil
	}
	return b
}

// Brotli compresses raw at the given quality (0-11).
func Brotli(raw []byte, quality int) []byte {
	var br bytes.Buffer
	w := brotli.NewWriterLevel(&br, quality)
	w.Write(raw)
	w.Close()
	return br.Bytes()
}

// Size returns the raw and brotli sizes of a served file, for reports.
func (s *Set) Size(name string) (raw, br int) {
	f := s.files[name]
	if f == nil {
		return 0, 0
	}
	return len(f.raw), len(f.br)
}

// accepts reports whether an Accept-Encoding header admits coding (a q=0
// entry refuses it).
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), coding) {
			p := strings.ReplaceAll(params, " ", "")
			return p != "q=0" && p != "q=0.0" && p != "q=0.00" && p != "q=0.000"
		}
	}
	return false
}

// ServeHTTP serves /widget/<name>. Any origin may load the files: the
// embedding page is on the customer's site.
func (s *Set) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/widget/")
	f := s.files[name]
	h := w.Header()
	if f == nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"success":false,"error":"Not found","code":"not_found"}` + "\n"))
		return
	}
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", f.cacheControl)
	h.Set("Vary", "Accept-Encoding")
	body, etag := f.raw, f.etag
	switch ae := r.Header.Get("Accept-Encoding"); {
	case accepts(ae, "br"):
		body, etag = f.br, strings.TrimSuffix(f.etag, `"`)+`-br"`
		h.Set("Content-Encoding", "br")
	case accepts(ae, "gzip"):
		body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	for _, tag := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if t := strings.TrimSpace(tag); t == etag || t == "W/"+etag || t == "*" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}
