package sqldb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// The toolkit of issue 17, item 20, on whichever engine the tests run on
// (SQLite, or PostgreSQL with STEWARD_TEST_POSTGRES).

func setSettings(t *testing.T, db *sqldb.DB, kv ...string) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *sqldb.Tx) error {
		for i := 0; i < len(kv); i += 2 {
			if _, err := tx.ExecContext(context.Background(), `INSERT INTO settings (key, value) VALUES ($1, $2)`, kv[i], kv[i+1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func scanString(row sqldb.Scanner) (string, error) {
	var s string
	return s, row.Scan(&s)
}

func TestQueryOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.Open(t)
	setSettings(t, db, "a", "1", "b", "2")

	got, err := sqldb.QueryOne(ctx, db.Read(), "setting", scanString, `SELECT value FROM settings WHERE key = $1`, "b")
	if err != nil || got != "2" {
		t.Errorf("QueryOne(b) = %q, %v; want \"2\"", got, err)
	}
	_, err = sqldb.QueryOne(ctx, db.Read(), "setting", scanString, `SELECT value FROM settings WHERE key = $1`, "nope")
	if !errs.Is(err, errs.CodeNotFound) || !strings.Contains(err.Error(), "setting not found") {
		t.Errorf("QueryOne(nope): %v, want not_found saying \"setting not found\"", err)
	}
	// A failing scan is internal, not not-found.
	_, err = sqldb.QueryOne(ctx, db.Read(), "setting", func(row sqldb.Scanner) (int, error) {
		var a, b string
		return 0, row.Scan(&a, &b)
	}, `SELECT value FROM settings WHERE key = $1`, "a")
	if !errs.Is(err, errs.CodeInternal) {
		t.Errorf("QueryOne with a bad scan: %v, want internal", err)
	}
	// A bad query is internal too.
	_, err = sqldb.QueryOne(ctx, db.Read(), "setting", scanString, `SELECT nope FROM settings`)
	if !errs.Is(err, errs.CodeInternal) {
		t.Errorf("QueryOne with a bad query: %v, want internal", err)
	}
}

func TestQueryAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.Open(t)
	setSettings(t, db, "a", "1", "b", "2", "c", "3")
	got, err := sqldb.QueryAll(ctx, db.Read(), "settings", scanString, `SELECT value FROM settings WHERE key <> $1 ORDER BY key`, "b")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1", "3"}, got); diff != "" {
		t.Errorf("QueryAll (-want +got):\n%s", diff)
	}
	none, err := sqldb.QueryAll(ctx, db.Read(), "settings", scanString, `SELECT value FROM settings WHERE key = 'nope'`)
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("QueryAll of nothing = %#v, %v; want an empty, non-nil slice", none, err)
	}
}

type doc struct {
	Name  string         `json:"name"`
	Tags  []string       `json:"tags"`
	Extra map[string]int `json:"extra,omitempty"`
}

