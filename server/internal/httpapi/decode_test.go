package httpapi

import (
	"testing"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/text"
)

type fuzzBody struct {
	Subject *string   `json:"subject"`
	Count   int       `json:"count"`
	Tags    *[]string `json:"tags"`
}

func TestDecodeJSONErrors(t *testing.T) {
	cases := []struct {
		body, field string
	}{
		{`{"subject": 1}`, "subject"},
		{`{"count": "x"}`, "count"},
		{`{"nope": 1}`, "nope"},
		{`{"subject": "a"`, ""},
		{`{"subject": "a"} {}`, ""},
		{`[1]`, ""},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			var v fuzzBody
			err := DecodeJSON([]byte(c.body), &v)
			var e *errs.Error
			if !asErr(err, &e) || e.Code != errs.Invalid || e.Field != c.field {
				t.Fatalf("got %v, want invalid error naming %q", err, c.field)
			}
		})
	}
}

func asErr(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	*target = e
	return ok
}

// FuzzDecodeJSON checks that decoding never panics and that every failure
// is a client error, never an internal one.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"subject":"hi","count":2,"tags":["a"]}`))
	f.Add([]byte(`{"subject":`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"subject":"a\u0000b","tags":["\u001b[31m"]}`))
	f.Add([]byte(`{"subject":"\u202egnp.exe","count":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fuzzBody
		err := DecodeJSON(data, &v)
		if err != nil && errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("DecodeJSON(%q) = %v, want an invalid error", data, err)
		}
		// What it accepts holds no control character, whatever the field.
		if err == nil {
			var all []string
			if v.Subject != nil {
				all = append(all, *v.Subject)
			}
			if v.Tags != nil {
				all = append(all, *v.Tags...)
			}
			for _, s := range all {
				if text.Controls("x", s) != nil {
					t.Fatalf("DecodeJSON(%q) accepted a control character in %q", data, s)
				}
			}
		}
	})
}
