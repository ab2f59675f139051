package metering

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzParseRequest feeds ingest's parser arbitrary bodies in the structured
// and batch modes, and the valid events to the meters: it must not panic,
// a request it refuses whole is an invalid error, and every event it
// accepts keeps the rules (bounded, valid UTF-8 attributes, a time within
// the horizon, data a JSON object, values within the limits). Issue 15,
// defences: CloudEvents parsing.
func FuzzParseRequest(f *testing.F) {
	good := `{"specversion":"1.0","id":"1","source":"/a","type":"t.calls","subject":"s","time":"2026-11-22T09:00:00Z","data":{"n":2.5,"region":"eu","user":"ann"}}`
	for _, seed := range []struct {
		batch bool
		body  string
	}{
		{false, good},
		{true, "[" + good + "," + good + "]"},
		{true, `[{"specversion":"1.0","id":"2","source":"/a","type":"t.calls","subject":"s","data":{"n":"-1"}}]`},
		{false, `{"specversion":"1.0","id":"a` + "\xff" + `","source":"/a","type":"t","subject":"s"}`},
		{false, `{"specversion":"1.0","id":"1","source":"/a","type":"t.calls","subject":"s","data":{"n":1e400}}`},
		{false, `{"specversion":"1.0","id":"1","source":"/a","type":"t.calls","subject":"s","data":{"n":"1e-99999999"}}`},
		{false, `{"specversion":"1.0","id":"1","source":"/a","type":"t.calls","subject":"s\u0000","time":"1900-01-01T00:00:00Z"}`},
		{true, `[1, null, "x", {}]`},
		{true, `{"not":"an array"}`},
		{false, `{"data":{"n":{"deep":[[[[[]]]]]}}}`},
		// Issue 15, finding 15: unpaired surrogate escapes, which decode to U+FFFD.
		{false, `{"specversion":"1.0","id":"x\ud800","source":"/a","type":"t.calls","subject":"s"}`},
		{false, `{"specversion":"1.0","id":"x\udbff","source":"/a","type":"t.calls","subject":"s"}`},
		{true, `[{"specversion":"1.0","id":"1","source":"/a","type":"t.calls","subject":"s","data":{"n":1,"region":"\udc00"}},` +
			`{"specversion":"1.0","id":"2","source":"/a","type":"t.calls","subject":"s\ud83d\ude00","data":{"n":1,"user":"\\ud800"}}]`},
		{false, `{"specversion":"1.0","id":"x` + "\uFFFD" + `","source":"/a","type":"t.calls","subject":"s\ufffd"}`},
		{false, `{"specversion":"1.0","id":"x\ud800\u","source":"/a","type":"t.calls","subject":"s"}`},
	} {
		f.Add(seed.batch, []byte(seed.body))
	}
	received := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	meters := []*Meter{
		{ID: "1", Code: "calls", EventType: "t.calls", Aggregation: Sum, ValuePath: "n", GroupBy: []string{"region"}},
		{ID: "2", Code: "peak", EventType: "t.calls", Aggregation: Max, ValuePath: "n"},
		{ID: "3", Code: "users", EventType: "t.calls", Aggregation: UniqueCount, ValuePath: "user"},
		{ID: "4", Code: "count", EventType: "t.calls", Aggregation: Count},
	}
	f.Fuzz(func(t *testing.T, batch bool, body []byte) {
		defer fuzztest.Bound(t)()
		if len(body) > MaxBatchBytes {
			t.Skip()
		}
		ct := ContentStructured
		if batch {
			ct = ContentBatch
		}
		p, err := ParseRequest(http.Header{"Content-Type": {ct}}, body, received)
		if err != nil {
			if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid {
				t.Fatalf("a refused request is %v, want an invalid error", err)
			}
			return
		}
		if len(p.Events) != len(p.Problems) || len(p.Events) > MaxBatchEvents {
			t.Fatalf("%d events, %d problem lists", len(p.Events), len(p.Problems))
		}
		for i, ev := range p.Events {
			if len(p.Problems[i]) > 0 {
				continue
			}
			for _, attr := range []string{ev.ID, ev.Source, ev.Type, ev.Subject} {
				if attr == "" || len(attr) > maxAttrLen || !utf8.ValidString(attr) || strings.ContainsRune(attr, 0) {
					t.Fatalf("event %d is accepted with the attribute %q", i, attr)
				}
				if strings.ContainsRune(attr, utf8.RuneError) && !bytes.ContainsRune(body, utf8.RuneError) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
					t.Fatalf("event %d is accepted with the attribute %q: a U+FFFD the body did not hold", i, attr)
				}
			}
			if ev.Time.Before(received.Add(-LateHorizon)) || ev.Time.After(received.Add(FutureSkew)) {
				t.Fatalf("event %d is accepted at %s", i, ev.Time)
			}
			if len(ev.Data) > 0 && (ev.Data[0] != '{' || !json.Valid(ev.Data) || !utf8.Valid(ev.Data) || loneSurrogate(ev.Data)) {
				t.Fatalf("event %d is accepted with data %q", i, ev.Data)
			}
			contrib, problems := apply(meters, ev)
			if len(problems) > 0 {
				continue
			}
			for _, c := range contrib {
				var dims map[string]string
				if err := json.Unmarshal([]byte(c.dims), &dims); err != nil {
					t.Fatalf("event %d gives meter %s the dimensions %s: %v", i, c.meter.Code, c.dims, err)
				}
				if strings.ContainsRune(c.uniq+dims["region"], utf8.RuneError) && !bytes.ContainsRune(body, utf8.RuneError) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
					t.Fatalf("event %d gives meter %s the value %q and dimensions %s: a U+FFFD the body did not hold", i, c.meter.Code, c.uniq, c.dims)
				}
				if c.value < 0 || c.value > MaxValue || len(c.uniq) > MaxDimensionLen || strings.ContainsRune(c.uniq, 0) {
					t.Fatalf("event %d gives meter %s %s (%q)", i, c.meter.Code, c.value, c.uniq)
				}
			}
		}
	})
}

// FuzzParseQuantity checks that a usage value is read exactly or refused:
// what it accepts is the exact decimal it was sent, and its string form
// reads back to the same quantity. Issue 15, defences: quantity parsing.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"12", "0.5", "-0.25", "1.000001", "1.5e3", "2.5E-2", "1.0000001", "1e-7", "abc", "1/3", "0x10", "0b11",
		"", "99999999999999999999", "9223372036854.775807", "-9223372036854.775808", "1e9999999", "1e-9999999", "+5", ".5", "5.",
		"0." + strings.Repeat("0", 1000) + "1", strings.Repeat("9", 5000), " 7 ", "Inf", "NaN", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer fuzztest.Bound(t)()
		if len(s) > MaxEventBytes {
			t.Skip()
		}
		q, err := ParseQuantity(s)
		if err != nil {
			return
		}
		want, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok || want.Cmp(q.Rat()) != 0 {
			t.Fatalf("ParseQuantity(%q) = %s, want %v", s, q, want)
		}
		if back, err := ParseQuantity(q.String()); err != nil || back != q {
			t.Fatalf("ParseQuantity(%q) = %s, which reads back as %s, %v", s, q, back, err)
		}
		if !bytes.ContainsAny([]byte(strings.TrimSpace(s)), "0123456789") {
			t.Fatalf("ParseQuantity(%q) = %s without a digit", s, q)
		}
	})
}
