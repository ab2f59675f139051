package sqldb_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestBeforeCommit: work registered with BeforeCommit runs after the
// transaction's function returned, in the order registered (a hook may
// register another), inside the transaction: an error there rolls all of
// it back. On PostgreSQL a row such work locks is not locked while the
// function runs, so another writer needing it does not wait for the rest
// of the transaction (issue 20: the audit chain's head row queued every
// raise behind the others).
func TestBeforeCommit(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE commit_hooks (n INTEGER NOT NULL, at INTEGER NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	step := 0
	put := func(tx *sqldb.Tx, n int) error {
		step++
		_, err := tx.ExecContext(ctx, `INSERT INTO commit_hooks (n, at) VALUES ($1, $2)`, n, step)
		return err
	}
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := put(tx, 1); err != nil {
			return err
		}
		tx.BeforeCommit(func() error {
			tx.BeforeCommit(func() error { return put(tx, 4) })
			return put(tx, 2)
		})
		tx.BeforeCommit(func() error { return put(tx, 3) })
		return put(tx, 5)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sqldb.QueryAll(ctx, db.Read(), "hooks", func(r sqldb.Scanner) (int, error) {
		var n int
		return n, r.Scan(&n)
	}, `SELECT n FROM commit_hooks ORDER BY at`)
	if err != nil || !slices.Equal(got, []int{1, 5, 2, 3, 4}) {
		t.Fatalf("rows in the order written: %v (%v), want 1 5 2 3 4", got, err)
	}
	failed := errors.New("the hook fails")
	err = db.Tx(ctx, func(tx *sqldb.Tx) error {
		tx.BeforeCommit(func() error { return failed })
		return put(tx, 6)
	})
	var n int
	if qerr := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM commit_hooks WHERE n = 6`).Scan(&n); !errors.Is(err, failed) || qerr != nil || n != 0 {
		t.Errorf("a failing hook: %v, and %d rows of its transaction (%v); want its error and none", err, n, qerr)
	}

	if db.Dialect != sqldb.Postgres {
		return // SQLite's writer is one at a time whatever the hooks do
	}
	inFn, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *sqldb.Tx) error {
			tx.BeforeCommit(func() error {
				_, err := tx.ExecContext(ctx, `UPDATE commit_hooks SET at = at + 100 WHERE n = 1`)
				return err
			})
			close(inFn)
			<-release // the rest of a long transaction
			return nil
		})
	}()
	<-inFn
	other := make(chan error, 1)
	go func() {
		other <- db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE commit_hooks SET at = at + 1000 WHERE n = 1`)
			return err
		})
	}()
	select {
	case err := <-other:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("another writer waited for the row a hook locks while the transaction's function ran")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
