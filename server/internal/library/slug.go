package library

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// MaxSlugLen is the longest slug.
const MaxSlugLen = 100

// maxBaseLen leaves room for a -N suffix after a generated slug.
const maxBaseLen = 80

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// ValidSlug reports whether s can name a category or article in URLs:
// 1-100 lowercase ASCII letters, digits and dashes, neither starting nor
// ending with a dash. A slug never looks like a UUID, so that a path segment
// that holds either is never ambiguous.
func ValidSlug(s string) bool {
	if len(s) > MaxSlugLen || !slugRE.MatchString(s) {
		return false
	}
	_, err := uuid.Parse(s)
	return err != nil
}

func checkSlug(s string) error {
	if !ValidSlug(s) {
		return errs.Invalidf("slug", "slug must be 1-%d lowercase letters, digits or dashes, not starting or ending with a dash", MaxSlugLen)
	}
	return nil
}

// translit spells common accented Latin letters in ASCII.
var translit = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'æ': "ae", 'ç': "c", 'ć': "c", 'č': "c", 'ĉ': "c", 'ċ': "c", 'ď': "d", 'đ': "d", 'ð': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ğ': "g", 'ĝ': "g", 'ģ': "g", 'ĥ': "h", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'į': "i", 'ı': "i",
	'ĵ': "j", 'ķ': "k", 'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ł': "l", 'ñ': "n", 'ń': "n", 'ņ': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ő': "o", 'œ': "oe",
	'ŕ': "r", 'ř': "r", 'ś': "s", 'ŝ': "s", 'ş': "s", 'š': "s", 'ș': "s", 'ß': "ss",
	'ţ': "t", 'ť': "t", 'ț': "t", 'þ': "th", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'ŵ': "w", 'ý': "y", 'ÿ': "y", 'ŷ': "y", 'ź': "z", 'ż': "z", 'ž': "z",
}

// Slugify makes a slug out of a name or title: lowercase, accents spelled in
// ASCII, other characters collapsed to single dashes, at most 80 characters
// so that a -N suffix still fits. It returns fallback when nothing usable
// is left.
func Slugify(s, fallback string) string {
	var b strings.Builder
	dash := false
	put := func(t string) {
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteString(t)
	}
	for _, r := range s {
		r = unicode.ToLower(r)
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			put(string(r))
		case translit[r] != "":
			put(translit[r])
		case unicode.Is(unicode.Mn, r):
			// A combining accent belongs to the letter before it.
		default:
			dash = true
		}
		if b.Len() >= maxBaseLen {
			break
		}
	}
	out := b.String()
	if len(out) > maxBaseLen {
		out = out[:maxBaseLen]
		if i := strings.LastIndexByte(out, '-'); i > maxBaseLen/2 {
			out = out[:i]
		}
	}
	out = strings.Trim(out, "-")
	if out == "" {
		return fallback
	}
	if !ValidSlug(out) {
		// Only a title shaped like a UUID gets here.
		return fallback + "-" + out
	}
	return out
}

// nextFreeSlug returns base, or base-N with the smallest N ≥ 2, whichever is
// not among taken.
func nextFreeSlug(base string, taken []string) string {
	used := make(map[string]bool, len(taken))
	for _, s := range taken {
		used[s] = true
	}
	if !used[base] {
		return base
	}
	for n := 2; ; n++ {
		s := base + "-" + strconv.Itoa(n)
		if !used[s] {
			return s
		}
	}
}
