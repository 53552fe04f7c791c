package assets

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
)

func testSet(t *testing.T) *Set {
	t.Helper()
	s, err := Load(fstest.MapFS{
		ModuleFile: {Data: bytes.Repeat([]byte("\x00asm wasm module "), 500)},
		LoaderFile: {Data: []byte(`load("/widget/` + Placeholder + `");`)},
		GlueFile:   {Data: []byte(`class Go {}`)},
		UIFile:     {Data: []byte(`ui();`)},
		TypesFile:  {Data: []byte(`declare global { var CStarChat: unknown }`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(s *Set, path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestLoaderNamesHashedModule(t *testing.T) {
	s := testSet(t)
	w := get(s, "/widget/"+LoaderFile)
	if !strings.Contains(w.Body.String(), s.Module) || !strings.HasPrefix(s.Module, "cstar.") {
		t.Fatalf("loader %q does not name the module %q", w.Body, s.Module)
	}
	m := get(s, "/widget/"+s.Module)
	if m.Code != 200 || m.Header().Get("Content-Type") != "application/wasm" ||
		!strings.Contains(m.Header().Get("Cache-Control"), "immutable") || m.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("module: got %d %v", m.Code, m.Header())
	}
	if get(s, "/widget/cstar.wasm").Code != 404 {
		t.Fatal("the unhashed module name must not be served")
	}
}

// TestTypesServed: the TypeScript declarations are served beside the loader.
func TestTypesServed(t *testing.T) {
	w := get(testSet(t), "/widget/"+TypesFile)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "CStarChat") || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/typescript") {
		t.Fatalf("%s: got %d %q %v, want the declarations", TypesFile, w.Code, w.Body, w.Header())
	}
}

func TestEncodingsAndETags(t *testing.T) {
	s := testSet(t)
	path := "/widget/" + s.Module
	raw := get(s, path).Body.Bytes()
	for _, c := range []struct{ accept, enc string }{{"br, gzip", "br"}, {"gzip, deflate", "gzip"}, {"", ""}, {"br;q=0, gzip", "gzip"}} {
		w := get(s, path, "Accept-Encoding", c.accept)
		if got := w.Header().Get("Content-Encoding"); got != c.enc {
			t.Fatalf("Accept-Encoding %q: got encoding %q, want %q", c.accept, got, c.enc)
		}
		var body []byte
		switch c.enc {
		case "br":
			body, _ = io.ReadAll(brotli.NewReader(w.Body))
		case "gzip":
			zr, _ := gzip.NewReader(w.Body)
			body, _ = io.ReadAll(zr)
		default:
			body = w.Body.Bytes()
		}
		if !bytes.Equal(body, raw) {
			t.Fatalf("Accept-Encoding %q: decoded body differs from the original", c.accept)
		}
		etag := w.Header().Get("ETag")
		if nm := get(s, path, "Accept-Encoding", c.accept, "If-None-Match", etag); nm.Code != http.StatusNotModified {
			t.Fatalf("If-None-Match %s: got %d, want 304", etag, nm.Code)
		}
	}
}

// TestStripComments: the loader is served without the lines that are only
// comments; code, and a comment after code, stay as they are.
func TestStripComments(t *testing.T) {
	in := "/* head\n * more */\n(function () {\n  // a note\n  var u = \"https://x\"; // trailing\n\n  /* one */\n  f(); /* inline */\n})();\n"
	want := "(function () {\n  var u = \"https://x\"; // trailing\n  f(); /* inline */\n})();\n"
	if got := string(StripComments([]byte(in))); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestLoaderBudget keeps the loader, which every page runs before its load
// event, at most 4 KB with brotli as it is served (StripComments).
func TestLoaderBudget(t *testing.T) {
	raw, err := os.ReadFile("../../../js/" + LoaderFile)
	if err != nil {
		t.Fatal(err)
	}
	raw = StripComments(raw)
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 11)
	w.Write(raw)
	w.Close()
	t.Logf("%s: %d bytes as served, %d bytes brotli -q 11", LoaderFile, len(raw), buf.Len())
	if buf.Len() > 4<<10 {
		t.Errorf("%s is %d bytes with brotli, over its %d-byte budget", LoaderFile, buf.Len(), 4<<10)
	}
}
