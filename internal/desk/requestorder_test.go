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
	// The request stays open while its order is fulfilled (the wait is
	// the customer's: its clocks run), and says so.
	if after.State != desk.StateNew || after.ResolvedAt != nil {
		t.Errorf("the request is %s (resolved at %v) while its order is %s, want it open", after.State, after.ResolvedAt, o.State)
	}
	d := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t)
	if len(d.Orders) != 1 || d.Orders[0].ID != o.ID || d.Orders[0].Reference != o.Reference() || d.Orders[0].State != o.State {
		t.Errorf("the request shows the orders %+v, want %s", d.Orders, o.Reference())
	}
	comments := must(f.a.Desk.Comments(f.ctx, dana, req.Reference, sqldb.Page{}))(t).Items
	if len(comments) == 0 || comments[len(comments)-1].Body != "Ordered from the catalog as "+o.Reference()+". This request is resolved when the order is fulfilled." {
		t.Errorf("the requester does not see the order named in the comments: %+v", comments)
	}
	// The order's task is done at 11:15: the request is resolved as
	// fulfilled through it when the event is dispatched.
	f.set("2026-11-16T11:15:00Z")
	completeTasks(t, f, o.ID, orders.TaskResult{Done: true})
	dispatch(t, f)
	want := "Fulfilled through order " + o.Reference() + "."
	got := must(f.a.Desk.Ticket(f.ctx, dana, req.Reference))(t)
	if got.State != desk.StateResolved || got.Resolution != want || got.ResolvedAt == nil || !got.ResolvedAt.Equal(at("2026-11-16T11:15:00Z")) {
		t.Errorf("after its order completed the request is %s (%q, %v), want resolved at 11:15 with %q", got.State, got.Resolution, got.ResolvedAt, want)
	}
	if d := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t); d.Access.Order {
		t.Error("a resolved request is still offered the order")
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
	if d := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t); d.State.Open() != true || len(d.Orders) != 1 {
		t.Errorf("the request is %s with orders %+v, want open with one", d.State, d.Orders)
	}
}

// TestRequestFollowsItsOrder: a request stays open until its order is
// fulfilled (issue 20); when the order fails, whoever works the request
// is told (ticket.order_ended) and the request stays open, to be ordered
// again; the event settles it once however often it is dispatched.
func TestRequestFollowsItsOrder(t *testing.T) {
	f := newFixture(t)
	dana := f.as("dana@contoso.example")
	req := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Kind: desk.Request, Service: "email", Summary: "A mailbox for the temp"}))(t).Ticket
	item := []orders.ItemInput{{Offering: "mailbox", Plan: "standard", Quantity: 1}}
	o, _, err := f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: item})
	if err != nil {
		t.Fatal(err)
	}
	completeTasks(t, f, o.ID, orders.TaskResult{Note: "no licences left"})
	dispatch(t, f)
	got := must(f.a.Desk.Detail(f.ctx, dana, req.Reference))(t)
	if !got.State.Open() || !got.Access.Order || len(got.Orders) != 1 || got.Orders[0].State != orders.StateFailed {
		t.Fatalf("after its order failed the request is %s (may order again: %v), orders %+v; want it open, to order again", got.State, got.Access.Order, got.Orders)
	}
	var ended int
	var notice string
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*), MAX(notice_json) FROM outbox_events WHERE type = 'ticket.order_ended' AND subject = $1`,
		"tickets/"+req.Reference).Scan(&ended, &notice); err != nil || ended != 1 || !strings.Contains(notice, "could not be fulfilled") || !strings.Contains(notice, "no licences left") {
		t.Errorf("ticket.order_ended events: %d (%v), notice %s; want one saying the order could not be fulfilled, and why", ended, err, notice)
	}
	// Ordered again, and fulfilled: resolved through the second order.
	o2, _, err := f.a.Desk.Order(f.ctx, dana, req.Reference, desk.OrderInput{Items: item})
	if err != nil {
		t.Fatal(err)
	}
	completeTasks(t, f, o2.ID, orders.TaskResult{Done: true})
	dispatch(t, f)
	if got := must(f.a.Desk.Ticket(f.ctx, dana, req.Reference))(t); got.State != desk.StateResolved || got.Resolution != "Fulfilled through order "+o2.Reference()+"." {
		t.Errorf("after the second order completed the request is %s (%q)", got.State, got.Resolution)
	}
}

// completeTasks finishes the fulfilment tasks of an order with r, as the
// administrator.
func completeTasks(t *testing.T, f *fixture, orderID string, r orders.TaskResult) {
	t.Helper()
	tasks := must(f.a.Orders.Tasks(f.ctx, access.System(), orders.TaskFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}}))(t)
	n := 0
	for _, task := range tasks.Items {
		if task.OrderID == orderID {
			must(f.a.Orders.CompleteTask(f.ctx, f.as("admin@it.contoso.example"), task.ID, r))(t)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("the order has no open task")
	}
}

// dispatch hands every waiting outbox event to the sinks.
func dispatch(t *testing.T, f *fixture) {
	t.Helper()
	for {
		n, err := f.a.Outbox.Once(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}
