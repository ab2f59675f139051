package main

import (
	"context"

	"github.com/steward-itaas/steward/internal/sqldb"
)

// bulkTable gathers rows for a multi-row INSERT: the benchmarks write
// their fixtures straight into the database, in bulk, to measure what
// they measure rather than the API that would build the fixture.
type bulkTable struct {
	head string // INSERT INTO t (…)
	cols int
	rows [][]any
}

// flush writes the rows gathered so far through sqldb.Bulk, the one
// multi-row INSERT.
func (t *bulkTable) flush(ctx context.Context, tx *sqldb.Tx) error {
	rows := t.rows
	t.rows = nil
	return sqldb.Bulk{Object: "benchmark fixtures", Head: t.head, Cols: t.cols, Rows: len(rows),
		Args: func(i int, args []any) []any { return append(args, rows[i]...) }}.Insert(ctx, tx)
}
