package triage

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzSuggest feeds arbitrary text to Suggest, Learn and Unlearn: nothing
// panics, the output is bounded and well-formed, and learning a text and
// unlearning it leaves the suggestions as they were.
func FuzzSuggest(f *testing.F) {
	for _, s := range []string{
		"my laptop can't print to the 3rd floor printer",
		"",
		"VPN!!! (GlobalProtect) -- ??? <b>down</b>",
		"打印机坏了 принтер Drucker café e-mail wi-fi",
		"pirnter pasword outlok conection",
		"\xff\xfe\x00 invalid \xc3",
		strings.Repeat("toner ", 2000),
		strings.Repeat("a-", 500) + strings.Repeat("'", 300),
	} {
		f.Add(s, 3)
	}
	docs, train, _ := corpusSplit()
	// One model for all inputs: each input leaves it as it found it.
	m := New(docs, train)
	f.Fuzz(func(t *testing.T, text string, k int) {
		defer fuzztest.Bound(t)()
		check := func() []Suggestion {
			got := m.Suggest(text, k, nil)
			if len(got) > max(0, min(k, MaxSuggestions)) {
				t.Fatalf("%d suggestions for k=%d", len(got), k)
			}
			sum := 0.0
			for i, s := range got {
				if math.IsNaN(s.Confidence) || s.Confidence < 0 || s.Confidence > 1 {
					t.Fatalf("confidence %v", s.Confidence)
				}
				if i > 0 && s.Confidence > got[i-1].Confidence {
					t.Fatalf("confidences not in order: %v", got)
				}
				if len(s.Why) == 0 || len(s.Why) > maxReasons {
					t.Fatalf("%d reasons", len(s.Why))
				}
				for _, w := range s.Why {
					if len(w) > 200 {
						t.Fatalf("a reason of %d bytes", len(w))
					}
				}
				sum += s.Confidence
			}
			if sum > 1+1e-9 {
				t.Fatalf("confidences sum to %v", sum)
			}
			return got
		}
		before := check()
		m.Learn(text, "printing")
		check()
		m.Unlearn(text, "printing")
		if diff := cmp.Diff(before, check()); diff != "" {
			t.Fatalf("learn and unlearn changed the suggestions (-before +after):\n%s", diff)
		}
	})
}
