package password

import (
	"errors"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// TestCheckRefusesWeakPasswords reproduces the hardening issue's item 8:
// these passwords passed the length and common-password checks before.
func TestCheckRefusesWeakPasswords(t *testing.T) {
	ctx := Context{Email: "jane.doe@example.com", Name: "Jane Doe", Team: "Acme Outdoor"}
	for _, tc := range []struct {
		name, pw, msg string
	}{
		{"one character", "aaaaaaaaaa", msgPredictable},
		{"ten spaces", "          ", msgPredictable},
		{"alphabet run", "abcdefghij", msgPredictable},
		{"alphabet backwards", "jihgfedcba", msgPredictable},
		{"digits run", "0123456789", msgPredictable},
		{"keyboard row", "uiop[]asdf", msgPredictable},
		{"repeated word", "passwordpassword", msgRepeated},
		{"repeated pattern", "abcabcabcabc", msgRepeated},
		{"multi-byte repeat", "ééééééééé1", msgPredictable},
		{"common with digits", "sunshine1234", msgCommon},
		{"common", "1234567890", msgCommon},
		{"email local part", "janedoe2024!", msgContext},
		{"email parts", "jane.doe.1985", msgContext},
		{"name", "JaneDoe!1987", msgContext},
		{"team name", "acmeoutdoor2024", msgContext},
		{"team word and common word", "acme password", msgContext},
		{"short", "123456789", msgLength},
		{"long", strings.Repeat("x", MaxBytes+1), msgLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.pw, ctx)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "password" || e.Message != tc.msg {
				t.Fatalf("got %v, want invalid on password: %q", err, tc.msg)
			}
			if strings.Contains(e.Message, tc.pw) {
				t.Errorf("message %q repeats the password", e.Message)
			}
		})
	}
}

func TestCheckAcceptsStrongPasswords(t *testing.T) {
	ctx := Context{Email: "jane.doe@example.com", Name: "Jane Doe", Team: "Acme Outdoor"}
	for _, pw := range []string{
		"correct horse battery",
		"long enough pw",
		"purple-otter-battery-42",
		"Tr0ub4dor&3x",
		"x7Kp2mQ9vL",
		"éàüöçñøåæ1",
		"acme-rocket-blue-42",      // a team word among others
		"jane's kayak on the lake", // a name word among others
		"correcthorsebatterycorrecthorsebattery",
	} {
		if err := Check(pw, ctx); err != nil {
			t.Errorf("Check(%q): got %v, want nil", pw, err)
		}
	}
	// No context: nothing to lean on.
	if err := Check("jane doe's garden", Context{}); err != nil {
		t.Errorf("without context: got %v, want nil", err)
	}
}
