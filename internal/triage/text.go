package triage

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// Bounds on the text the model reads, so that any input costs bounded time
// and memory.
const (
	// MaxInputBytes is how much of a ticket's or a query's text is read;
	// the rest is ignored. 8 KiB is several screens of prose.
	MaxInputBytes = 8 << 10
	// MaxTokens is how many words (after stop words are dropped) of a
	// ticket or a query are used.
	MaxTokens = 300
	// MaxFieldBytes is how much of one field of a Document is read: a
	// knowledge article may be long, but its first 64 KiB say what it is
	// about.
	MaxFieldBytes = 64 << 10
	// maxWordBytes drops longer words: URLs, hashes, base64 and the like
	// say nothing about the service and would only grow the vocabulary.
	maxWordBytes = 32
	// maxNumberDigits drops longer numbers (ticket, phone and asset
	// numbers) and keeps short ones: "404", "365", "11".
	maxNumberDigits = 4
)

// A token is one word of a text as the model sees it: term is the
// normalised, stemmed form it is counted under, word the user's own
// (lower-cased) spelling, kept to explain a suggestion.
type token struct {
	term, word string
}

// stemmer maps a lower-case ASCII word to its English stem. A bulk build
// keeps a cache: stemming is the costliest step of reading a text and
// tickets repeat the same few thousand words.
type stemmer struct {
	cache map[string]string
}

// maxStemCache bounds a stemmer's cache (about 10 MB).
const maxStemCache = 1 << 17

func (s *stemmer) stem(w string) string {
	if s == nil || s.cache == nil {
		return english.Stem(w, true)
	}
	if t, ok := s.cache[w]; ok {
		return t
	}
	t := english.Stem(w, true)
	if len(s.cache) < maxStemCache {
		s.cache[strings.Clone(w)] = t
	}
	return t
}

// tokenize appends the tokens of a ticket's or a query's text to out: the
// words of its first MaxInputBytes, normalised, without those that
// normalise drops, and no more than MaxTokens. If surface is false, the
// tokens' word is left empty.
func tokenize(text string, st *stemmer, surface bool, out []token) []token {
	n := 0
	for w := range words(text, MaxInputBytes) {
		t, ok := normalise(w, st)
		if !ok {
			continue
		}
		tok := token{term: t}
		if surface {
			tok.word = strings.ToLower(w)
		}
		out = append(out, tok)
		if n++; n == MaxTokens {
			break
		}
	}
	return out
}

// words returns the words of the first limit bytes of text (cut on a rune
// boundary), as written: it splits on anything that is not a letter, digit
// or mark. Apostrophes inside a word are dropped ("can't" is "cant"); a
// hyphenated word whose parts are short is joined ("e-mail" is "email",
// "wi-fi" is "wifi"), other hyphenated words are split. Runs of Chinese or
// Japanese characters, written without spaces, become overlapping pairs of
// characters.
func words(text string, limit int) iter.Seq[string] {
	if len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return func(yield func(string) bool) {
		cjk, runLen := 0, 0 // the start of the last CJK character, and the length of its run
		endRun := func() bool {
			ok := true
			if runLen == 1 {
				_, size := utf8.DecodeRuneInString(text[cjk:])
				ok = yield(text[cjk : cjk+size]) // a single character still says something
			}
			runLen = 0
			return ok
		}
		start := -1 // the start of the current chunk of word characters, or -1
		for i, r := range text {
			if isCJK(r) {
				if start >= 0 {
					if !splitChunk(text[start:i], yield) {
						return
					}
					start = -1
				}
				if runLen > 0 && !yield(text[cjk:i+utf8.RuneLen(r)]) {
					return
				}
				cjk = i
				runLen++
				continue
			}
			if runLen > 0 && !endRun() {
				return
			}
			if isWordRune(r) || isApostrophe(r) || isHyphen(r) {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 {
				if !splitChunk(text[start:i], yield) {
					return
				}
				start = -1
			}
		}
		if start >= 0 {
			splitChunk(text[start:], yield)
		} else if runLen > 0 {
			endRun()
		}
	}
}

// splitChunk turns a chunk of word characters, apostrophes and hyphens into
// words and passes each to emit; it stops when emit returns false.
func splitChunk(chunk string, emit func(string) bool) bool {
	if strings.IndexFunc(chunk, isApostrophe) >= 0 {
		chunk = strings.Map(func(r rune) rune {
			if isApostrophe(r) {
				return -1
			}
			return r
		}, chunk)
	}
	if strings.IndexFunc(chunk, isHyphen) < 0 {
		if chunk == "" {
			return true
		}
		return emit(chunk)
	}
	parts := strings.FieldsFunc(chunk, isHyphen)
	if len(parts) > 1 && joinable(parts) {
		return emit(strings.Join(parts, ""))
	}
	for _, p := range parts {
		if !emit(p) {
			return false
		}
	}
	return true
}

// joinable reports whether the parts of a hyphenated word are one word
// written with a hyphen ("e-mail", "wi-fi", "log-in", "re-install"): all
// letters, and one part at most two letters long.
func joinable(parts []string) bool {
	short := false
	for _, p := range parts {
		for _, r := range p {
			if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) {
				return false
			}
		}
		if utf8.RuneCountInString(p) <= 2 {
			short = true
		}
	}
	return short
}

