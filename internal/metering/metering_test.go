package metering_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

func TestQuantity(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want metering.Quantity
		out  string
		bad  bool
	}{
		{"12", 12_000_000, "12", false},
		{"0.5", 500_000, "0.5", false},
		{"-0.25", -250_000, "-0.25", false},
		{"1.000001", 1_000_001, "1.000001", false},
		{"1.5e3", 1_500_000_000, "1500", false},
		{"2.5E-2", 25_000, "0.025", false},
		{"1.0000001", 0, "", true},
		{"1e-7", 0, "", true},
		{"abc", 0, "", true},
		{"1/3", 0, "", true},
		{"0x10", 0, "", true},
		{"", 0, "", true},
		{"99999999999999999999", 0, "", true},
		// Issue 15, defences: read in linear time, exponents of at most 3 digits.
		{"1e999999", 0, "", true},
		{"0.000001e6", 1_000_000, "1", false},
		{"-9223372036854.775808", -9223372036854775808, "-9223372036854.775808", false},
		{"9223372036854.775808", 0, "", true},
		{"+.5", 500_000, "0.5", false},
		{"1e", 0, "", true},
		{".", 0, "", true},
	} {
		got, err := metering.ParseQuantity(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseQuantity(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.out {
			t.Errorf("ParseQuantity(%q) = %d (%s), %v; want %d (%s)", tt.in, got, got, err, tt.want, tt.out)
		}
	}
}

// TestEventValidation checks the CloudEvents rules, one refusal each.
func TestEventValidation(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	good := `"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s"`
	for _, tt := range []struct{ body, field string }{
		{`{` + good + `}`, ""},
		{`{` + good + `,"time":"2026-11-22T09:59:00+01:00","data":{"gb":1}}`, ""},
		{`{"specversion":"0.3","id":"1","source":"/a","type":"t","subject":"s"}`, "specversion"},
		{`{"id":"1","source":"/a","type":"t","subject":"s"}`, "specversion"},
		{`{"specversion":"1.0","source":"/a","type":"t","subject":"s"}`, "id"},
		{`{"specversion":"1.0","id":"","source":"/a","type":"t","subject":"s"}`, "id"},
		{`{"specversion":"1.0","id":"1","type":"t","subject":"s"}`, "source"},
		{`{"specversion":"1.0","id":"1","source":"/a","subject":"s"}`, "type"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t"}`, "subject"},
		{`{` + good + `,"time":"22/11/2026"}`, "time"},
		{`{` + good + `,"time":"2026-11-22T10:06:00Z"}`, "time"},
		// Issue 15, finding 15: no older than the late-usage horizon.
		{`{` + good + `,"time":"2026-10-18T10:00:00Z"}`, ""},
		{`{` + good + `,"time":"2026-10-18T09:59:59Z"}`, "time"},
		{`{` + good + `,"time":"1900-01-01T00:00:00Z"}`, "time"},
		// Issue 15, finding 15: invalid UTF-8 is refused, not replaced, and
		// attributes hold no control characters.
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s` + "\xff" + `"}`, "subject"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s","data":{"k":"` + "\xfe" + `"}}`, "data"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s\u0000"}`, "subject"},
		// Issue 15, finding 15: escaped unpaired surrogates would decode to
		// U+FFFD, so "x\ud800" and "x\udbff" would be one id; they are
		// refused. U+FFFD itself, literal or escaped, is a character like any.
		{`{"specversion":"1.0","id":"x\ud800","source":"/a","type":"t","subject":"s"}`, "id"},
		{`{"specversion":"1.0","id":"x\udbff","source":"/a","type":"t","subject":"s"}`, "id"},
		{`{"specversion":"1.0","id":"1","source":"/a\uDC00","type":"t","subject":"s"}`, "source"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t\udc00\ud800","subject":"s"}`, "type"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s\ud83d"}`, "subject"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s","data":{"region":"eu\ud800"}}`, "data"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s","data":{"eu\udfff":1}}`, "data"},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s` + "\uFFFD" + `"}`, ""},
		{`{"specversion":"1.0","id":"1","source":"/a","type":"t","subject":"s\ufffd\ud83d\ude00\\ud800","data":{"k":"` + "\uFFFD" + `"}}`, ""},
		{`{` + good + `,"datacontenttype":"text/xml","data":"<a/>"}`, "datacontenttype"},
		{`{` + good + `,"data_base64":"AAAA"}`, "data_base64"},
		{`{` + good + `,"data":[1,2]}`, "data"},
		{`{` + good + `,"dataschema":"relative"}`, "dataschema"},
		{`{"specversion":"1.0","id":7,"source":"/a","type":"t","subject":"s"}`, ""},
		{`[1]`, ""},
		{`{` + good + `,"data":"` + strings.Repeat("x", metering.MaxEventBytes) + `"}`, ""},
	} {
		req := httptest.NewRequest("POST", "/api/v1/events", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", metering.ContentStructured)
		p, err := metering.ParseRequest(req.Header, []byte(tt.body), now)
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		problems := p.Problems[0]
		valid := strings.HasPrefix(tt.body, `{"specversion":"1.0","id":"1"`) && tt.field == "" && len(tt.body) < 1000
		switch {
		case valid && len(problems) > 0:
			t.Errorf("%s is refused: %+v", tt.body, problems)
		case !valid && len(problems) == 0:
			t.Errorf("%s is accepted", tt.body)
		case !valid && problems[0].Field != tt.field:
			t.Errorf("%s: the problem is with %q (%s), want %q", tt.body, problems[0].Field, problems[0].Message, tt.field)
		}
	}
	// Issue 15, finding 15: in binary mode too, the data holds no unpaired
	// surrogate escape, and U+FFFD itself is accepted.
	for body, field := range map[string]string{`{"region":"eu\udbff"}`: "data", `{"region":"eu\ufffd` + "\uFFFD" + `"}`: ""} {
		h := http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/a"},
			"Ce-Type": {"t"}, "Ce-Subject": {"s"}}
		p, err := metering.ParseRequest(h, []byte(body), now)
		switch {
		case err != nil:
			t.Fatalf("binary %s: %v", body, err)
		case field == "" && len(p.Problems[0]) > 0:
			t.Errorf("binary %s is refused: %+v", body, p.Problems[0])
		case field != "" && (len(p.Problems[0]) == 0 || p.Problems[0][0].Field != field):
			t.Errorf("binary %s: %+v, want a problem with %s", body, p.Problems[0], field)
		}
	}
	// A batch that is not an array, or too long, is refused whole.
	for _, body := range []string{`{"id":"1"}`, `[` + strings.Repeat(`{},`, metering.MaxBatchEvents) + `{}]`} {
		req := httptest.NewRequest("POST", "/api/v1/events", strings.NewReader(body))
		req.Header.Set("Content-Type", metering.ContentBatch)
		if _, err := metering.ParseRequest(req.Header, []byte(body), now); err == nil {
			t.Errorf("the batch %.40s… is accepted", body)
		}
	}
}

type fixture struct {
	t   *testing.T
	db  *sqldb.DB
	svc *metering.Service
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	db := sqldbtest.Open(t)
	f := &fixture{t: t, db: db, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	f.svc = metering.New(db, func() time.Time { return f.now })
	t.Cleanup(f.svc.Close)
	return f
}

func (f *fixture) meter(code string, agg metering.Aggregation, path string, groupBy ...string) {
	f.t.Helper()
	if _, err := f.svc.SaveMeter(context.Background(), access.System(), metering.MeterInput{Code: code, Name: code, EventType: "t." + code,
		Aggregation: agg, ValuePath: path, GroupBy: groupBy, Unit: "u"}); err != nil {
		f.t.Fatal(err)
	}
}

// ingest sends a batch of events given as (id, type, subject, time, data).
func (f *fixture) ingest(evs ...[5]string) (*metering.Result, error) {
	return f.ingestAs(access.System(), evs...)
}

// ingestAs is ingest by a given principal.
func (f *fixture) ingestAs(pr *access.Principal, evs ...[5]string) (*metering.Result, error) {
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/test","type":%q,"subject":%q,"time":%q,"data":%s}`, e[0], e[1], e[2], e[3], e[4]))
	}
	body := []byte("[" + strings.Join(parts, ",") + "]")
	req := httptest.NewRequest("POST", "/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", metering.ContentBatch)
	p, err := metering.ParseRequest(req.Header, body, f.now)
	if err != nil {
		return nil, err
	}
	return f.svc.Ingest(context.Background(), pr, p)
}

