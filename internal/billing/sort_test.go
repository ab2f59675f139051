package billing_test

import (
	"slices"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestDocumentsSort: issue 18, lists page "in a stable order, with
// filters and sorts that people need". Documents come newest period
// first, or oldest first with sort=oldest, walked a page at a time; any
// other sort is refused naming it, and a cursor keeps its order.
func TestDocumentsSort(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.plan("desk", "EUR", []rating.Component{{Code: "base", Name: "Monthly fee", Kind: rating.Flat, Price: "10.00"}})
	f.instance("a", "corp", [4]string{"desk", "1", "2026-08-01T00:00:00Z", ""})
	for _, m := range []string{"2026-08", "2026-09", "2026-10", "2026-11"} {
		f.run(m)
	}
	walk := func(sort string) ([]string, string) {
		var periods []string
		first := ""
		for page := (sqldb.Page{Limit: 1}); ; {
			pg, err := f.bill.Documents(f.ctx, sys, billing.DocumentFilter{Sort: sort, Page: page})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range pg.Items {
				periods = append(periods, d.PeriodStart.Format("2006-01"))
			}
			if first == "" {
				first = pg.Next
			}
			if page.Cursor = pg.Next; page.Cursor == "" {
				return periods, first
			}
		}
	}
	newest, cursor := walk("")
	if want := []string{"2026-11", "2026-10", "2026-09", "2026-08"}; !slices.Equal(newest, want) {
		t.Fatalf("newest first: %v, want %v", newest, want)
	}
	if again, _ := walk("newest"); !slices.Equal(again, newest) {
		t.Errorf("sort=newest: %v, the default %v", again, newest)
	}
	oldest, _ := walk("oldest")
	slices.Reverse(oldest)
	if !slices.Equal(oldest, newest) {
		t.Errorf("sort=oldest reversed: %v, want %v", oldest, newest)
	}
	for _, bad := range []billing.DocumentFilter{{Sort: "total"}, {Sort: "oldest", Page: sqldb.Page{Cursor: cursor}}} {
		_, err := f.bill.Documents(f.ctx, sys, bad)
		want := "sort"
		if bad.Cursor != "" {
			want = "cursor"
		}
		if e := errs.As(err); e == nil || len(e.Fields) != 1 || e.Fields[0].Field != want {
			t.Errorf("%+v: %v, want invalid naming %s", bad, err, want)
		}
	}
}
