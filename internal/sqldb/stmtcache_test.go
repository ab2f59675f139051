package sqldb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestPreparedStatementsKeepMeaning: SQLite connections keep statements
// prepared (stmtcache.go). A query run again while its rows are still open
// on the same connection, a statement pushed out of a full cache and run
// again, a failing statement, and rows closed early must all answer as an
// unprepared query would.
func TestPreparedStatementsKeepMeaning(t *testing.T) {
	ctx := context.Background()
	db := liteWith(t, `CREATE TABLE n (v INTEGER PRIMARY KEY)`)
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		for i := 1; i <= 5; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO n (v) VALUES ($1)`, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const above = `SELECT v FROM n WHERE v > $1 ORDER BY v`
	sum := func(q sqldb.Querier, from int) (int, error) {
		rows, err := q.QueryContext(ctx, above, from)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		total := 0
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return 0, err
			}
			total += v
		}
		return total, rows.Err()
	}
	// In one transaction (one connection): the same query inside its own
	// loop, twice over.
	err = db.Tx(ctx, func(tx *sqldb.Tx) error {
		for round := range 2 {
			rows, err := tx.QueryContext(ctx, above, 0)
			if err != nil {
				return err
			}
			var pairs []int
			for rows.Next() {
				var v int
				if err := rows.Scan(&v); err != nil {
					return err
				}
				inner, err := sum(tx, v)
				if err != nil {
					return err
				}
				pairs = append(pairs, v, inner)
			}
			rows.Close()
			if got, want := fmt.Sprint(pairs), "[1 14 2 12 3 9 4 5 5 0]"; got != want {
				return fmt.Errorf("round %d: nested sums %s, want %s", round, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rows left after the first row, then the query again.
	for range 3 {
		rows, err := db.Read().QueryContext(ctx, above, 0)
		if err != nil {
			t.Fatal(err)
		}
		rows.Next()
		rows.Close()
	}
	if got, err := sum(db.Read(), 2); err != nil || got != 12 {
		t.Fatalf("after rows closed early: %d %v, want 12", got, err)
	}
	// More distinct statements than a connection keeps, then the first.
	for i := range 600 {
		var v int
		if err := db.Read().QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + v FROM n WHERE v = $1`, i), 1).Scan(&v); err != nil || v != i+1 {
			t.Fatalf("statement %d: %d %v", i, v, err)
		}
	}
	if got, err := sum(db.Read(), 4); err != nil || got != 5 {
		t.Fatalf("after the cache turned over: %d %v, want 5", got, err)
	}
	// A statement that fails, then succeeds with other arguments; a
	// statement that does not compile.
	const insert = `INSERT INTO n (v) VALUES ($1)`
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, insert, 1); return err }); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, insert, 6); return err }); err != nil {
		t.Fatalf("the statement after a failed run: %v", err)
	}
	if _, err := db.Read().QueryContext(ctx, `SELEC v FROM n`); err == nil {
		t.Fatal("a statement that does not compile ran")
	}
	if got, err := sum(db.Read(), 0); err != nil || got != 21 {
		t.Fatalf("at the end: %d %v, want 21", got, err)
	}
}
