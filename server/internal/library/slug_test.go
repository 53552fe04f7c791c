package library

import (
	"strings"
	"testing"
)

func TestSlugify(t *testing.T) {
	long := strings.Repeat("word ", 40)
	tests := []struct {
		in, want string
	}{
		{"Getting started", "getting-started"},
		{"  How do I reset my password?  ", "how-do-i-reset-my-password"},
		{"Crème brûlée & Co.", "creme-brulee-co"},
		{"Straße Łódź Ærø", "strasse-lodz-aero"},
		{"Cafe\u0301 decomposed", "cafe-decomposed"},
		{"API v2 -- FAQ", "api-v2-faq"},
		{"Привет мир", "category"},
		{"日本語 guide", "guide"},
		{"!!!", "category"},
		{"", "category"},
		{"0190b6a4-8c4e-7b2a-9f3e-1234567890ab", "category-0190b6a4-8c4e-7b2a-9f3e-1234567890ab"},
	}
	for _, tt := range tests {
		if got := Slugify(tt.in, "category"); got != tt.want {
			t.Errorf("Slugify(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	got := Slugify(long, "x")
	if len(got) > maxBaseLen || !ValidSlug(got) || !strings.HasPrefix(got, "word-word") {
		t.Errorf("Slugify(long): got %q (%d bytes), want a valid slug of at most %d", got, len(got), maxBaseLen)
	}
}

func TestValidSlug(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"getting-started", true},
		{"v2", true},
		{strings.Repeat("a", 100), true},
		{strings.Repeat("a", 101), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"Upper", false},
		{"with space", false},
		{"under_score", false},
		{"café", false},
		{"0190b6a4-8c4e-7b2a-9f3e-1234567890ab", false},
	}
	for _, tt := range tests {
		if got := ValidSlug(tt.in); got != tt.want {
			t.Errorf("ValidSlug(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNextFreeSlug(t *testing.T) {
	tests := []struct {
		taken []string
		want  string
	}{
		{nil, "faq"},
		{[]string{"faq-2"}, "faq"},
		{[]string{"faq"}, "faq-2"},
		{[]string{"faq", "faq-2", "faq-3", "faq-billing"}, "faq-4"},
		{[]string{"faq", "faq-3"}, "faq-2"},
	}
	for _, tt := range tests {
		if got := nextFreeSlug("faq", tt.taken); got != tt.want {
			t.Errorf("nextFreeSlug(faq, %v): got %q, want %q", tt.taken, got, tt.want)
		}
	}
}
