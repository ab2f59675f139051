package orders_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestOrdersPaging walks the orders list a page at a time (issue 18): all
// orders share one creation time here, so the order rests on the ID; each
// caller sees exactly their scope, page after page, whatever cursor they
// send; the filters narrow inside the query; a bad cursor is invalid.
func TestOrdersPaging(t *testing.T) {
	f := newFixture(t)
	var retail, mfg []string
	for i := range 7 {
		in := orders.OrderInput{}
		if i%2 == 0 {
			in.Items = []orders.ItemInput{{Offering: "vm", Plan: "bronze", Parameters: map[string]any{"hostname": "h"}}}
		}
		o, err := f.ord.CreateOrder(f.ctx, f.dana, in)
		must(t, err)
		retail = append(retail, o.ID)
	}
	for range 4 {
		o, err := f.ord.CreateOrder(f.ctx, f.mo, orders.OrderInput{})
		must(t, err)
		mfg = append(mfg, o.ID)
	}
	newest := func(ids ...[]string) []string {
		out := slices.Concat(ids...)
		slices.Sort(out)
		slices.Reverse(out)
		return out
	}
	walk := func(p *access.Principal, filter orders.OrderFilter, size int) []string {
		t.Helper()
		var got []string
		filter.Page = sqldb.Page{Limit: size}
		for pages := 0; ; pages++ {
			pg, err := f.ord.Orders(f.ctx, p, filter)
			must(t, err)
			if len(pg.Items) > size || pages > 20 {
				t.Fatalf("a page of %d items for limit %d", len(pg.Items), size)
			}
			for _, o := range pg.Items {
				got = append(got, o.ID)
			}
			if pg.Next == "" {
				return got
			}
			filter.Page.Cursor = pg.Next
		}
	}
	for _, tt := range []struct {
		name   string
		p      *access.Principal
		filter orders.OrderFilter
		want   []string
	}{
		{"Dana sees Retail's", f.dana, orders.OrderFilter{}, newest(retail)},
		{"Mo sees Manufacturing's", f.mo, orders.OrderFilter{}, newest(mfg)},
		{"the system sees all", f.sys, orders.OrderFilter{}, newest(retail, mfg)},
		{"by org unit code", f.sys, orders.OrderFilter{OrgUnitID: "MFG"}, newest(mfg)},
		{"by org unit ID, outside the scope", f.mo, orders.OrderFilter{OrgUnitID: f.retail.ID}, nil},
		{"by requester", f.sys, orders.OrderFilter{RequesterID: f.dana.UserID}, newest(retail)},
		{"by offering", f.sys, orders.OrderFilter{OfferingID: "vm"}, newest([]string{retail[0], retail[2], retail[4], retail[6]})},
		{"by service", f.dana, orders.OrderFilter{ServiceID: f.service.ID}, newest([]string{retail[0], retail[2], retail[4], retail[6]})},
		{"by state", f.mo, orders.OrderFilter{State: orders.StateDraft}, newest(mfg)},
		{"created in a period", f.sys, orders.OrderFilter{From: ptr(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)), To: ptr(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))}, newest(retail, mfg)},
		{"created after", f.sys, orders.OrderFilter{From: ptr(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))}, nil},
	} {
		for _, size := range []int{1, 3, 50} {
			if diff := cmp.Diff(tt.want, walk(tt.p, tt.filter, size)); diff != "" {
				t.Errorf("%s, %d a page (-want +got):\n%s", tt.name, size, diff)
			}
		}
	}

	// A cursor grants nothing: Dana's cursor in Mo's hands pages Mo's list.
	pg, err := f.ord.Orders(f.ctx, f.dana, orders.OrderFilter{Page: sqldb.Page{Limit: 1}})
	must(t, err)
	mine, err := f.ord.Orders(f.ctx, f.mo, orders.OrderFilter{Page: sqldb.Page{Limit: 50, Cursor: pg.Next}})
	must(t, err)
	for _, o := range mine.Items {
		if !slices.Contains(mfg, o.ID) {
			t.Errorf("Mo, with Dana's cursor, sees %s", o.Reference())
		}
	}
	_, err = f.ord.Orders(f.ctx, f.dana, orders.OrderFilter{Page: sqldb.Page{Cursor: "bm90LWEtY3Vyc29y"}})
	if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
		t.Errorf("a bad cursor: %v", err)
	}
	_, err = f.ord.Orders(f.ctx, f.dana, orders.OrderFilter{OrgUnitID: "NOPE"})
	if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "org_unit" {
		t.Errorf("an unknown org unit: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestQueueAndInboxPaging walks the task queue and the approvals inbox a
// page at a time: each gives every item its reader may work or decide,
// once and oldest first, and nothing to others.
func TestQueueAndInboxPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		_, err := f.order(f.dana, "bronze", map[string]any{"hostname": fmt.Sprintf("q%d", i)})
		must(t, err)
	}
	f.policy("gold needs the sponsor", `item.plan == "gold"`, 1, orders.ApproverSponsor, "")
	for i := range 4 {
		_, err := f.order(f.dana, "gold", map[string]any{"hostname": fmt.Sprintf("g%d", i)})
		must(t, err)
	}
	walk := func(read func(sqldb.Page) ([]string, string, error)) []string {
		t.Helper()
		var got []string
		p := sqldb.Page{Limit: 2}
		for pages := 0; pages < 10; pages++ {
			ids, next, err := read(p)
			must(t, err)
			got = append(got, ids...)
			if next == "" {
				return got
			}
			p.Cursor = next
		}
		t.Fatal("the pages do not end")
		return nil
	}
	tasks := func(p *access.Principal) func(sqldb.Page) ([]string, string, error) {
		return func(pg sqldb.Page) ([]string, string, error) {
			l, err := f.ord.Tasks(f.ctx, p, orders.TaskFilter{Page: pg})
			var ids []string
			for _, t := range l.Items {
				ids = append(ids, t.ID)
			}
			return ids, l.Next, err
		}
	}
	all, err := f.ord.Tasks(f.ctx, f.agent, orders.TaskFilter{Page: sqldb.Page{Limit: 500}})
	must(t, err)
	var want []string
	for _, t := range all.Items {
		want = append(want, t.ID)
	}
	if len(want) != 5 {
		t.Fatalf("the agent's queue has %d tasks, want 5", len(want))
	}
	if diff := cmp.Diff(want, walk(tasks(f.agent))); diff != "" {
		t.Errorf("the queue a page at a time (-want +got):\n%s", diff)
	}
	if got := walk(tasks(f.outside)); len(got) != 0 {
		t.Errorf("someone outside the group sees %d tasks", len(got))
	}
	inbox := func(p *access.Principal) func(sqldb.Page) ([]string, string, error) {
		return func(pg sqldb.Page) ([]string, string, error) {
			l, err := f.ord.Inbox(f.ctx, p, pg)
			var ids []string
			for _, it := range l.Items {
				ids = append(ids, it.Approval.ID)
			}
			return ids, l.Next, err
		}
	}
	got := walk(inbox(f.sponsor))
	if len(got) != 4 || len(slices.Compact(slices.Clone(got))) != 4 {
		t.Errorf("the sponsor's inbox a page at a time: %v, want 4 approvals once each", got)
	}
	if got := walk(inbox(f.fin)); len(got) != 0 {
		t.Errorf("finance sees %d of the sponsor's approvals", len(got))
	}
}
