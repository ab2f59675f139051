package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestConcurrentWritersChainOnce: writers in concurrent transactions each
// get their record into one unbroken chain, once, whatever the order they
// commit in, each in the log when its write returns; a rolled-back
// writer leaves none. On PostgreSQL a writer
// holding its transaction open does not hold the others back: records
// are queued in the writer's transaction and chained after its commit
// (issue 20), so another writer commits while the first is still open.
func TestConcurrentWritersChainOnce(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	svc := audit.NewService(db)
	write := func(i int, fail bool) error {
		return db.Tx(ctx, func(tx *sqldb.Tx) error {
			if err := audit.Write(ctx, tx, access.System(), time.Now(), audit.Entry{Action: "test.write", ObjectType: "test", ObjectID: fmt.Sprint(i)}); err != nil {
				return err
			}
			if err := audit.WriteAll(ctx, tx, access.System(), time.Now(), []audit.Entry{
				{Action: "test.many", ObjectType: "test", ObjectID: fmt.Sprint(i, "a")}, {Action: "test.many", ObjectType: "test", ObjectID: fmt.Sprint(i, "b")}}); err != nil {
				return err
			}
			if fail {
				return fmt.Errorf("writer %d fails", i)
			}
			return nil
		})
	}
	const writers = 40
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if err := write(i, i%5 == 0); (err != nil) != (i%5 == 0) {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if db.Dialect == sqldb.Postgres {
		inFn, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- db.Tx(ctx, func(tx *sqldb.Tx) error {
				if err := audit.Write(ctx, tx, access.System(), time.Now(), audit.Entry{Action: "test.slow", ObjectType: "test", ObjectID: "slow"}); err != nil {
					return err
				}
				close(inFn)
				<-release
				return nil
			})
		}()
		<-inFn
		other := make(chan error, 1)
		go func() { other <- write(1000, false) }()
		select {
		case err := <-other:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("a writer waited for another's open transaction")
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Each write is in the log when it returns: nothing to seal first.
	seen := map[string]int{}
	for page := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		rs, err := svc.List(ctx, access.System(), audit.Filter{ObjectType: "test", Page: page})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.Items {
			seen[r.ObjectID]++
		}
		if page.Cursor = rs.Next; page.Cursor == "" {
			break
		}
	}
	if want := (writers-writers/5)*3 + map[bool]int{true: 4}[db.Dialect == sqldb.Postgres]; len(seen) != want {
		t.Errorf("%d records in the log as the writes returned, want %d", len(seen), want)
	}
	v, err := svc.Verify(ctx, access.System())
	if err != nil {
		t.Fatal(err)
	}
	want := int64((writers - writers/5) * 3)
	if db.Dialect == sqldb.Postgres {
		want += 4 // the slow writer's record and the writer that did not wait
	}
	if !v.OK || v.Records != want || v.HeadSeq != want {
		t.Errorf("verification %+v, want %d records in one unbroken chain", v, want)
	}
	if n, err := svc.Pending(ctx); err != nil || n != 0 {
		t.Errorf("%d records still queued (%v) after Verify sealed", n, err)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record of %s is in the log %d times", id, n)
		}
	}
	for i := 0; i < writers; i += 5 {
		if seen[fmt.Sprint(i)] != 0 {
			t.Errorf("rolled-back writer %d left a record", i)
		}
	}
}
