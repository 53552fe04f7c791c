package text

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// control reports a character no text field may hold: NUL and the other C0
// controls but tab, newline and carriage return, DEL, and the C1 controls.
// PostgreSQL refuses NUL outright (a 500 before this rule); the others break
// display and logs.
func control(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// Controls is the error for a field holding a control character, or nil.
func Controls(field, s string) error {
	if !utf8.ValidString(s) {
		return errs.Invalidf(field, "%s must be valid UTF-8 text", field)
	}
	if strings.IndexFunc(s, control) >= 0 {
		return errs.Invalidf(field, "%s must not contain control characters", field)
	}
	return nil
}

// invisible reports characters that change how text reads without showing:
// bidirectional overrides and isolates (U+202E turns "gnp.exe" around) and
// zero-width ones, which make two different strings look alike.
func invisible(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi controls
	case r >= 0x200b && r <= 0x200c, r == 0x2060, r == 0xfeff, r == 0x00ad, r == 0x180e:
		return true // zero-width and soft hyphen
	}
	// Other format characters, but the zero-width joiner that emoji such as
	// 👩‍💻 are made with.
	return unicode.Is(unicode.Cf, r) && r != 0x200d
}

// Line checks a one-line value shown to people (a name, a subject): no
// control characters, no line breaks or tabs, nothing invisible.
func Line(field, s string) error {
	if err := Controls(field, s); err != nil {
		return err
	}
	if strings.ContainsAny(s, "\t\n\r") {
		return errs.Invalidf(field, "%s must be on one line", field)
	}
	if strings.IndexFunc(s, invisible) >= 0 {
		return errs.Invalidf(field, "%s must not contain invisible or text-direction characters", field)
	}
	return nil
}

// Email normalises an email address for storage and uniqueness (NFKC, then
// lower case, trimmed) and refuses one that could pose as another: with
// invisible characters, controls, or letters of more than one script (a
// Cyrillic "а" in an otherwise Latin address).
func Email(field, s string) (string, error) {
	if err := Line(field, s); err != nil {
		return "", err
	}
	e := NormalizeEmail(s)
	if strings.ContainsRune(e, 0x200d) {
		return "", errs.Invalidf(field, "%s must not contain invisible or text-direction characters", field)
	}
	if mixedScripts(e) {
		return "", errs.Invalidf(field, "%s must not mix letters of different alphabets", field)
	}
	return e, nil
}

// NormalizeEmail is the form emails are stored, compared and looked up in:
// trimmed, NFKC (so a full-width "ａ" is "a"), lower case.
func NormalizeEmail(s string) string { return strings.ToLower(norm.NFKC.String(strings.TrimSpace(s))) }

// scripts are those an address's letters are told apart by; letters of
// other scripts are allowed but count as their own.
var scripts = []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Armenian,
	unicode.Hebrew, unicode.Arabic, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
	unicode.Thai, unicode.Devanagari, unicode.Georgian}

func mixedScripts(s string) bool {
	seen := -1
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		which := len(scripts) // another script
		for i, t := range scripts {
			if unicode.Is(t, r) {
				which = i
				break
			}
		}
		// Japanese mixes Han and kana by nature.
		if which == 6 || which == 7 || which == 8 {
			which = 6
		}
		if seen >= 0 && which != seen {
			return true
		}
		seen = which
	}
	return false
}

// JSON checks every string (and key) of a JSON document for control
// characters and names the field of the first that has one: one rule at the
// edge for every body and frame, whatever the feature does with it.
func JSON(data []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	// keys tracks, per open object, the last key read, and for each level
	// whether the next string is a key.
	type level struct {
		object  bool
		key     string
		wantKey bool
	}
	var stack []level
	field := func() string {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].object && stack[i].key != "" {
				return stack[i].key
			}
		}
		return "body"
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // malformed JSON is the decoder's to report
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, level{object: true, wantKey: true})
				continue
			case '[':
				stack = append(stack, level{})
				continue
			default:
				stack = stack[:top]
				top--
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].wantKey {
				if err := Controls(v, v); err != nil {
					return errs.Invalidf("body", "field names must not contain control characters")
				}
				stack[top].key, stack[top].wantKey = v, false
				continue
			}
			if err := Controls(field(), v); err != nil {
				return err
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true
		}
	}
}
