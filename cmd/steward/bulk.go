package main

import (
	"context"
	"strings"

	"github.com/steward-itaas/steward/internal/sqldb"
)

// bulkTable gathers rows for a multi-row INSERT: the benchmarks write
// their fixtures straight into the database, in bulk, to measure what
// they measure rather than the API that would build the fixture.
type bulkTable struct {
	head string // INSERT INTO t (…) VALUES
	cols int
	rows [][]any
}

// flush writes the rows gathered so far, a few thousand values a statement.
func (t *bulkTable) flush(ctx context.Context, tx *sqldb.Tx) error {
	for len(t.rows) > 0 {
		n := min(len(t.rows), 4000/t.cols)
		var b strings.Builder
		b.WriteString(t.head)
		var args []any
		for i, r := range t.rows[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			sqldb.Placeholders(&b, tx.Dialect, len(args), t.cols)
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		t.rows = t.rows[n:]
	}
	return nil
}
