package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The toolkit every domain package reads and writes with, so that no
// package numbers placeholders, loops over rows, maps not-found or decodes
// stored JSON by hand (issue 17, item 20):
//
//   - QueryAll and QueryOne run a query and scan its rows with one function,
//     mapping errors once (no rows → not_found for QueryOne).
//   - JSON[T] is a JSON TEXT column: it encodes on write and reports a
//     decode error on read instead of leaving a zero value.
//   - Args numbers the bind parameters of a query built in pieces ($1, $2 …).
//   - Bulk is the one multi-row INSERT, chunked under both databases'
//     parameter limits.

// Scanner is a row to scan: *sql.Row or *sql.Rows.
type Scanner interface{ Scan(...any) error }

// QueryAll runs a query and scans every row with scan; object names what
// is read in errors. The result is never nil.
func QueryAll[T any](ctx context.Context, q Querier, object string, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, Err(err, object)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, Err(err, object)
		}
		out = append(out, v)
	}
	return out, Err(rows.Err(), object)
}

// QueryOne runs a query expected to return one row and scans it with scan.
// It returns a not_found error saying "<object> not found" when there is no
// row (the one place no rows becomes not-found), and maps other errors with
// Err. Rows after the first are ignored.
func QueryOne[T any](ctx context.Context, q Querier, object string, scan func(Scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if err != nil {
		var zero T
		return zero, Err(err, object)
	}
	return v, nil
}

// JSON is a column holding a T as JSON text (JSON columns are TEXT in both
// dialects). As a parameter it writes V encoded; as a scan destination it
// decodes into V, and a stored value that is not a T is an error rather
// than a silently empty V. NULL and the empty string read as T's zero
// value.
//
//	var params sqldb.JSON[map[string]any]
//	row.Scan(&id, &params)
//	tx.ExecContext(ctx, `UPDATE t SET params = $1`, sqldb.JSON[map[string]any]{V: m})
type JSON[T any] struct{ V T }

var (
	_ sql.Scanner   = (*JSON[int])(nil)
	_ driver.Valuer = JSON[int]{}
)

// JSONOf wraps v for writing as a JSON column.
func JSONOf[T any](v T) JSON[T] { return JSON[T]{V: v} }

// Value encodes V as JSON text.
func (j JSON[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, fmt.Errorf("encode %T as JSON: %w", j.V, err)
	}
	return string(b), nil
}

// Scan decodes a stored JSON text into V.
func (j *JSON[T]) Scan(src any) error {
	var zero T
	j.V = zero
	var b []byte
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("stored JSON is a %T, not text", src)
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, &j.V); err != nil {
		return fmt.Errorf("stored JSON does not decode as %T: %w", j.V, err)
	}
	return nil
}

// Args holds the bind parameters of a query built in pieces and numbers
// their placeholders, so no caller counts them: it is a []any, passed to
// the query as args... Both dialects take the same $n placeholders.
//
//	args := sqldb.Args{since}                    // $1 in the fixed part
//	where := "at >= $1 AND kind = " + args.Add(kind) // $2
type Args []any

// Add appends v and returns its placeholder ("$3").
func (a *Args) Add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// In returns "column IN ($n, …)" with one parameter per value, appended to
// args; no values give "1 = 0", which matches nothing (PostgreSQL refuses
// an empty IN list).
func In[T any](args *Args, column string, values []T) string {
	if len(values) == 0 {
		return "1 = 0"
	}
	return column + " IN " + List(args, values)
}

// List returns "($n, …)" with one parameter per value, appended to args,
// for a list named more than once ("a IN " + list + " OR b IN " + list).
// It must not be given no values: SQL has no empty list.
func List[T any](args *Args, values []T) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(args.Add(v))
	}
	b.WriteByte(')')
	return b.String()
}

// Placeholders writes one row of count bind parameters, numbered from n+1,
// for a multi-row INSERT: "($1,$2)" on PostgreSQL, "(?,?)" on SQLite,
// which parses numbered parameters in time quadratic in their number.
// (A "?" takes the number after the largest before it, so the two agree
// when the rows come after parameters $1 … $n.) Prefer Bulk.
func Placeholders(b *strings.Builder, d Dialect, n, count int) {
	b.WriteByte('(')
	for j := range count {
		if j > 0 {
			b.WriteByte(',')
		}
		if d == Postgres {
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n + j + 1))
		} else {
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
}

// Bulk limits: a statement carries at most bulkRows rows and bulkParams
// parameters, far below SQLite's 32766 and PostgreSQL's 65535 bind
// parameters, and about where a bigger statement stops being faster.
const (
	bulkRows   = 400
	bulkParams = 8000
)

// Bulk is a multi-row INSERT of Rows rows of Cols values each:
// "Head VALUES (…), (…) Tail", run in as many statements as the parameter
// limits need.
type Bulk struct {
	// Object names what is written, in errors ("usage events").
	Object string
	// Head is the statement up to VALUES: "INSERT INTO t (a, b)".
	Head string
	// Tail follows the rows: an ON CONFLICT clause, a RETURNING list, or "".
	Tail string
	// Cols is the number of values of each row; Rows the number of rows.
	Cols, Rows int
	// Args appends row i's Cols values to args and returns it.
	Args func(i int, args []any) []any
	// Scan, when set, reads each row the statement returns (its RETURNING).
	Scan func(Scanner) error
}

// Insert runs the INSERT in tx; nothing is done for no rows. Errors are
// mapped with Err about b.Object; an error Scan returns is mapped the same
// way (an *errs.Error passes through).
func (b Bulk) Insert(ctx context.Context, tx *Tx) error {
	if b.Cols < 1 || b.Cols > bulkParams {
		return fmt.Errorf("bulk insert of %s: %d columns", b.Object, b.Cols)
	}
	per := min(bulkRows, bulkParams/b.Cols)
	for start := 0; start < b.Rows; start += per {
		end := min(start+per, b.Rows)
		var sb strings.Builder
		sb.Grow(len(b.Head) + len(b.Tail) + 8 + (end-start)*(b.Cols*6+3))
		sb.WriteString(b.Head)
		sb.WriteString(" VALUES ")
		args := make([]any, 0, (end-start)*b.Cols)
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteByte(',')
			}
			Placeholders(&sb, tx.Dialect, len(args), b.Cols)
			args = b.Args(i, args)
			if want := (i - start + 1) * b.Cols; len(args) != want {
				return fmt.Errorf("bulk insert of %s: row %d gave %d values, want %d", b.Object, i, len(args)-want+b.Cols, b.Cols)
			}
		}
		sb.WriteString(b.Tail)
		if b.Scan == nil {
			if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
				return Err(err, b.Object)
			}
			continue
		}
		if err := b.query(ctx, tx, sb.String(), args); err != nil {
			return err
		}
	}
	return nil
}

func (b Bulk) query(ctx context.Context, tx *Tx, query string, args []any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return Err(err, b.Object)
	}
	defer rows.Close()
	for rows.Next() {
		if err := b.Scan(rows); err != nil {
			return Err(err, b.Object)
		}
	}
	return Err(rows.Err(), b.Object)
}
