package jsontext

import (
	"testing"

	"github.com/steward-itaas/steward/internal/fuzztest"
)

func TestLoneSurrogate(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{`"plain"`, -1},
		{`"x\ud800"`, 2},
		{`"x\udbff"`, 2},
		{`"x\udc00y"`, 2},
		{`"\ud83d\ud83d\ude00"`, 1},
		{`"\ud83d\ude00"`, -1},
		{`"\\ud800"`, -1},
		{`"\\\ud800"`, 3},
		{`"\ufffd"`, -1},
		{`"\u00e9\n\"\ud800"`, 11},
		{`"\ud80"`, -1},
	} {
		if got := LoneSurrogate([]byte(tc.text)); got != tc.want {
			t.Errorf("LoneSurrogate(%s) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func FuzzLoneSurrogate(f *testing.F) {
	for _, s := range []string{`"x\ud800"`, `"\ud83d\ude00"`, `"\\ud800"`, `\`, `\u`, `"\uDBFF\uDC00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		defer fuzztest.Bound(t)()
		if at := LoneSurrogate(raw); at < -1 || at >= len(raw) {
			t.Fatalf("LoneSurrogate(%q) = %d, outside the text", raw, at)
		}
	})
}
