package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

var now = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func emit(t *testing.T, db *sqldb.DB, n int, fail bool) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *sqldb.Tx) error {
		for i := range n {
			if err := outbox.Emit(context.Background(), tx, access.System(), now, outbox.Event{
				Type: "order.approved", Subject: "orders/ORD-1", Data: map[string]int{"i": i},
				Notice: &outbox.Notice{Title: "t", Link: "/orders/1", Users: []string{"u"}},
			}); err != nil {
				return err
			}
		}
		if fail {
			return errors.New("the change failed")
		}
		return nil
	})
	if fail != (err != nil) {
		t.Fatalf("emit: %v", err)
	}
}

type recorder struct {
	mu   sync.Mutex
	seen []outbox.Stored
	fail bool
}

func (r *recorder) Take(_ context.Context, _ *sqldb.Tx, events []outbox.Stored) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("sink down")
	}
	r.seen = append(r.seen, events...)
	return nil
}

// An event is stored only if its transaction commits, and each stored event
// reaches every sink once, in seq order, whatever the batch size.
func TestEventsReachSinksOnceInOrder(t *testing.T) {
	db := sqldbtest.Open(t)
	emit(t, db, 3, true) // rolled back: never seen
	emit(t, db, 7, false)
	emit(t, db, 5, false)
	d := outbox.NewDispatcher(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.Batch = 4
	a, b := &recorder{}, &recorder{}
	d.Add("a", a)
	d.Add("b", b)
	for {
		n, err := d.Once(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for _, r := range []*recorder{a, b} {
		if len(r.seen) != 12 {
			t.Fatalf("sink saw %d events, want 12", len(r.seen))
		}
		for i := 1; i < len(r.seen); i++ {
			if r.seen[i].Seq <= r.seen[i-1].Seq {
				t.Fatalf("out of order: %d after %d", r.seen[i].Seq, r.seen[i-1].Seq)
			}
		}
		if e := r.seen[0]; e.Type != "order.approved" || e.Notice == nil || e.Notice.Users[0] != "u" || string(e.Data) != `{"i":0}` || e.ActorID != "system" {
			t.Fatalf("first event: %+v", e)
		}
	}
}

// A failing sink rolls the batch back for every sink; nothing is lost and
// nothing is given twice once it recovers.
func TestFailingSinkHoldsTheBatch(t *testing.T) {
	db := sqldbtest.Open(t)
	emit(t, db, 3, false)
	d := outbox.NewDispatcher(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ok, bad := &recorder{}, &recorder{fail: true}
	d.Add("ok", ok)
	d.Add("bad", bad)
	if _, err := d.Once(context.Background()); err == nil {
		t.Fatal("a failing sink did not fail the batch")
	}
	ok.seen = nil // it saw the batch in a transaction that rolled back
	bad.fail = false
	if n, err := d.Once(context.Background()); err != nil || n != 3 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if n, _ := d.Once(context.Background()); n != 0 {
		t.Fatalf("dispatched again: %d", n)
	}
	if len(ok.seen) != 3 || len(bad.seen) != 3 {
		t.Fatalf("seen %d and %d, want 3 each", len(ok.seen), len(bad.seen))
	}
}

// Several dispatchers (replicas) at once hand each event to the sinks once.
func TestConcurrentDispatchersDispatchOnce(t *testing.T) {
	db := sqldbtest.Open(t)
	for range 20 {
		emit(t, db, 10, false)
	}
	r := &recorder{}
	var wg sync.WaitGroup
	for range 4 {
		d := outbox.NewDispatcher(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
		d.Batch = 7
		d.Add("r", r)
		wg.Go(func() {
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				if _, err := d.Once(context.Background()); err != nil {
					t.Error(err)
					return
				}
				r.mu.Lock()
				done := len(r.seen) >= 200
				r.mu.Unlock()
				if done {
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, e := range r.seen {
		seen[e.ID]++
	}
	if len(r.seen) != 200 || len(seen) != 200 {
		t.Fatalf("%d deliveries of %d events, want 200 of 200", len(r.seen), len(seen))
	}
}

func TestEmitRefusesUnknownTypes(t *testing.T) {
	db := sqldbtest.Open(t)
	err := db.Tx(context.Background(), func(tx *sqldb.Tx) error {
		return outbox.Emit(context.Background(), tx, nil, now, outbox.Event{Type: "order.teleported", Subject: "x"})
	})
	if err == nil {
		t.Fatal("an unknown event type was stored")
	}
}

func TestTypesAreDocumented(t *testing.T) {
	for _, ty := range outbox.Types() {
		if ty.Description == "" || ty.Subject == "" || len(ty.Data) == 0 {
			t.Errorf("event type %s is not documented", ty.Name)
		}
	}
}
