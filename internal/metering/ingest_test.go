package metering

import (
	"context"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestGroupCommitIsolation puts three clients' batches into one group
// commit: the first holds an event that would take an hour past its
// maximum, the third one the database refuses (its meter is gone). The
// second client's batch, and the first client's good event, are committed
// all the same. Issue 15, finding 4.
func TestGroupCommitIsolation(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := New(sqldbtest.Open(t), func() time.Time { return now })
	t.Cleanup(s.Close)
	m, err := s.SaveMeter(ctx, access.System(), MeterInput{Code: "calls", Name: "Calls", EventType: "t.calls", Aggregation: Sum, ValuePath: "n", Unit: "call"})
	if err != nil {
		t.Fatal(err)
	}
	at := now.Add(-time.Hour)
	mk := func(source, id, subject string, m *Meter, v Quantity) *row {
		return &row{ev: &Event{ID: id, Source: source, Type: "t.calls", Subject: subject, Time: at},
			contrib: []contribution{{meter: m, dims: "{}", value: v}}}
	}
	a := &pending{rows: []*row{mk("/a", "1", "s", m, MaxHourQuantity), mk("/a", "2", "s", m, 1)}, done: make(chan error, 1)}
	b := &pending{rows: []*row{mk("/b", "1", "t", m, 3*Scale), mk("/b", "2", "t", m, 4*Scale)}, done: make(chan error, 1)}
	c := &pending{rows: []*row{mk("/c", "1", "u", &Meter{ID: "gone", Aggregation: Sum}, Scale)}, done: make(chan error, 1)}
	s.commitGroup([]*pending{a, b, c})
	if err := <-a.done; err != nil {
		t.Errorf("the first client's batch failed: %v", err)
	}
	if err := <-b.done; err != nil {
		t.Errorf("another client's batch failed with a bad event in its group commit: %v", err)
	}
	if err := <-c.done; err == nil {
		t.Error("an event the database refuses is committed")
	}
	if len(a.rows[0].problems) != 0 || len(a.rows[1].problems) != 1 || a.rows[1].problems[0].Field != "data.n" {
		t.Errorf("the first client's events: %+v, %+v", a.rows[0].problems, a.rows[1].problems)
	}
	u, err := s.Usage(ctx, access.System(), UsageQuery{Meter: "calls", From: at.Truncate(time.Hour), To: now, Granularity: Total})
	if err != nil {
		t.Fatalf("the usage cannot be read: %v", err)
	}
	got := map[string]Quantity{}
	for _, r := range u.Rows {
		got[r.Subject] = r.Quantity
	}
	if len(got) != 2 || got["s"] != MaxHourQuantity || got["t"] != 7*Scale {
		t.Errorf("usage = %v, want s=%s t=7", got, MaxHourQuantity)
	}
}