// send is ingest that fails the test on an error.
func (f *fixture) send(evs ...[5]string) *metering.Result {
	f.t.Helper()
	res, err := f.ingest(evs...)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) usage(meter, from, to string, g metering.Granularity, byDim bool) []metering.UsageRow {
	f.t.Helper()
	u, err := f.svc.Usage(context.Background(), access.System(), metering.UsageQuery{Meter: meter, From: ts(from), To: ts(to), Granularity: g, ByDimension: byDim})
	if err != nil {
		f.t.Fatal(err)
	}
	return u.Rows
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func quantities(rows []metering.UsageRow) string {
	var out []string
	for _, r := range rows {
		s := r.Subject + "=" + r.Quantity.String()
		if len(r.Dims) > 0 {
			b, _ := json.Marshal(r.Dims)
			s += string(b)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestAggregations checks every aggregation against hand-computed figures,
// in hourly buckets and over a window, with events sent out of order.
func TestAggregations(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n")
	f.meter("requests", metering.Count, "")
	f.meter("peak", metering.Max, "users")
	f.meter("users", metering.UniqueCount, "user")
	f.meter("version", metering.Latest, "v")
	f.meter("gb", metering.TimeWeighted, "gb", "region")
	res := f.send(
		[5]string{"1", "t.calls", "a", "2026-11-21T08:10:00Z", `{"n": 2.5}`},
		[5]string{"2", "t.calls", "a", "2026-11-21T08:50:00Z", `{"n": 1}`},
		[5]string{"3", "t.calls", "a", "2026-11-21T09:05:00Z", `{"n": 0.000001}`},
		[5]string{"4", "t.calls", "b", "2026-11-21T09:05:00Z", `{"n": 4}`},
		[5]string{"5", "t.requests", "a", "2026-11-21T08:00:00Z", `{}`},
		[5]string{"6", "t.requests", "a", "2026-11-21T08:59:59Z", `{}`},
		[5]string{"7", "t.peak", "a", "2026-11-21T08:10:00Z", `{"users": 7}`},
		[5]string{"8", "t.peak", "a", "2026-11-21T08:20:00Z", `{"users": 3}`},
		[5]string{"9", "t.peak", "a", "2026-11-21T09:20:00Z", `{"users": 5}`},
		[5]string{"10", "t.users", "a", "2026-11-21T08:01:00Z", `{"user": "ann"}`},
		[5]string{"11", "t.users", "a", "2026-11-21T08:02:00Z", `{"user": "ann"}`},
		[5]string{"12", "t.users", "a", "2026-11-21T08:03:00Z", `{"user": "bob"}`},
		[5]string{"13", "t.users", "a", "2026-11-21T09:03:00Z", `{"user": "ann"}`},
		[5]string{"14", "t.users", "a", "2026-11-21T09:04:00Z", `{"user": 42}`},
		[5]string{"15", "t.version", "a", "2026-11-21T08:30:00Z", `{"v": 3}`},
		[5]string{"16", "t.version", "a", "2026-11-21T08:10:00Z", `{"v": 2}`},
		// A gauge: 10 GB in eu from midnight, 20 GB from noon; 4 GB in us from 18:00.
		[5]string{"17", "t.gb", "a", "2026-11-21T12:00:00Z", `{"gb": 20, "region": "eu"}`},
		[5]string{"18", "t.gb", "a", "2026-11-21T00:00:00Z", `{"gb": 10, "region": "eu"}`},
		[5]string{"19", "t.gb", "a", "2026-11-21T18:00:00Z", `{"gb": 4, "region": "us"}`},
	)
	if res.Accepted != 19 || res.Rejected != 0 {
		t.Fatalf("accepted %+v", res)
	}
	day := [2]string{"2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"}
	for _, tt := range []struct {
		meter string
		g     metering.Granularity
		by    bool
		from  string
		to    string
		want  string
	}{
		{"calls", metering.Hour, false, day[0], day[1], "a=3.5 a=0.000001 b=4"},
		{"calls", metering.Total, false, day[0], day[1], "a=3.500001 b=4"},
		{"calls", metering.Total, false, "2026-11-21T09:00:00Z", day[1], "a=0.000001 b=4"},
		{"requests", metering.Day, false, day[0], day[1], "a=2"},
		{"peak", metering.Hour, false, day[0], day[1], "a=7 a=5"},
		{"peak", metering.Total, false, day[0], day[1], "a=7"},
		{"users", metering.Hour, false, day[0], day[1], "a=2 a=2"},
		{"users", metering.Total, false, day[0], day[1], "a=3"},
		{"version", metering.Total, false, day[0], day[1], "a=3"},
		// eu: 12 h at 10 and 12 h at 20 = 15; us: 6 h at 4 over 24 h = 1.
		{"gb", metering.Total, true, day[0], day[1], `a=15{"region":"eu"} a=1{"region":"us"}`},
		{"gb", metering.Total, false, day[0], day[1], "a=16"},
		// 06:00–18:00: 6 h at 10 and 6 h at 20 in eu, nothing yet in us.
		{"gb", metering.Total, false, "2026-11-21T06:00:00Z", "2026-11-21T18:00:00Z", "a=15"},
		// The next day carries the last values in: 20 + 4.
		{"gb", metering.Total, false, day[1], "2026-11-23T00:00:00Z", "a=24"},
		// A third of a GB for a third of the window: rounded once, to micro-units.
		{"gb", metering.Hour, false, "2026-11-21T11:00:00Z", "2026-11-21T13:00:00Z", "a=10 a=20"},
	} {
		if got := quantities(f.usage(tt.meter, tt.from, tt.to, tt.g, tt.by)); got != tt.want {
			t.Errorf("%s %s %s–%s = %s, want %s", tt.meter, tt.g, tt.from, tt.to, got, tt.want)
		}
	}
	// A replay changes nothing; a value a meter cannot read is refused.
	res = f.send([5]string{"1", "t.calls", "a", "2026-11-21T08:10:00Z", `{"n": 2.5}`}, [5]string{"20", "t.calls", "a", "2026-11-21T08:10:00Z", `{"n": "lots"}`})
	if res.Duplicates != 1 || res.Rejected != 1 || res.Accepted != 0 || res.Events[1].Problems[0].Field != "data.n" {
		t.Errorf("replay and bad value: %+v", res)
	}
	if got := quantities(f.usage("calls", day[0], day[1], metering.Total, false)); got != "a=3.500001 b=4" {
		t.Errorf("after the replay calls = %s", got)
	}
}

// TestExactlyOnceUnderConcurrency sends every event several times from
// concurrent clients, in overlapping batches: each is counted once.
func TestExactlyOnceUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n")
	const clients, events, batch = 8, 400, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client sends all events, starting at a different offset.
			for start := 0; start < events; start += batch {
				var evs [][5]string
				for i := start; i < start+batch; i++ {
					n := (i + c*batch) % events
					evs = append(evs, [5]string{fmt.Sprint(n), "t.calls", fmt.Sprint("s", n%3), "2026-11-21T08:00:00Z", fmt.Sprintf(`{"n": %d}`, n)})
				}
				if _, err := f.ingest(evs...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// 0+1+…+399 = 79800, split by n mod 3.
	want := map[string]int{}
	for n := range events {
		want[fmt.Sprint("s", n%3)] += n
	}
	got := f.usage("calls", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z", metering.Total, false)
	if len(got) != 3 {
		t.Fatalf("usage rows %s", quantities(got))
	}
	for _, r := range got {
		if r.Quantity.String() != fmt.Sprint(want[r.Subject]) || r.Events != events/3+map[bool]int64{true: 1}[r.Subject == "s0"] {
			t.Errorf("%s = %s from %d events, want %d", r.Subject, r.Quantity, r.Events, want[r.Subject])
		}
	}
}

// TestUsageBounds checks that no sum can overflow a rollup: a value above
// MaxValue is refused, an event that would take a subject's hour past
// MaxHourQuantity is refused on its own (the others of its batch are
// accepted), negative values are refused, and the usage stays readable.
// Issue 15, findings 4 and 5.
func TestUsageBounds(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n", "region")
	f.meter("peak", metering.Max, "p")
	f.meter("gb", metering.TimeWeighted, "gb")
	const at = "2026-11-22T08:10:00Z"
	top := metering.MaxValue.String()
	if res := f.send([5]string{"1", "t.calls", "a", at, `{"n": ` + top + `, "region": "eu"}`}); res.Accepted != 1 {
		t.Fatalf("a value at the maximum: %+v", res)
	}
	refused := func(res *metering.Result, index int, field, limit string) {
		t.Helper()
		for _, e := range res.Events {
			if e.Index != index {
				continue
			}
			if e.Status != metering.Rejected || len(e.Problems) == 0 || e.Problems[0].Field != field || !strings.Contains(e.Problems[0].Message, limit) {
				t.Errorf("event %d: %+v, want refused on %s naming %s", index, e, field, limit)
			}
			return
		}
		t.Errorf("event %d is accepted, want refused on %s: %+v", index, field, res)
	}
	// One more for the same hour (in another region: the hour counts them
	// all) is refused; another subject's event in the batch is accepted.
	res := f.send([5]string{"2", "t.calls", "a", "2026-11-22T08:50:00Z", `{"n": 1, "region": "us"}`},
		[5]string{"3", "t.calls", "b", at, `{"n": 1}`})
	if res.Accepted != 1 || res.Rejected != 1 {
		t.Errorf("one over the hour's maximum: %+v", res)
	}
	refused(res, 0, "data.n", metering.MaxHourQuantity.String())
	// Two events of one batch that only together pass the maximum: the
	// second is refused.
	half := (metering.MaxHourQuantity / 2).String()
	res = f.send([5]string{"4", "t.calls", "c", at, `{"n": ` + half + `}`}, [5]string{"5", "t.calls", "c", at, `{"n": ` + half + `}`},
		[5]string{"6", "t.calls", "c", at, `{"n": 0.000001}`})
	if res.Accepted != 2 || res.Rejected != 1 {
		t.Errorf("a batch that fills an hour: %+v", res)
	}
	refused(res, 2, "data.n", metering.MaxHourQuantity.String())
	// Above the maximum of one value, for every aggregation; and negative.
	res = f.send([5]string{"7", "t.calls", "a", "2026-11-22T09:10:00Z", `{"n": "9000000000000"}`},
		[5]string{"8", "t.peak", "a", at, `{"p": 1000000000.000001}`},
		[5]string{"9", "t.gb", "a", at, `{"gb": 99999999999}`},
		[5]string{"10", "t.calls", "d", at, `{"n": -5}`},
		[5]string{"11", "t.peak", "d", at, `{"p": -1}`},
		[5]string{"12", "t.gb", "d", at, `{"gb": "-0.5"}`})
	if res.Accepted != 0 || res.Rejected != 6 {
		t.Errorf("values out of range: %+v", res)
	}
	for i, field := range []string{"data.n", "data.p", "data.gb"} {
		refused(res, i, field, top)
		refused(res, i+3, field, "negative")
	}
	// A refused event was not recorded: sent again, it is refused again, not a duplicate.
	if res := f.send([5]string{"2", "t.calls", "a", "2026-11-22T08:50:00Z", `{"n": 1, "region": "us"}`}); res.Rejected != 1 {
		t.Errorf("a refused event sent again: %+v", res)
	}
	day := [2]string{"2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"}
	if got := quantities(f.usage("calls", day[0], day[1], metering.Total, false)); got != "a="+top+" b=1 c="+metering.MaxHourQuantity.String() {
		t.Errorf("calls = %s", got)
	}
	// A month of full hours still adds up.
	var evs [][5]string
	for h := range 24 * 30 {
		hour := ts("2026-10-23T00:00:00Z").Add(time.Duration(h) * time.Hour)
		evs = append(evs, [5]string{fmt.Sprint("m", h), "t.calls", "e", hour.Format(time.RFC3339), `{"n": ` + metering.MaxHourQuantity.String() + `}`})
	}
	if res := f.send(evs...); res.Accepted != len(evs) {
		t.Fatalf("a month of full hours: %+v", res.Events[:min(3, len(res.Events))])
	}
	want := (metering.MaxHourQuantity * 24 * 30).String()
	if got := quantities(f.usage("calls", "2026-10-23T00:00:00Z", "2026-11-22T00:00:00Z", metering.Month, false)); !strings.Contains(got, "e=") {
		t.Errorf("a month of full hours = %s", got)
	}
	if got := quantities(f.usage("calls", "2026-10-23T00:00:00Z", "2026-11-22T00:00:00Z", metering.Total, false)); got != "e="+want {
		t.Errorf("a month of full hours = %s, want e=%s", got, want)
	}
}

// TestReporterScope checks that a usage reporter granted on an org unit
// reports usage only of that org unit's subtree: its instances, itself and
// the org units under it. Other subjects, known or not, are refused one by
// one. Issue 15, finding 5.
func TestReporterScope(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n")
	f.orgUnits()
	reporter := f.reporter("ou-retail", "/ou-root/ou-retail/")
	at := "2026-11-22T08:00:00Z"
	res, err := f.ingestAs(reporter,
		[5]string{"1", "t.calls", "RETAIL", at, `{"n": 1}`},
		[5]string{"2", "t.calls", "ou-shop", at, `{"n": 2}`},
		[5]string{"3", "t.calls", "MFG", at, `{"n": 4}`},
		[5]string{"4", "t.calls", "ROOT", at, `{"n": 8}`},
		[5]string{"5", "t.calls", "no-such-subject", at, `{"n": 16}`})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || res.Rejected != 3 {
		t.Errorf("a Retail reporter's batch: %+v", res)
	}
	for i, e := range res.Events {
		if e.Index != i+2 || e.Status != metering.Rejected || len(e.Problems) != 1 || e.Problems[0].Field != "subject" {
			t.Errorf("refusal %d: %+v", i, e)
		}
	}
	if got := quantities(f.usage("calls", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", metering.Total, false)); got != "RETAIL=1 ou-shop=2" {
		t.Errorf("calls = %s", got)
	}
	// A reporter with no grant of usage.ingest is refused whole.
	if _, err := f.ingestAs(&access.Principal{UserID: "x"}, [5]string{"6", "t.calls", "RETAIL", at, `{"n": 1}`}); err == nil {
		t.Error("a principal without usage.ingest sent usage")
	}
}

// orgUnits adds a provider (ROOT) with two business units, Retail (with a
// shop under it) and Manufacturing (MFG); their codes are subjects.
func (f *fixture) orgUnits() {
	f.t.Helper()
	ctx := context.Background()
	now := sqldb.Time(f.now)
	for _, ou := range [][3]string{{"ou-root", "ROOT", "/ou-root/"}, {"ou-retail", "RETAIL", "/ou-root/ou-retail/"},
		{"ou-shop", "SHOP", "/ou-root/ou-retail/ou-shop/"}, {"ou-mfg", "MFG", "/ou-root/ou-mfg/"}} {
		if err := f.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, kind, code, name, path, created_at, updated_at) VALUES ($1, 'business_unit', $2, $2, $3, $4, $4)`,
				ou[0], ou[1], ou[2], now)
			return err
		}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// reporter is a usage reporter granted on one org unit.
func (f *fixture) reporter(orgUnitID, path string) *access.Principal {
	return &access.Principal{UserID: "agent-" + orgUnitID, Grants: []access.Grant{{Role: access.RoleUsageReporter, ScopeKind: access.ScopeOrgUnit,
		ScopeID: orgUnitID, OrgUnitPath: path}}}
}

// TestDuplicatesArePerSubject checks that a reporter cannot suppress or
// probe another org unit's events by sending their (source, id): an event
// is a duplicate of one with the same source, id and subject, and a
// reporter only writes subjects in its own scope. A true retry is still a
// duplicate, in a later request and within one batch. Issue 15, finding 5
// (review).
func TestDuplicatesArePerSubject(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n")
	f.orgUnits()
	retail, mfg := f.reporter("ou-retail", "/ou-root/ou-retail/"), f.reporter("ou-mfg", "/ou-root/ou-mfg/")
	at := "2026-11-22T08:00:00Z"
	send := func(who *access.Principal, evs ...[5]string) *metering.Result {
		t.Helper()
		res, err := f.ingestAs(who, evs...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Retail sends first, with the (source, id) Manufacturing's agent uses.
	if res := send(retail, [5]string{"1001", "t.calls", "RETAIL", at, `{"n": 1}`}); res.Accepted != 1 {
		t.Fatalf("Retail's event: %+v", res)
	}
	res := send(mfg, [5]string{"1001", "t.calls", "MFG", at, `{"n": 5}`})
	if res.Accepted != 1 || res.Duplicates != 0 || len(res.Events) != 0 {
		t.Errorf("Manufacturing's event after Retail sent its (source, id): %+v, want accepted", res)
	}
	// True retries are duplicates, and tell each sender only of its own events.
	for _, retry := range []struct {
		who *access.Principal
		ev  [5]string
	}{
		{retail, [5]string{"1001", "t.calls", "RETAIL", at, `{"n": 1}`}},
		{mfg, [5]string{"1001", "t.calls", "MFG", at, `{"n": 5}`}},
	} {
		res := send(retry.who, retry.ev)
		if res.Accepted != 0 || res.Duplicates != 1 || len(res.Events) != 1 || res.Events[0].Status != metering.Duplicate {
			t.Errorf("a retry of %s's event: %+v, want a duplicate", retry.ev[2], res)
		}
	}
	// Within one batch: one (source, id) for two subjects is two events; the
	// same event twice is one.
	res = send(access.System(),
		[5]string{"2002", "t.calls", "RETAIL", at, `{"n": 10}`},
		[5]string{"2002", "t.calls", "MFG", at, `{"n": 50}`},
		[5]string{"2002", "t.calls", "MFG", at, `{"n": 50}`})
	if res.Accepted != 2 || res.Duplicates != 1 || len(res.Events) != 1 || res.Events[0].Index != 2 {
		t.Errorf("a batch with one (source, id) for two subjects and a retry: %+v", res)
	}
	if got := quantities(f.usage("calls", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", metering.Total, false)); got != "MFG=55 RETAIL=11" {
		t.Errorf("calls = %s, want MFG=55 RETAIL=11", got)
	}
}

// TestUsageReadOverflow checks that a bucket whose total does not fit a
// quantity (rollups written before the hourly maximum) is an invalid
// query naming the limit, not a wrapped number. Issue 15, finding 4.
func TestUsageReadOverflow(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n")
	m, err := f.svc.Meter(context.Background(), access.System(), "calls")
	if err != nil {
		t.Fatal(err)
	}
	for _, hour := range []string{"2026-11-22T01:00:00Z", "2026-11-22T02:00:00Z"} {
		if err := f.db.Tx(context.Background(), func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(context.Background(), `INSERT INTO usage_rollups (meter_id, subject, dims, hour, quantity, events, last_at)
				VALUES ($1, 'a', '{}', $2, $3, 1, $2)`, m.ID, ts(hour), int64(math.MaxInt64/2+1))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	f.usage("calls", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", metering.Hour, false)
	_, err = f.svc.Usage(context.Background(), access.System(), metering.UsageQuery{Meter: "calls", From: ts("2026-11-22T00:00:00Z"),
		To: ts("2026-11-23T00:00:00Z"), Granularity: metering.Total})
	if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), "9223372036854.775807") {
		t.Errorf("a total past the largest quantity: %v", err)
	}
}
