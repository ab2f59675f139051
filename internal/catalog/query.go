package catalog

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/errs"
)

// The search query language is deliberately small: words. Every word must
// match (AND), each as a prefix ("back" finds backup), in any of the
// indexed texts; anything that is not a letter, digit or mark separates
// words, so quotes, operators and punctuation never reach the engine.
// A word the index does not know is widened to the nearest words it does
// (typo tolerance, see search.go).

// Limits of a search query, so a hostile one costs what a normal one does.
const (
	maxQueryLen  = 200 // bytes of q
	maxTerms     = 8   // words searched; more are ignored
	maxTermRunes = 40  // a longer word is cut
)

// Terms is a parsed search query: lower-case words, each at most
// maxTermRunes long, at most maxTerms of them, without repeats.
type Terms []string

// ParseQuery parses a search query into its words. It refuses (invalid,
// field "q") a query longer than 200 bytes or one that is not text; a
// query without words parses to no terms.
func ParseQuery(q string) (Terms, error) {
	var v errs.Validator
	if v.Text(q, "q") {
		v.Check(len(q) <= maxQueryLen, "q", "length", "q must be at most 200 characters")
	}
	if err := v.Err("the search is not valid"); err != nil {
		return nil, err
	}
	var out Terms
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))
	}) {
		if utf8.RuneCountInString(w) > maxTermRunes {
			w = string([]rune(w)[:maxTermRunes])
		}
		if !unicode.IsLetter(firstRune(w)) && !unicode.IsDigit(firstRune(w)) {
			continue // a word starting with a combining mark is no word
		}
		if seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == maxTerms {
			break
		}
	}
	return out, nil
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// String is the query as understood.
func (t Terms) String() string { return strings.Join(t, " ") }

// distance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours each
// count one), or max+1 once it must exceed max.
func distance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], max+1)
}

// tolerance is how many edits a word of n runes may be away from a word
// of the index: none below 4 runes, one up to 5, two from 6.
func tolerance(n int) int {
	switch {
	case n < 4:
		return 0
	case n <= 5:
		return 1
	}
	return 2
}

// near returns the prefixes of word that term may mean (the word's first
// len(term) runes, or the whole word, within the term's tolerance) and
// their distance; ok is false when neither is near.
func near(term, word string) (string, int, bool) {
	max := tolerance(utf8.RuneCountInString(term))
	if max == 0 {
		return "", 0, false
	}
	best, d := "", max+1
	rw := []rune(word)
	if n := utf8.RuneCountInString(term); len(rw) > n {
		if pd := distance(term, string(rw[:n]), max); pd < d {
			best, d = string(rw[:n]), pd
		}
	}
	if wd := distance(term, word, max); wd < d {
		best, d = word, wd
	}
	return best, d, d <= max
}
