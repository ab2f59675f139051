package desk_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestRequestTurnsIntoAnOrder: a service request the catalog can fulfil
// turns into an order (issue 20: "a non-catalog request … able to turn
// into an order"). Its requester places it for the request's org unit; it
// goes to approval as any order; the request is resolved as fulfilled
// through it and shows it. Whoever may not order there, a request no
// longer open, an incident and bad items are refused and leave no order.
func TestRequestTurnsIntoAnOrder(t *testing.T) {
	f := newFixture(t)
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	other := f.person("mo@contoso.example", access.RoleConsumer, "MFG", "")
	req := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Kind: desk.Request, Service: "email", Summary: "A mailbox for our new starter",
		Description: "Jo starts on Monday in the Leeds store."}))(t).Ticket
	inc := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "Mail is slow"}))(t).Ticket
	item := []orders.ItemInput{{Offering: "mailbox", Plan: "standard", Quantity: 1}}
	countOrders := func() int {
		var n int
		if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM orders WHERE state <> 'cancelled'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := countOrders()

	if d := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t); !d.Access.Order {
		t.Errorf("the requester may not turn her open request into an order: %+v", d.Access)
	}
	if d := must(f.a.Desk.Detail(f.ctx, alex, req.Reference))(t); d.Access.Order {
		t.Errorf("an agent who may not order for Retail is offered the order: %+v", d.Access)
	}
	if d := must(f.a.Desk.Detail(f.ctx, dana, inc.Reference))(t); d.Access.Order {
		t.Errorf("an incident is offered the order: %+v", d.Access)
	}
	_, _, err := f.a.Desk.Order(f.ctx, alex, req.Reference, desk.OrderInput{Items: item})
	wantCode(t, err, errs.CodeForbidden, "an agent without order.create on Retail ordering")
	_, _, err = f.a.Desk.Order(f.ctx, other, req.Reference, desk.OrderInput{Items: item})
	wantCode(t, err, errs.CodeNotFound, "someone of another org unit ordering on the request")
	_, _, err = f.a.Desk.Order(f.ctx, dana, inc.Reference, desk.OrderInput{Items: item})
	wantCode(t, err, errs.CodeConflict, "an incident turned into an order")
	_, _, err = f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{})
	wantField(t, err, "items", "an order of nothing")
	_, _, err = f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: item, Note: strings.Repeat("x", desk.MaxOrderNote+1)})
	wantField(t, err, "note", "a note too long")
	if _, _, err = f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: []orders.ItemInput{{Offering: "no-such-thing", Plan: "standard"}}}); err == nil {
		t.Fatal("an order of an offering that does not exist was placed")
	}
	if n := countOrders(); n != before {
		t.Fatalf("refused orders left %d orders behind", n-before)
	}
	// An order that is created but cannot be submitted (over the org
	// unit's quota) is cancelled: nothing half done.
	var mailbox string
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT id FROM offerings WHERE code = 'mailbox'`).Scan(&mailbox); err != nil {
		t.Fatal(err)
	}
	must(f.a.Catalog.SetQuota(f.ctx, access.System(), catalog.QuotaInput{OrgUnitID: req.OrgUnit.ID, OfferingID: mailbox, MaxQuantity: 1}))(t)
	_, _, err = f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: []orders.ItemInput{{Offering: "mailbox", Plan: "standard", Quantity: 2}}})
	if !errs.Is(err, errs.CodeConflict) || !strings.Contains(err.Error(), "quota") {
		t.Fatalf("an order over the quota: %v, want a conflict naming the quota", err)
	}
	var cancelled int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM orders WHERE state = 'cancelled' AND note LIKE '%' || $1 || '%'`, req.Reference).Scan(&cancelled); err != nil {
		t.Fatal(err)
	}
	if cancelled != 1 {
		t.Errorf("%d cancelled drafts name the request, want the one that could not be submitted", cancelled)
	}
	must(f.a.Catalog.SetQuota(f.ctx, access.System(), catalog.QuotaInput{OrgUnitID: req.OrgUnit.ID, OfferingID: mailbox}))(t)
	if n := countOrders(); n != before {
		t.Fatalf("refused orders left %d orders behind", n-before)
	}
	if got := must(f.a.Desk.Ticket(f.ctx, dana, req.Reference))(t); got.State != desk.StateNew {
		t.Fatalf("refused orders moved the request to %s", got.State)
	}

	f.set("2026-11-16T10:30:00Z")
	o, after, err := f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: item, Note: "Jo Bloggs, jo@contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	if o.State == orders.StateDraft || o.OrgUnitID != req.OrgUnit.ID || !strings.Contains(o.Note, req.Reference) || !strings.Contains(o.Note, "Jo Bloggs") {
		t.Errorf("the order %s is %s for org unit %s with note %q: want it submitted for the request's org unit, naming the request", o.Reference(), o.State, o.OrgUnitID, o.Note)
	}
	if len(o.Items) != 1 || o.Items[0].RequestedFor != dana.UserID {
		t.Errorf("the order's items %+v, want one, for the requester", o.Items)
	}
	want := "Fulfilled through order " + o.Reference() + "."
	if after.State != desk.StateResolved || after.Resolution != want || after.ResolvedAt == nil || !after.ResolvedAt.Equal(at("2026-11-16T10:30:00Z")) {
		t.Errorf("the request is %s (%q, %v), want resolved at 10:30 with %q", after.State, after.Resolution, after.ResolvedAt, want)
	}
	d := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t)
	if len(d.Orders) != 1 || d.Orders[0].ID != o.ID || d.Orders[0].Reference != o.Reference() || d.Orders[0].State != o.State {
		t.Errorf("the request shows the orders %+v, want %s", d.Orders, o.Reference())
	}
	if d.Access.Order {
		t.Error("a resolved request is still offered the order")
	}
	comments := must(f.a.Desk.Comments(f.ctx, dana, req.Reference, sqldb.Page{}))(t).Items
	if len(comments) == 0 || comments[len(comments)-1].Body != "Ordered from the catalog as "+o.Reference()+"." {
		t.Errorf("the requester does not see the order named in the comments: %+v", comments)
	}
	_, _, err = f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: item})
	wantCode(t, err, errs.CodeConflict, "a resolved request turned into an order again")
	if n := countOrders(); n != before+1 {
		t.Errorf("%d orders, want the one", n-before)
	}
}

