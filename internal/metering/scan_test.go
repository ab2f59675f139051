package metering

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/fuzztest"
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
		defer fuzztest.Bound(t)()
		d := bytes.TrimSpace([]byte(data))
		if !json.Valid(d) || len(d) == 0 || d[0] != '{' {
			return
		}
		// Ingest refuses data with invalid UTF-8 or a lone surrogate escape
		// before any lookup (parseEvent); encoding/json would replace them
		// with U+FFFD, so the two readings differ only on data never looked
		// up (the fuzzer found {"\xe2": …} with path "\xe2").
		if !utf8.Valid(d) || loneSurrogate(d) {
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

// FuzzBatchReadOnceAgrees checks that a batch read with one decode gives
// the events and problems reading it event by event gives.
func FuzzBatchReadOnceAgrees(f *testing.F) {
	good := `{"specversion":"1.0","id":"1","source":"/a","type":"t.calls","subject":"s","time":"2026-11-22T09:00:00Z","data":{"n":2.5,"region":"eu"}}`
	for _, seed := range []string{
		"[" + good + "," + good + "]",
		`[null, {}, {"specversion":"0.3"}]`,
		` [ ` + good + ` , {"id":"x","data":[1]} ] `,
		`[{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s","data":"x","data_base64":"eA=="}]`,
		`[{"ID":"case","Source":"/a"}, {"id":"a","id":"b"}]`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	received := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		defer fuzztest.Bound(t)()
		fast := parseBatchFast(body, received)
		if fast == nil {
			return
		}
		slow, err := parseBatch(body, received)
		if err != nil {
			t.Fatalf("read at once: %d events; event by event: %v", len(fast.Events), err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("read at once:\n%+v\nevent by event:\n%+v", fast, slow)
		}
	})
}
