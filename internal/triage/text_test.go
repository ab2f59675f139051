package triage

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func terms(text string) []string {
	var out []string
	for _, t := range tokenize(text, nil, false, nil) {
		out = append(out, t.term)
	}
	return out
}

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"stop words, stems and an ordinal", "My laptop can't print to the 3rd floor printer", []string{"laptop", "print", "3rd", "floor", "printer"}},
		{"case and plural", "PRINTERS Printing printed", []string{"printer", "print", "print"}},
		{"ordinal words meet ordinals", "third floor, 3rd floor", []string{"3rd", "floor", "3rd", "floor"}},
		{"hyphenated short parts are one word", "e-mail Wi-Fi log-in re-install", []string{"email", "wifi", "login", "reinstal"}},
		{"hyphenated long parts are two", "multi-factor 3rd-floor", []string{"multi", "factor", "3rd", "floor"}},
		{"apostrophes", "user's account isn’t unlocked", []string{"user", "account", "unlock"}},
		{"numbers: short kept, long dropped", "error 404 on ticket 123456 since 2024", []string{"error", "404", "ticket", "2024"}},
		{"letters and digits unstemmed", "Win11 o365 2FA", []string{"win11", "o365", "2fa"}},
		{"accents folded", "Résumé café", []string{"resum", "cafe"}},
		{"other scripts kept as written", "Drucker druckt nicht, принтер", []string{"drucker", "druckt", "nicht", "принтер"}},
		{"CJK as pairs of characters", "打印机坏了", []string{"打印", "印机", "机坏", "坏了"}},
		{"a single CJK character", "VPN 断 now", []string{"vpn", "断"}},
		{"one-letter words dropped", "a b c x printer", []string{"printer"}},
		{"over-long words dropped", "see " + strings.Repeat("x", 40) + " vpn", []string{"see", "vpn"}},
		{"punctuation and symbols", "VPN!!! (GlobalProtect) -- ??? <b>down</b>", []string{"vpn", "globalprotect"}},
		{"empty", "", nil},
		{"only stop words", "it is not that I can't", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, terms(tt.text)); diff != "" {
				t.Errorf("tokenize(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestTokenizeKeepsTheUsersWord(t *testing.T) {
	t.Parallel()
	got := tokenize("Printers E-Mail", nil, true, nil)
	want := []token{{term: "printer", word: "printers"}, {term: "email", word: "email"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(token{})); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
}

func TestTokenizeBounds(t *testing.T) {
	t.Parallel()
	// No more than MaxTokens tokens, however long the text.
	long := strings.Repeat("vpn ", MaxInputBytes/4)
	if n := len(tokenize(long, nil, false, nil)); n != MaxTokens {
		t.Errorf("%d tokens of a long text, want MaxTokens (%d)", n, MaxTokens)
	}
	// Nothing past MaxInputBytes is read, and a cut never splits a rune.
	text := strings.Repeat(" ", MaxInputBytes-1) + "é vpn"
	if got := terms(text); got != nil {
		t.Errorf("terms past MaxInputBytes: %q", got)
	}
	text = strings.Repeat("x", MaxInputBytes-1) + "é"
	for w := range words(text, MaxInputBytes) {
		if strings.ContainsRune(w, '\uFFFD') {
			t.Errorf("a word with a cut rune: %q", w[len(w)-4:])
		}
	}
	// Invalid UTF-8 is read as separators, never as letters.
	if got := terms("vpn\xff\xfeprinter"); !cmp.Equal(got, []string{"vpn", "printer"}) {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

func TestStemmerCache(t *testing.T) {
	t.Parallel()
	st := &stemmer{cache: map[string]string{}}
	for range 2 {
		if got := st.stem("printing"); got != "print" {
			t.Errorf("stem(printing) = %q", got)
		}
	}
	if len(st.cache) != 1 {
		t.Errorf("cache has %d entries, want 1", len(st.cache))
	}
}
