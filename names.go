package botgate

import "unicode"

// nameShape is the shape of a name: a first character, then at most max
// more, each tested by its function. It replaces regular expressions of
// the form ^[first][rest]{0,max}$, whose compiled programs cost ~30 ms
// and 10 MB of heap at every start of the binary; it accepts and refuses
// exactly what they did (names_test.go checks it against them).
type nameShape struct {
	first, rest func(r rune) bool
	max         int
}

// match reports whether s has the shape. Like the regular expressions it
// replaces, it counts characters, not bytes, and an invalid UTF-8 byte is
// the character U+FFFD, which no shape accepts.
func (n nameShape) match(s string) bool {
	i := -1
	for _, r := range s {
		i++
		if i > n.max {
			return false
		}
		if i == 0 && !n.first(r) || i > 0 && !n.rest(r) {
			return false
		}
	}
	return i >= 0
}

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

func isLowerAlnum(r rune) bool { return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' }

// slugFirst and slugRest are [a-zA-Z0-9_] and [a-zA-Z0-9_.-].
func slugFirst(r rune) bool { return isAlnum(r) || r == '_' }
func slugRest(r rune) bool  { return isAlnum(r) || r == '_' || r == '.' || r == '-' }

// Name shapes of usernames, group and project paths and display names,
// vault secret names and automation names.
var (
	usernameShape   = nameShape{slugFirst, slugRest, 254}
	pathShape       = nameShape{slugFirst, slugRest, 254}
	secretNameShape = nameShape{slugFirst, slugRest, 127}
	// displayNameShape is [\p{L}\p{N}_][\p{L}\p{N}_. ()+-]{0,254}.
	displayNameShape = nameShape{
		func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' },
		func(r rune) bool {
			return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '.' || r == ' ' ||
				r == '(' || r == ')' || r == '+' || r == '-'
		}, 254}
	// automationNameShape is [a-z0-9][a-z0-9._-]{0,62}.
	automationNameShape = nameShape{isLowerAlnum,
		func(r rune) bool { return isLowerAlnum(r) || r == '.' || r == '_' || r == '-' }, 62}
)
