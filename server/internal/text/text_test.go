package text

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

func field(err error) string {
	e := errs.Public(err)
	return e.Field
}

func TestControls(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"hello", true}, {"two\nlines\tand\r\n", true}, {"ünïcödé 日本", true},
		{"nul\x00", false}, {"bell\x07", false}, {"del\x7f", false}, {"c1\u0085", false}, {"esc\x1b[31m", false},
		{string([]byte{0xff, 0xfe}), false},
	} {
		err := Controls("body", c.s)
		if (err == nil) != c.ok {
			t.Errorf("Controls(%q): got %v, want ok=%v", c.s, err, c.ok)
		}
		if err != nil && field(err) != "body" {
			t.Errorf("Controls(%q): field %q, want body", c.s, field(err))
		}
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"Ann Smith", true}, {"José Ñúñez", true}, {"李小龍", true}, {"👩‍💻 Dev", true},
		{"Ann\nSmith", false}, {"Ann\tSmith", false},
		{"admin\u202Egnp.exe", false}, {"An\u200Bn", false}, {"\u2066Ann\u2069", false}, {"Ann\uFEFF", false},
		{"soft\u00ADhyphen", false},
	} {
		if err := Line("name", c.s); (err == nil) != c.ok {
			t.Errorf("Line(%q): got %v, want ok=%v", c.s, err, c.ok)
		}
	}
}

func TestEmail(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{" Ann@Example.COM ", "ann@example.com", true},
		{"ａｎｎ@example.com", "ann@example.com", true}, // full-width letters fold (NFKC)
		{"müller@beispiel.de", "müller@beispiel.de", true},
		{"иван@пример.рф", "иван@пример.рф", true},
		{"pаypal@example.com", "", false}, // a Cyrillic а among Latin letters
		{"ann\u200B@example.com", "", false},
		{"ann@exa\u202Emple.com", "", false},
		{"ann\n@example.com", "", false},
		{"ann@exam\u200Dple.com", "", false},
	} {
		got, err := Email("email", c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("Email(%q): got %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, c := range []struct {
		body, field string
	}{
		{`{"email":"a\u0000b"}`, "email"},
		{`{"customer":{"name":"x\u0001"}}`, "name"},
		{`{"tags":["ok","b\u001f"]}`, "tags"},
		{`{"a":1,"b":[{"c":true},{"d":"\u0085"}],"e":"x"}`, "d"},
		{`["\u0000"]`, "body"},
		{`{"ke\u0000y":"v"}`, "body"},
		{`{"body":"line\nbreak\ttab"}`, ""},
		{`{"n":null,"t":true,"x":[1,2,{"y":"z"}],"last":"fine"}`, ""},
		{`{"broken":`, ""},
	} {
		err := JSON([]byte(c.body))
		if c.field == "" {
			if err != nil {
				t.Errorf("JSON(%s): got %v, want nil", c.body, err)
			}
			continue
		}
		if err == nil || field(err) != c.field || errs.CodeOf(err) != errs.Invalid {
			t.Errorf("JSON(%s): got %v (field %q), want an invalid error naming %q", c.body, err, field(err), c.field)
		}
	}
}

// FuzzJSON: never panics, and a document it passes holds no control
// character in any string.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"email":"a@b.c","name":"Ann"}`))
	f.Add([]byte(`{"x":["\u0000",{"y":"\u0007"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if JSON(data) != nil {
			return
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if strings.IndexFunc(x, control) >= 0 {
					t.Fatalf("JSON(%q) passed a control character in %q", data, x)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		var v any
		if err := jsonUnmarshal(data, &v); err == nil {
			walk(v)
		}
	})
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