func TestJSONColumn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.Open(t)
	want := doc{Name: "x", Tags: []string{"a", "b"}, Extra: map[string]int{"n": 1}}
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2), ($3, $4), ($5, $6)`,
			"good", sqldb.JSONOf(want), "bad", `{"name": 5}`, "empty", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func(key string) (doc, error) {
		return sqldb.QueryOne(ctx, db.Read(), "setting", func(row sqldb.Scanner) (doc, error) {
			var j sqldb.JSON[doc]
			err := row.Scan(&j)
			return j.V, err
		}, `SELECT value FROM settings WHERE key = $1`, key)
	}
	got, err := read("good")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	var raw string
	if err := db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'good'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"x","tags":["a","b"],"extra":{"n":1}}`; raw != want {
		t.Errorf("stored %s, want %s", raw, want)
	}
	// A stored value that does not decode is an error, not an empty doc.
	if got, err := read("bad"); !errs.Is(err, errs.CodeInternal) || !strings.Contains(err.Error(), "does not decode") {
		t.Errorf("bad JSON read as %+v, %v; want an internal decode error", got, err)
	}
	if got, err := read("empty"); err != nil || got.Name != "" || got.Tags != nil {
		t.Errorf("empty text read as %+v, %v; want the zero doc", got, err)
	}
	// NULL reads as the zero value, and a reused JSON forgets its last value.
	j := sqldb.JSON[doc]{V: want}
	if err := j.Scan(nil); err != nil || j.V.Name != "" {
		t.Errorf("Scan(nil) = %+v, %v; want the zero doc", j.V, err)
	}
	if err := j.Scan(42); err == nil {
		t.Errorf("Scan(42) = %+v, nil; want an error", j.V)
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.Open(t)
	setSettings(t, db, "a", "1", "b", "2", "c", "3", "d", "4")

	args := sqldb.Args{"0"}
	q := `SELECT key FROM settings WHERE value > $1 AND key <> ` + args.Add("d") + ` AND ` + sqldb.In(&args, "key", []string{"a", "c", "d"})
	if want := `SELECT key FROM settings WHERE value > $1 AND key <> $2 AND key IN ($3,$4,$5)`; q != want {
		t.Errorf("query\n%s\nwant\n%s", q, want)
	}
	got, err := sqldb.QueryAll(ctx, db.Read(), "settings", scanString, q+` ORDER BY key`, args...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "c"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	list := sqldb.Args{}
	if got := sqldb.List(&list, []int{7, 8}); got != "($1,$2)" || len(list) != 2 {
		t.Errorf("List = %q with %v, want ($1,$2) with two arguments", got, list)
	}
	var none sqldb.Args
	q = `SELECT key FROM settings WHERE ` + sqldb.In(&none, "key", []string(nil))
	got, err = sqldb.QueryAll(ctx, db.Read(), "settings", scanString, q, none...)
	if err != nil || len(got) != 0 || len(none) != 0 {
		t.Errorf("an empty IN list matched %v, %v with args %v; want nothing", got, err, none)
	}

	// PathScope numbers its parameters after those given.
	where, pargs := sqldb.PathScope(false, []string{"/a/", "/b/"}, "p", []any{1})
	if want := `(p LIKE $2 OR p LIKE $3)`; where != want || len(pargs) != 3 {
		t.Errorf("PathScope = %q %v, want %q and 3 arguments", where, pargs, want)
	}
}

func TestBulkInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.Open(t)
	setSettings(t, db, "k0005", "old", "k0999", "old")

	// 1001 rows: three statements of at most 400; two keys exist already.
	const n = 1001
	var returned []string
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		return sqldb.Bulk{
			Object: "settings", Head: `INSERT INTO settings (key, value)`, Tail: ` ON CONFLICT (key) DO NOTHING RETURNING key`,
			Cols: 2, Rows: n,
			Args: func(i int, args []any) []any { return append(args, fmt.Sprintf("k%04d", i), fmt.Sprint(i)) },
			Scan: func(row sqldb.Scanner) error {
				var k string
				err := row.Scan(&k)
				returned = append(returned, k)
				return err
			},
		}.Insert(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(returned) != n-2 {
		t.Errorf("RETURNING gave %d new rows, want %d", len(returned), n-2)
	}
	var count int
	var sum int64
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM settings WHERE value <> 'old'`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if err := db.Read().QueryRowContext(ctx, `SELECT CAST(SUM(CAST(value AS BIGINT)) AS BIGINT) FROM settings WHERE value <> 'old'`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if want := int64(n*(n-1)/2 - 5 - 999); count != n-2 || sum != want {
		t.Errorf("stored %d rows summing to %d, want %d summing to %d", count, sum, n-2, want)
	}

	// A wide table: 40 columns make 200 rows a statement, under the parameter cap.
	const cols = 40
	var defs, names []string
	for c := range cols {
		defs = append(defs, fmt.Sprintf("c%d BIGINT NOT NULL", c))
		names = append(names, fmt.Sprintf("c%d", c))
	}
	const wide = 450
	err = db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE bulk_wide (`+strings.Join(defs, ", ")+`)`); err != nil {
			return err
		}
		return sqldb.Bulk{
			Object: "wide rows", Head: `INSERT INTO bulk_wide (` + strings.Join(names, ", ") + `)`, Cols: cols, Rows: wide,
			Args: func(i int, args []any) []any {
				for c := range cols {
					args = append(args, int64(i*cols+c))
				}
				return args
			},
		}.Insert(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*), CAST(SUM(c39 - c0) AS BIGINT) FROM bulk_wide`).Scan(&count, &sum); err != nil {
		t.Fatal(err)
	}
	if count != wide || sum != wide*(cols-1) {
		t.Errorf("wide table holds %d rows with c39-c0 summing to %d, want %d and %d", count, sum, wide, wide*(cols-1))
	}

	// Errors are mapped once: a duplicate is a conflict about the object.
	err = db.Tx(ctx, func(tx *sqldb.Tx) error {
		return sqldb.Bulk{Object: "settings", Head: `INSERT INTO settings (key, value)`, Cols: 2, Rows: 1,
			Args: func(i int, args []any) []any { return append(args, "k0005", "again") }}.Insert(ctx, tx)
	})
	if !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "settings already exists") {
		t.Errorf("duplicate bulk row: %v, want conflict", err)
	}
	// A row with the wrong number of values is refused before it is sent.
	err = db.Tx(ctx, func(tx *sqldb.Tx) error {
		return sqldb.Bulk{Object: "settings", Head: `INSERT INTO settings (key, value)`, Cols: 2, Rows: 1,
			Args: func(i int, args []any) []any { return append(args, "only a key") }}.Insert(ctx, tx)
	})
	if err == nil || !strings.Contains(err.Error(), "gave 1 values, want 2") {
		t.Errorf("short row: %v, want an error naming the count", err)
	}
}
