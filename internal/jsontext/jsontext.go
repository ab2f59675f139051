// Package jsontext checks JSON text for what encoding/json accepts but
// silently changes: escapes of lone UTF-16 surrogates. encoding/json
// decodes "\ud800" and "\udbff" alike to U+FFFD, so two different inputs
// would read the same (two event IDs, two names); Steward refuses them
// instead (issue 15, finding 15). Invalid UTF-8 in the raw text is the
// caller's to refuse with utf8.Valid.
package jsontext

// LoneSurrogate returns the offset of the first \u escape in JSON text
// that is half of a UTF-16 surrogate pair without its other half, or -1.
// It reads the text once, in linear time; an escaped backslash (\\u…) is
// not an escape of u.
func LoneSurrogate(raw []byte) int {
	escape := func(i int) (rune, bool) { // the \uXXXX escape at raw[i:], if any
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range raw[i+2 : i+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := escape(i)
		switch {
		case !ok:
			i++ // another escape, such as \\: skip the character it escapes
		case 0xD800 <= r && r <= 0xDBFF:
			if low, ok := escape(i + 6); !ok || low < 0xDC00 || low > 0xDFFF {
				return i
			}
			i += 11
		case 0xDC00 <= r && r <= 0xDFFF:
			return i
		default:
			i += 5
		}
	}
	return -1
}