// normalise turns one word into the term it is counted under, or reports
// false if the word is not worth counting: it lower-cases and folds
// accents, drops stop words, one-letter words, over-long words and numbers
// of more than maxNumberDigits digits, keeps words with digits ("3rd") and
// of other scripts as they are, spells ordinal words as numbers and stems
// the rest.
func normalise(word string, st *stemmer) (string, bool) {
	w := lowerFold(word)
	if len(w) > maxWordBytes || w == "" {
		return "", false
	}
	letters, digits, ascii := 0, 0, true
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= 'a' && c <= 'z':
			letters++
		case c >= '0' && c <= '9':
			digits++
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	switch {
	case !ascii:
		// Another script: counted as written (it is lower-cased and folded).
		if utf8.RuneCountInString(w) < 2 && !isCJK(firstRune(w)) {
			return "", false
		}
		return w, true
	case digits == len(w):
		return w, len(w) <= maxNumberDigits
	case digits > 0:
		// "3rd", "win11", "o365", "2fa": kept as they are, unstemmed.
		return w, true
	case letters < 2 || stopWords[w]:
		return "", false
	}
	if o, ok := ordinals[w]; ok {
		return o, true
	}
	return st.stem(w), true
}

// lowerFold lower-cases w and, if it has any non-ASCII letters, removes
// accents ("Résumé" is "resume").
func lowerFold(w string) string {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(w); i++ {
			if c := w[i]; c >= 'A' && c <= 'Z' {
				return strings.ToLower(w)
			}
		}
		return w
	}
	w = norm.NFD.String(strings.ToLower(w))
	w = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, w)
	return norm.NFC.String(w)
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isApostrophe(r rune) bool {
	return r == '\'' || r == '\u2019' || r == '\u2018' || r == '\u02bc'
}

func isHyphen(r rune) bool {
	return r == '-' || r == '\u2010' || r == '\u2011'
}

// isCJK reports whether r is a Chinese character or Japanese kana: scripts
// written without spaces between words.
func isCJK(r rune) bool {
	return r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r))
}

// ordinals spells ordinal words as their numbers, so that "third floor"
// and "3rd floor" meet. "first" and "second" are left alone: they are more
// often "for the first time" and "a second".
var ordinals = map[string]string{
	"third": "3rd", "fourth": "4th", "fifth": "5th", "sixth": "6th",
	"seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}

// stopWords are words that say nothing about which service a ticket is
// for, with apostrophes already removed ("cant", "dont"). Negations are
// here too: "VPN does not connect" and "VPN connects" are for one service.
var stopWords = func() map[string]bool {
	words := strings.Fields(`
a about above after again against all also am an and any anyone anything
are as at be because been before being below between both but by can
cannot cant could couldnt did didnt do does doesnt doing done dont down
during each either else even ever every few for from further get gets
getting got had hadnt has hasnt have havent having he hed hell hello her
here hers herself hes hi him himself his how hows however id ie if ill im
in into is isnt it its itself ive just keep keeps kind let lets like many
may me might more most much must mustnt my myself neither never no nobody
none nor not nothing now of off often on once one only or other others
otherwise our ours ourselves out over own please pls plz quite rather
really regards same say says seem seems shall shant she shed shell shes
should shouldnt since so some somebody someone something sometimes still
such than thank thanks thankyou thx that thats the their theirs them
themselves then there theres these they theyd theyll theyre theyve this
those though through thus to too toward towards under until up upon us
very via was wasnt way we wed well were werent weve what whats when whens
where wheres whether which while who whom whos whose why whys will with
within without wont would wouldnt yes yet you youd youll your youre yours
yourself yourselves youve
`)
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}()
