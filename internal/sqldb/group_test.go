package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestSharedCommitsKeepEachCallersOutcome: on SQLite, writers that queue
// share commits (group.go). Run concurrently, each caller must still get
// its own outcome: the work of those whose function succeeded committed,
// of those whose function failed or panicked absent, of those whose
// context ended before their turn never run, and a panic goes on in its
// caller without stopping the writer.
func TestSharedCommitsKeepEachCallersOutcome(t *testing.T) {
	ctx := context.Background()
	db := liteWith(t, `CREATE TABLE w (v INTEGER PRIMARY KEY, who TEXT NOT NULL)`)
	errOdd := errors.New("odd callers fail")
	const callers = 200
	results := make([]error, callers)
	panics := make([]any, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			cctx := ctx
			if i%10 == 4 {
				c, cancel := context.WithCancel(ctx)
				cancel()
				cctx = c
			}
			results[i] = db.Tx(cctx, func(tx *sqldb.Tx) error {
				// Two rows each, so a half-undone caller would show.
				for _, v := range []int{i, i + callers} {
					if _, err := tx.ExecContext(ctx, `INSERT INTO w (v, who) VALUES ($1, $2)`, v, fmt.Sprint(i)); err != nil {
						return err
					}
				}
				switch {
				case i%10 == 7:
					panic(fmt.Sprintf("caller %d panics", i))
				case i%2 == 1:
					return errOdd
				}
				return nil
			})
		}()
	}
	wg.Wait()
	rows := map[int]bool{}
	err := func() error {
		rs, err := db.Read().QueryContext(ctx, `SELECT v FROM w`)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var v int
			if err := rs.Scan(&v); err != nil {
				return err
			}
			rows[v] = true
		}
		return rs.Err()
	}()
	if err != nil {
		t.Fatal(err)
	}
	for i := range callers {
		committed := rows[i] && rows[i+callers]
		if rows[i] != rows[i+callers] {
			t.Errorf("caller %d: half its work is there", i)
		}
		switch {
		case i%10 == 4:
			if !errors.Is(results[i], context.Canceled) || committed {
				t.Errorf("caller %d, cancelled before its turn: %v, committed %v", i, results[i], committed)
			}
		case i%10 == 7:
			if panics[i] == nil || committed {
				t.Errorf("caller %d, which panicked: panic %v, committed %v", i, panics[i], committed)
			}
		case i%2 == 1:
			if !errors.Is(results[i], errOdd) || committed {
				t.Errorf("caller %d, which failed: %v, committed %v", i, results[i], committed)
			}
		default:
			if results[i] != nil || panics[i] != nil || !committed {
				t.Errorf("caller %d, which succeeded: %v %v, committed %v", i, results[i], panics[i], committed)
			}
		}
	}
	// The writer goes on.
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO w (v, who) VALUES (-1, 'after')`)
		return err
	}); err != nil {
		t.Fatalf("after the run: %v", err)
	}
}

// liteWith is a fresh embedded SQLite database with the statements run.
func liteWith(t *testing.T, statements ...string) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, st := range statements {
		if err := db.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, st); return err }); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestNumbersAreUniqueAndGoOn: orders, tickets and articles are numbered
// by Tx.Next (a counters row on SQLite, a sequence on PostgreSQL): from
// where the series stood, once each under concurrent transactions, and an
// unknown series is refused.
func TestNumbersAreUniqueAndGoOn(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldbtest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const callers, each = 8, 25
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				var n int64
				if err := db.Tx(ctx, func(tx *sqldb.Tx) error {
					var err error
					n, err = tx.Next(ctx, "ticket")
					return err
				}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("ticket number %d given twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for n := int64(1); n <= callers*each; n++ {
		if !seen[n] {
			t.Errorf("ticket number %d was skipped without a rollback", n)
		}
	}
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.Next(ctx, "invoice"); return err }); err == nil {
		t.Error("invoices, which must not skip, were numbered by Next")
	}
}
