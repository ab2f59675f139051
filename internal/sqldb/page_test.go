package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

type pageRow struct {
	At time.Time
	ID string
}

// TestPaging walks a list whose first key repeats (many rows share a
// time) page by page in both directions, on the engine under test, and
// checks every row comes exactly once and in order; then that a cursor of
// another order, or one that does not decode, is refused naming "cursor".
func TestPaging(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE page_rows (at TIMESTAMP NOT NULL, id TEXT NOT NULL PRIMARY KEY)`); err != nil {
			return err
		}
		base := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
		var rows [][]any
		for i := range 23 {
			rows = append(rows, []any{sqldb.Time(base.Add(time.Duration(i/4) * time.Microsecond * 1500)), fmt.Sprintf("r%02d", (i*7)%23)})
		}
		return sqldb.Bulk{Object: "rows", Head: "INSERT INTO page_rows (at, id)", Cols: 2, Rows: len(rows),
			Args: func(i int, args []any) []any { return append(args, rows[i]...) }}.Insert(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(s sqldb.Scanner) (pageRow, error) {
		var r pageRow
		err := s.Scan(&r.At, &r.ID)
		r.At = r.At.UTC()
		return r, err
	}
	read := func(o sqldb.Order, p sqldb.Page) (sqldb.Paged[pageRow], error) {
		var at time.Time
		var id string
		args := sqldb.Args{}
		seek, err := o.Seek(&args, p, &at, &id)
		if err != nil {
			return sqldb.Paged[pageRow]{}, err
		}
		rows, err := sqldb.QueryAll(ctx, db.Read(), "rows", scan, `SELECT at, id FROM page_rows WHERE `+seek+o.By()+o.Limit(&args, p), args...)
		return sqldb.PageOf(rows, p, o, func(r pageRow) []any { return []any{r.At, r.ID} }), err
	}
	for _, desc := range []bool{false, true} {
		o := sqldb.Order{Name: "at", Columns: []string{"at", "id"}, Desc: desc}
		all, err := read(o, sqldb.Page{Limit: 500})
		if err != nil || len(all.Items) != 23 || all.Next != "" {
			t.Fatalf("one page of all: %d items, next %q, %v", len(all.Items), all.Next, err)
		}
		for _, size := range []int{1, 4, 5, 22, 23} {
			var got []pageRow
			p := sqldb.Page{Limit: size}
			for pages := 0; ; pages++ {
				pg, err := read(o, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(pg.Items) > size || pages > 30 {
					t.Fatalf("page of %d items for limit %d", len(pg.Items), size)
				}
				got = append(got, pg.Items...)
				if pg.Next == "" {
					break
				}
				p.Cursor = pg.Next
			}
			if fmt.Sprint(got) != fmt.Sprint(all.Items) {
				t.Errorf("desc=%v limit %d: paged\n%v\nwant\n%v", desc, size, got, all.Items)
			}
		}
	}
	first, _ := read(sqldb.Order{Name: "at", Columns: []string{"at", "id"}}, sqldb.Page{Limit: 2})
	for _, c := range []string{first.Next[:len(first.Next)-2], "not base64!", sqldb.Order{Name: "name", Columns: []string{"at", "id"}}.Cursor("x", "y")} {
		_, err := read(sqldb.Order{Name: "at", Columns: []string{"at", "id"}}, sqldb.Page{Cursor: c})
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
			t.Errorf("cursor %q: %v, want invalid naming cursor", c, err)
		}
	}
	if (sqldb.Page{}).Size() != 50 || (sqldb.Page{Limit: 9999}).Size() != 500 {
		t.Error("page sizes")
	}
}

func TestPageSlice(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	var got []string
	p := sqldb.Page{Limit: 2}
	for range 10 {
		pg, err := sqldb.PageSlice(items, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pg.Items...)
		if pg.Next == "" {
			break
		}
		p.Cursor = pg.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(items) {
		t.Errorf("paged %v", got)
	}
	if _, err := sqldb.PageSlice(items, sqldb.Page{Cursor: sqldb.Order{Name: "at", Columns: []string{"at"}}.Cursor("x")}); err == nil {
		t.Error("a keyset cursor was taken by a slice")
	}
}
