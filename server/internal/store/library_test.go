package store

import "testing"

func TestFTSQuery(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"password", `"password"`},
		{"reset my password", `"reset" "password"`},
		{"How do I reset my password?", `"reset" "password"`},
		{`"password`, `"password"`},
		{`pass"word`, `"pass" "word"`},
		{"title:password", `"title" "password"`},
		{"password* NEAR(reset)", `"password" "NEAR" "reset"`},
		{"AND OR NOT", ""},
		{"password AND NOT reset OR x", `"password" "reset" "x"`},
		{"café 2fa", `"café" "2fa"`},
		{"日本語", `"日本語"`},
		{`"`, ""},
		{")(*^-", ""},
		{"the and of", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ftsQuery(tt.in); got != tt.want {
			t.Errorf("ftsQuery(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}
