package jsbridge

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// names are the methods of methods that pass keep, sorted.
func names(keep func(method) bool) []string {
	var out []string
	for _, m := range methods {
		if keep(m) {
			out = append(out, m.name)
		}
	}
	slices.Sort(out)
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// between is the text of s from the line start to the next line end, both
// lines included; the test fails when either is missing.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return s[i : i+j+len(end)]
}

func sameNames(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v (the list is methods in methods.go)", what, got, want)
	}
}

// TestLoaderMethods holds js/cstar-chat.js to methods: the API object
// defines the loader's own methods and wraps the module's synchronous ones,
// it queues the asynchronous ones until the module runs, and it calls the
// module by no other names.
func TestLoaderMethods(t *testing.T) {
	src := read(t, "../../js/cstar-chat.js")
	api := between(t, src, "\n  var api = {", "\n  };")
	var defined []string
	for _, m := range regexp.MustCompile(`(?m)^    (\w+): function`).FindAllStringSubmatch(api, -1) {
		defined = append(defined, m[1])
	}
	sameNames(t, "methods the loader's api object defines", defined,
		names(func(m method) bool { return m.where == loaderOnly || m.where == public && !m.async }))

	q := regexp.MustCompile(`\[([^\]]*)\]\.forEach\(function \(name\) \{\s*api\[name\] = `).FindStringSubmatch(src)
	if q == nil {
		t.Fatal(`no ["…"].forEach(function (name) { api[name] = … that queues the asynchronous methods`)
	}
	sameNames(t, "methods the loader queues until the module runs", regexp.MustCompile(`"(\w+)"`).FindAllString(q[1], -1),
		quoted(names(func(m method) bool { return m.where == public && m.async })))

	// The module as the loader sees it: core once attached, c in
	// __cstarAttach.
	attach := between(t, src, "window.__cstarAttach = function (c) {", "\n  };")
	calls := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bcore\.(\w+)\(`).FindAllStringSubmatch(src, -1) {
		calls[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\bc\.(\w+)\(`).FindAllStringSubmatch(attach, -1) {
		calls[m[1]] = true
	}
	var called []string
	for name := range calls {
		called = append(called, name)
	}
	sameNames(t, "module methods the loader calls by name (core.x( or c.x()", called,
		names(func(m method) bool { return m.where == internal || m.where == public && !m.async }))
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = `"` + n + `"`
	}
	slices.Sort(out)
	return out
}

// TestDeclaredMethods holds js/cstar-chat.d.ts to methods: CStarChatAPI
// declares the public methods, and those that return a Promise are the
// asynchronous ones.
func TestDeclaredMethods(t *testing.T) {
	decl := between(t, read(t, "../../js/cstar-chat.d.ts"), "export interface CStarChatAPI {", "\n}")
	var declared, promised []string
	for _, line := range strings.Split(decl, "\n") {
		m := regexp.MustCompile(`^  (\w+)(<[^(]*>)?\(`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		declared = append(declared, m[1])
		if strings.HasPrefix(returnType(t, line[len(m[0])-1:]), "Promise<") {
			promised = append(promised, m[1])
		}
	}
	sameNames(t, "methods CStarChatAPI declares", declared, names(func(m method) bool { return m.where != internal }))
	sameNames(t, "methods CStarChatAPI declares to return a Promise", promised,
		names(func(m method) bool { return m.where != internal && m.async }))
}

// returnType is the type after the parameter list that sig starts with:
// "(a: () => void): Promise<void>;" gives "Promise<void>".
func returnType(t *testing.T, sig string) string {
	depth := 0
	for i, r := range sig {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				rest := strings.TrimSpace(sig[i+1:])
				if !strings.HasPrefix(rest, ":") {
					t.Fatalf("no return type in %q", sig)
				}
				return strings.TrimSuffix(strings.TrimSpace(rest[1:]), ";")
			}
		}
	}
	t.Fatalf("unbalanced parentheses in %q: a declaration over several lines?", sig)
	return ""
}