// TestRequestOrderedOnce: two clicks (or a retry) at once turn a request
// into one order: the other is told the request is being ordered, or is
// no longer open, and places nothing.
func TestRequestOrderedOnce(t *testing.T) {
	f := newFixture(t)
	dana := f.as("dana@contoso.example")
	req := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Kind: desk.Request, Service: "email", Summary: "A mailbox for the temp"}))(t).Ticket
	item := []orders.ItemInput{{Offering: "mailbox", Plan: "standard", Quantity: 1}}
	const n = 4
	errsCh := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, _, err := f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: item})
			errsCh <- err
		})
	}
	wg.Wait()
	close(errsCh)
	ok := 0
	for err := range errsCh {
		switch {
		case err == nil:
			ok++
		case !errs.Is(err, errs.CodeConflict):
			t.Errorf("a concurrent order: %v, want a conflict", err)
		}
	}
	var placed int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM orders WHERE state <> 'cancelled' AND note LIKE '%' || $1 || '%'`, req.Reference).Scan(&placed); err != nil {
		t.Fatal(err)
	}
	if ok != 1 || placed != 1 {
		t.Errorf("%d of %d concurrent orders went through, placing %d orders; want one", ok, n, placed)
	}
	if d := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t); d.State != desk.StateResolved || len(d.Orders) != 1 {
		t.Errorf("the request is %s with orders %+v, want resolved through one", d.State, d.Orders)
	}
}
