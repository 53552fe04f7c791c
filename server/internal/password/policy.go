package password

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// The length policy: counted in characters at the low end, in bytes at the
// high end (which bounds the work of hashing).
const (
	MinChars = 10
	MaxBytes = 1024
)

// minUnpredictable is how many characters must remain once repeats,
// sequences and keyboard runs are discounted ("aaaa", "1234", "qwer").
const minUnpredictable = 6

// minContextWord is the shortest context word that counts: shorter parts of
// an email or a name ("jo", "eu") are too common to refuse.
const minContextWord = 3

// Context is what a password must not be built from (NIST SP 800-63B
// 5.1.1.2: "context-specific words"): the account's email and name, and the
// name of the team whose customers sign up.
type Context struct {
	Email, Name, Team string
}

// The messages say what to do; they never repeat the password.
const (
	msgLength      = "password must be at least 10 characters and at most 1024 bytes"
	msgCommon      = "password is too common: choose one that is harder to guess"
	msgRepeated    = "password repeats a short pattern: use a longer phrase instead, for example a few unrelated words"
	msgPredictable = `password is too predictable: avoid repeated characters and sequences such as "aaaa", "1234" or "qwerty"; a few unrelated words make a strong password`
	msgContext     = "password is too close to your email, your name or the team's name: choose something unrelated to them"
)

// Check applies the policy for a new password: its length, the list of
// common passwords, repetitive or sequential characters and context words
// (NIST SP 800-63B 5.1.1.2). It returns an errs "invalid" error on the
// field "password" with a message for the person choosing it.
func Check(pw string, c Context) error {
	if utf8.RuneCountInString(pw) < MinChars || len(pw) > MaxBytes {
		return errs.Invalidf("password", msgLength)
	}
	low := strings.ToLower(pw)
	if Common(low) || Common(core(low)) {
		return errs.Invalidf("password", msgCommon)
	}
	if unpredictable(low) < minUnpredictable {
		return errs.Invalidf("password", msgPredictable)
	}
	if unit, ok := repeatUnit(low); ok && (utf8.RuneCountInString(unit) < MinChars || Common(unit)) {
		return errs.Invalidf("password", msgRepeated)
	}
	rest := low
	for _, w := range contextWords(c) {
		rest = strings.ReplaceAll(rest, w, "")
	}
	if rest != low && (unpredictable(rest) < minUnpredictable || Common(core(rest))) {
		return errs.Invalidf("password", msgContext)
	}
	return nil
}

// core is s without the digits, punctuation and spaces around it: the
// "password" in "password123!".
func core(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
}

// repeatUnit reports whether s is one shorter string repeated (the last
// copy may be cut short), and returns the shortest such string.
func repeatUnit(s string) (string, bool) {
	r := []rune(s)
	for p := 1; p <= len(r)/2; p++ {
		ok := true
		for i := p; i < len(r); i++ {
			if r[i] != r[i-p] {
				ok = false
				break
			}
		}
		if ok {
			return string(r[:p]), true
		}
	}
	return "", false
}

// sequences are the runs a guesser tries: the alphabet, the digits and the
// rows of a QWERTY keyboard, read either way.
var sequences = []string{
	"abcdefghijklmnopqrstuvwxyz",
	"1234567890-=",
	"qwertyuiop[]",
	"asdfghjkl;'",
	"zxcvbnm,./",
	"!@#$%^&*()_+",
}

// step returns +1 when b follows a in one of the sequences, -1 when it
// comes before it, and 0 otherwise.
func step(a, b rune) int {
	for _, s := range sequences {
		ia, ib := strings.IndexRune(s, a), strings.IndexRune(s, b)
		if ia < 0 || ib < 0 {
			continue
		}
		switch ib - ia {
		case 1:
			return 1
		case -1:
			return -1
		}
	}
	if a == '0' && b == '1' || a == '1' && b == '0' {
		return int(b - a) // "0123…" and "…3210" as well as the keyboard's "…890"
	}
	return 0
}

// unpredictable counts the characters of s that a guesser could not
// foresee from the ones before: a repeat of the previous character, and
// the third and later characters of a run along a sequence, count nothing.
func unpredictable(s string) int {
	r := []rune(s)
	if len(r) == 0 {
		return 0
	}
	n, prev := 1, 0
	for i := 1; i < len(r); i++ {
		if r[i] == r[i-1] {
			prev = 0
			continue
		}
		d := step(r[i-1], r[i])
		if d != 0 && d == prev {
			continue
		}
		n++
		prev = d
	}
	return n
}

// contextWords returns the words of c that a password must not lean on,
// longest first so that "janedoe" goes before "jane": the email's local
// part whole and in its parts, the labels of its domain but the last, and
// the words of the name and the team's name, each also run together.
func contextWords(c Context) []string {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		if utf8.RuneCountInString(w) >= minContextWord && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	words := func(s string) {
		parts := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
		for _, p := range parts {
			add(p)
		}
		add(strings.Join(parts, ""))
	}
	local, domain, _ := strings.Cut(c.Email, "@")
	add(strings.ToLower(local))
	words(local)
	if labels := strings.Split(strings.ToLower(domain), "."); len(labels) > 1 {
		for _, l := range labels[:len(labels)-1] {
			add(l)
		}
	}
	words(c.Name)
	words(c.Team)
	// Longest first, so that a longer word is removed before its parts.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && utf8.RuneCountInString(out[j]) > utf8.RuneCountInString(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
