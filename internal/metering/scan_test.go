package metering

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzLookupReadsDataAsDecodingDoes checks that reading a member of an
// event's data without decoding it finds what decoding into a map finds,
// for any valid JSON object and path.
func FuzzLookupReadsDataAsDecodingDoes(f *testing.F) {
	for _, seed := range []struct{ data, path string }{
		{`{"n": 1}`, "n"},
		{`{"n": 1, "n": 2}`, "n"},
		{` { "a" : { "b" : "x\"y" , "c": [1, {"d": 2}] } , "e": true } `, "a.b"},
		{`{"a": {"b": 3}}`, "a.b"},
		{`{"a": "{\"b\": 3}"}`, "a.b"},
		{`{"a\u0062": 4, "ab": 5}`, "ab"},
		{`{"a": null}`, "a"},
		{`{}`, "a"},
		{`{"a": [], "b": {}, "c": -1.5e3}`, "c"},
		{`{"region": "eu-1", "calls": 7}`, "region"},
	} {
		f.Add(seed.data, seed.path)
	}
	f.Fuzz(func(t *testing.T, data, path string) {
		d := bytes.TrimSpace([]byte(data))
		if !json.Valid(d) || len(d) == 0 || d[0] != '{' {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(d, &m) != nil {
			return
		}
		want := lookup(m, path)
		ed := &eventData{raw: d}
		got := ed.lookup(path)
		if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
			t.Errorf("lookup(%s, %q) = %q, want %q", data, path, got, want)
		}
	})
}
