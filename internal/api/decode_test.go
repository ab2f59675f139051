package api

import (
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

// Issue 15, finding 15: the API's JSON reader refuses invalid UTF-8 (which
// encoding/json would quietly turn into U+FFFD, so that two different bad
// IDs read the same) and a null body (which would decode as nothing and
// create an empty object), and names a wrongly typed field with its index
// as validation does (items[1].quantity, not items.quantity).
func TestDecodeBytes(t *testing.T) {
	type item struct {
		Offering string `json:"offering"`
		Quantity int    `json:"quantity"`
	}
	type order struct {
		Note  string `json:"note"`
		Items []item `json:"items"`
		Tags  map[string]int
	}
	for _, tc := range []struct {
		body, field, detail string
	}{
		{"{\"note\": \"caf\xe9\"}", "", "not valid UTF-8 (at byte 13)"},
		{"null", "", "null"},
		{`{"note": "x\ud800"}`, "", "surrogate"},
		{`{"note": "x\udbff"}`, "", "surrogate"},
		{`{"note": "x\udc00y"}`, "", "surrogate"},
		{`{"note": "\ud83d\ud83d\ude00"}`, "", "surrogate"},
		{" null\n", "", "null"},
		{`{"items": [{"quantity": 1}, {"offering": "vm", "quantity": "two"}]}`, "items[1].quantity", ""},
		{`{"items": [{"quantity": 1.5}]}`, "items[0].quantity", ""},
		{`{"note": 7, "items": []}`, "note", ""},
		{`{"items": [{"offering": "vm"}], "Tags": {"a": 1, "b": "x"}}`, "Tags.b", ""},
		{`{"items": [[1]]}`, "items[0]", ""},
	} {
		var o order
		err := decodeBytes([]byte(tc.body), &o)
		e := errs.As(err)
		if err == nil || e.Code != errs.CodeInvalid {
			t.Errorf("%q: %v, want invalid", tc.body, err)
			continue
		}
		if tc.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != tc.field) {
			t.Errorf("%q: fields %+v, want %s", tc.body, e.Fields, tc.field)
		}
		if tc.detail != "" && !strings.Contains(e.Message, tc.detail) {
			t.Errorf("%q: %q, want it to say %q", tc.body, e.Message, tc.detail)
		}
	}
	for _, body := range []string{
		`{"note": "café", "items": [{"offering": "vm", "quantity": 2}]}`,
		`{"note": "\ud83d\ude00 \\ud800 \ufffd �"}`, // a pair, an escaped backslash, U+FFFD itself
	} {
		var o order
		if err := decodeBytes([]byte(body), &o); err != nil {
			t.Errorf("a valid body %s: %v", body, err)
		}
	}
}

func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{`{"items":[{"quantity":"x"}]}`, `null`, `{"a":`, "\xff", `[1,2,{"b":[true]}]`, `{"items":[{"offering":{"x":1}}]}`} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"items":[{"offering":"x\ud800"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		defer fuzztest.Bound(t)()
		var v struct {
			Items []struct {
				Offering string `json:"offering"`
				Quantity int    `json:"quantity"`
			} `json:"items"`
		}
		if err := decodeBytes(body, &v); err != nil {
			if e := errs.As(err); e.Code != errs.CodeInvalid {
				t.Fatalf("%q: %v, want invalid", body, err)
			}
		}
	})
}
