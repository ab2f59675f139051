package metering

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestPurgeKeepsWhatIsNotExpired receives events in three months, replays
// some in a later month than their first copy, and purges: on PostgreSQL
// the expired month's partition is dropped (pg_inherits no longer lists
// it) and the months ahead exist; on SQLite the expired events go a batch
// at a time. Nothing unexpired is lost, the usage of purged events stays,
// and replays of kept events are still duplicates. Issue 18.
func TestPurgeKeepsWhatIsNotExpired(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	now := time.Date(2026, 9, 25, 10, 0, 0, 0, time.UTC)
	s := New(db, func() time.Time { return now })
	t.Cleanup(s.Close)
	if _, err := s.SaveMeter(ctx, access.System(), MeterInput{Code: "calls", Name: "Calls", EventType: "t.calls", Aggregation: Sum, ValuePath: "n", Unit: "call"}); err != nil {
		t.Fatal(err)
	}
	send := func(source string, ids ...int) *Result {
		t.Helper()
		in := &Parsed{Batch: true}
		for _, id := range ids {
			in.Events = append(in.Events, &Event{ID: fmt.Sprint(id), Source: source, Type: "t.calls", Subject: "s", Time: now.Add(-time.Minute), Data: []byte(`{"n": 1}`)})
			in.Problems = append(in.Problems, nil)
		}
		res, err := s.Ingest(ctx, access.System(), in)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	count := func() (n int) {
		t.Helper()
		if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if r := send("/old", 1, 2, 3, 4, 5); r.Accepted != 5 {
		t.Fatalf("September: %+v", r)
	}
	now = time.Date(2026, 10, 20, 10, 0, 0, 0, time.UTC)
	if r := send("/new", 1, 2, 3); r.Accepted != 3 {
		t.Fatalf("October: %+v", r)
	}
	// Replays received a month after their first copy: another partition.
	if r := send("/old", 1, 2, 6); r.Accepted != 1 || r.Duplicates != 2 {
		t.Fatalf("replays in October of September's events: %+v, want 1 accepted and 2 duplicates", r)
	}
	if n := count(); n != 9 {
		t.Fatalf("%d events stored, want 9", n)
	}

	now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) // Retention reaches back to 13 October
	var batches []int64
	purged = func(n int64) { batches = append(batches, n) }
	defer func(b int) { purgeBatch, purged = b, nil }(purgeBatch)
	purgeBatch = 2
	n, err := s.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 4 {
		t.Errorf("%d events kept after the purge, want the 4 received in October", got)
	}
	if db.Dialect == sqldb.Postgres {
		parts, err := sqldb.QueryAll(ctx, db.Read(), "partitions", func(row sqldb.Scanner) (string, error) {
			var name string
			return name, row.Scan(&name)
		}, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_events'::regclass ORDER BY c.relname`)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, p := range parts {
			have[p] = true
		}
		if have["usage_events_p202609"] {
			t.Errorf("September's partition is still there after the purge: %v", parts)
		}
		for _, want := range []string{"usage_events_p202610", "usage_events_p202611", "usage_events_p202612", "usage_events_p202701"} {
			if !have[want] {
				t.Errorf("partition %s is missing: %v", want, parts)
			}
		}
		if len(batches) != 0 {
			t.Errorf("the PostgreSQL purge deleted rows: %v", batches)
		}
	} else {
		if n != 5 || len(batches) != 3 || batches[0] != 2 || batches[1] != 2 || batches[2] != 1 {
			t.Errorf("purged %d in batches %v, want 5 in 2, 2, 1", n, batches)
		}
	}
	// Kept events are still recognised; the purged ones' usage stays.
	if r := send("/new", 1, 3); r.Duplicates != 2 {
		t.Errorf("replays of kept events after the purge: %+v, want 2 duplicates", r)
	}
	u, err := s.Usage(ctx, access.System(), UsageQuery{Meter: "calls", From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Granularity: Month})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range u.Rows {
		got = append(got, r.Start.Format("2006-01")+"="+r.Quantity.String())
	}
	if fmt.Sprint(got) != "[2026-09=5 2026-10=4]" {
		t.Errorf("usage by month after the purge: %v, want [2026-09=5 2026-10=4]", got)
	}
	// A second purge finds nothing more to do.
	batches = nil
	if _, err := s.Purge(ctx); err != nil || len(batches) != 0 || count() != 4 {
		t.Errorf("second purge: %v, batches %v, %d events", err, batches, count())
	}
}

// TestReplaysAtTheTurnOfAMonth sends replays across the start of a month:
// received just after it, of events received just before; and received
// just before it by a replica whose clock is behind, of an event received
// just after. Each is a duplicate, whichever month's partition holds the
// first copy.
func TestReplaysAtTheTurnOfAMonth(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	s := New(sqldbtest.Open(t), func() time.Time { return now })
	t.Cleanup(s.Close)
	if _, err := s.SaveMeter(ctx, access.System(), MeterInput{Code: "calls", Name: "Calls", EventType: "t.calls", Aggregation: Count, Unit: "call"}); err != nil {
		t.Fatal(err)
	}
	send := func(ids ...int) *Result {
		t.Helper()
		in := &Parsed{Batch: true}
		for _, id := range ids {
			in.Events = append(in.Events, &Event{ID: fmt.Sprint(id), Source: "/edge", Type: "t.calls", Subject: "s", Time: now.Add(-time.Minute)})
			in.Problems = append(in.Problems, nil)
		}
		res, err := s.Ingest(ctx, access.System(), in)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := send(1, 2); r.Accepted != 2 {
		t.Fatalf("before midnight: %+v", r)
	}
	now = time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC)
	if r := send(1, 2, 3); r.Accepted != 1 || r.Duplicates != 2 {
		t.Errorf("just after midnight, replays of the events of just before: %+v, want 1 accepted, 2 duplicates", r)
	}
	now = time.Date(2026, 11, 30, 23, 59, 30, 0, time.UTC) // a replica whose clock is behind
	if r := send(3); r.Duplicates != 1 {
		t.Errorf("just before midnight, a replay of an event received just after: %+v, want a duplicate", r)
	}
}
