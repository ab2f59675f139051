package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// Issue 17, item 4: a kind whose jobs need arguments says so where it is
// registered; such a job cannot be enqueued without them (it would fail every
// attempt while the jobs page said "Queued"), and Kinds tells the jobs page
// which kinds can run now.
func TestKindsThatNeedArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.Open(t)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newRunner(db, c, "w1")
	nop := func(ctx context.Context, j *jobs.Job) error { return nil }
	r.Handle("invoice.month", nop)
	r.HandleWithoutArguments("sweep", nop)
	r.Every("sweep", time.Hour)

	want := []jobs.Kind{
		{Name: "invoice.month", NeedsArguments: true},
		{Name: "sweep", Every: time.Hour},
	}
	if diff := cmp.Diff(want, r.Kinds()); diff != "" {
		t.Errorf("Kinds (-want +got):\n%s", diff)
	}

	for _, payload := range []string{"", "{}", "null", " { } "} {
		_, err := r.Enqueue(ctx, access.System(), jobs.EnqueueInput{Kind: "invoice.month", Payload: json.RawMessage(payload)})
		e := errs.As(err)
		if e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "payload" {
			t.Fatalf("enqueue invoice.month with payload %q: %v, want invalid payload", payload, err)
		}
	}
	if _, err := r.Enqueue(ctx, access.System(), jobs.EnqueueInput{Kind: "invoice.month", Payload: json.RawMessage(`{"month":"2026-01"}`)}); err != nil {
		t.Fatalf("enqueue invoice.month with its arguments: %v", err)
	}
	if _, err := r.Enqueue(ctx, access.System(), jobs.EnqueueInput{Kind: "sweep"}); err != nil {
		t.Fatalf("enqueue sweep without arguments: %v", err)
	}
}
