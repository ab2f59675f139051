package desk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// A service request asks IT for something outside the catalog; when it
// turns out the catalog has it after all, the request turns into an order
// (issue 20): the order is placed and submitted for the request's org
// unit, goes through its approvals and fulfilment as any order does, with
// a comment its requester sees naming the order, and the request stays
// open while it does (its clocks run: the wait is the customer's). When
// the order completes, and no other order of the request is under way,
// the request is resolved as fulfilled through it; when the order fails,
// is rejected or cancelled, whoever works the request is told and it
// stays open (orderFollower, an outbox sink).

// OrderInput turns a service request into an order: the catalog items to
// order (as an order's items) and a note for the order's approvers.
type OrderInput struct {
	Items []orders.ItemInput `json:"items"`
	Note  string             `json:"note"`
}

// MaxOrderNote is the longest note an order from a request takes: the
// order's note also names the request and its summary (MaxSummary).
const MaxOrderNote = orders.MaxNote - MaxSummary - 100

// OrderRef is an order a request turned into, as the request shows it.
type OrderRef struct {
	ID        string       `json:"id"`
	Reference string       `json:"reference"`
	State     orders.State `json:"state"`
}

// Order turns an open service request into an order. Callers must be its
// requester or work it, and the order is theirs: placing it needs
// order.create on the request's org unit (the orders service decides),
// and an item is for the request's requester unless it says otherwise.
// The order is created and submitted first; if submitting fails, the
// draft is cancelled, so nothing is left half done, and the request stays
// as it was. Errors: invalid (the items, as an order's), conflict (not a
// service request, or no longer open), forbidden, not_found.
func (s *Service) Order(ctx context.Context, p *access.Principal, ref string, in OrderInput) (*orders.Order, *Ticket, error) {
	if p == nil {
		return nil, nil, errs.Unauthenticated("sign in to order")
	}
	if s.Orders == nil {
		return nil, nil, errs.Unavailable("ordering is not available on this desk")
	}
	in.Note = strings.TrimSpace(in.Note)
	if len(in.Items) == 0 {
		return nil, nil, &errs.Error{Code: errs.CodeInvalid, Message: "the order is not valid",
			Fields: []errs.FieldError{{Field: "items", Rule: "required", Message: "name at least one catalog item to order"}}}
	}
	if len(in.Note) > MaxOrderNote {
		return nil, nil, &errs.Error{Code: errs.CodeInvalid, Message: "the order is not valid",
			Fields: []errs.FieldError{{Field: "note", Rule: "max", Message: fmt.Sprintf("note is at most %d bytes", MaxOrderNote)}}}
	}
	q := s.db.Read()
	t, err := get(ctx, q, ref)
	if err != nil {
		return nil, nil, err
	}
	if !mayRead(ctx, q, p, t) {
		return nil, nil, errs.NotFound("ticket %q not found", ref)
	}
	requester := t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate)
	if !requester && !mayWork(ctx, q, p, t) {
		return nil, nil, errs.Forbidden("only %s's requester or whoever works it may turn it into an order", t.Reference)
	}
	if t.OrgUnit == nil {
		return nil, nil, errs.Conflict("%s names no org unit to order for: classify it first", t.Reference)
	}
	// The orders service decides this again; asked first, it keeps
	// whoever may not order there from learning more of the request.
	if err := p.Require(access.OrderCreate, access.InOrgUnit(t.orgUnitPath)); err != nil {
		return nil, nil, err
	}
	if err := orderable(t); err != nil {
		return nil, nil, err
	}
	if under, err := orderUnderWay(ctx, q, t.ID); err != nil {
		return nil, nil, err
	} else if under != "" {
		return nil, nil, errs.Conflict("%s is under way for %s: wait for it to be fulfilled, or cancel it, before ordering again", under, t.Reference)
	}
	for i := range in.Items {
		if in.Items[i].RequestedFor == "" && t.Requester != nil {
			in.Items[i].RequestedFor = t.Requester.ID
		}
	}
	note := "For service request " + t.Reference + ": " + t.Summary
	if in.Note != "" {
		note += "\n\n" + in.Note
	}
	// One order at a time: the request is claimed (two clicks, a retry)
	// until its order is recorded or refused.
	claim, err := s.claimOrder(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	// From here the work runs to its end even if the caller goes away.
	wctx := context.WithoutCancel(ctx)
	release := func() {
		_ = s.db.Tx(wctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(wctx, `UPDATE tickets SET ordering_at = NULL WHERE id = $1 AND ordering_at = $2`, t.ID, claim)
			return err
		})
	}
	o, err := s.Orders.CreateOrder(wctx, p, orders.OrderInput{OrgUnitID: t.OrgUnit.ID, Note: note, Items: in.Items})
	if err != nil {
		release()
		return nil, nil, err
	}
	submitted, err := s.Orders.Submit(wctx, p, o.ID)
	if err != nil {
		// Nothing half done: a draft still a draft goes (its requester is
		// the caller); one submitted after all is recorded as it is.
		cur, rerr := s.Orders.Order(wctx, p, o.ID)
		if rerr != nil || cur.State == orders.StateDraft {
			if _, cerr := s.Orders.Cancel(wctx, p, o.ID, "not submitted: "+excerpt(err.Error())); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cancel the draft order %s: %w", o.Reference(), cerr))
			}
			release()
			return nil, nil, err
		}
		submitted = cur
	}
	after, err := s.change(wctx, p, t.ID, "ticket.order", false, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if _, err := tx.ExecContext(wctx, `INSERT INTO ticket_orders (ticket_id, order_id, created_at) VALUES ($1, $2, $3)`, t.ID, submitted.ID, now); err != nil {
			return sqldb.Err(err, "ticket order")
		}
		if _, err := tx.ExecContext(wctx, `UPDATE tickets SET ordering_at = NULL WHERE id = $1`, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		said := fmt.Sprintf("Ordered from the catalog as %s. This request is resolved when the order is fulfilled.", submitted.Reference())
		if submitted.State == orders.StateCompleted {
			said = fmt.Sprintf("Ordered from the catalog as %s.", submitted.Reference())
		}
		if err := addComment(wctx, tx, t.ID, p.UserID, false, said, now); err != nil {
			return err
		}
		// Whoever works the request answers it by placing the order; the
		// requester placing it herself has not been answered yet.
		if mayWork(wctx, tx, p, t) {
			if err := respond(wctx, tx, t, now); err != nil {
				return err
			}
		}
		if submitted.State == orders.StateCompleted && t.State.Open() {
			// Fulfilled as it was placed (nothing to approve or provision):
			// its order.completed may have been dispatched before this
			// link was written, so it is settled here.
			return s.fulfilled(wctx, tx, p, t, submitted.Reference(), now)
		}
		return nil
	})
	if err != nil {
		// The order stands (submitted, with its approvals under way) and
		// names the request in its note; say so.
		return submitted, nil, fmt.Errorf("order %s was placed, but %s could not record it: %w", submitted.Reference(), ref, err)
	}
	return submitted, after, nil
}

// claimTTL is how long a claim to order holds (a crash between placing the
// order and recording it leaves one behind).
const claimTTL = 5 * time.Minute

// claimOrder claims an orderable request for the order being placed and
// answers the claim's time; conflict when it is no longer orderable or
// another order for it is being placed.
func (s *Service) claimOrder(ctx context.Context, t *Ticket) (time.Time, error) {
	now := sqldb.Time(s.now())
	var n int64
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tickets SET ordering_at = $1 WHERE id = $2 AND kind = 'request' AND merged_into_id IS NULL
			AND state IN ('new', 'assigned', 'in_progress', 'on_hold') AND (ordering_at IS NULL OR ordering_at < $3)`, now, t.ID, now.Add(-claimTTL))
		if err != nil {
			return sqldb.Err(err, "ticket")
		}
		n, _ = res.RowsAffected()
		if n != 1 {
			return nil
		}
		// Checked again under the claim, in a statement after it: a claim
		// released by an order just recorded (whose link this statement
		// sees, committed before the claim's row lock was granted) leaves
		// that order under way.
		under, err := orderUnderWay(ctx, tx, t.ID)
		if err == nil && under != "" {
			err = errs.Conflict("%s is under way for %s: wait for it to be fulfilled, or cancel it, before ordering again", under, t.Reference)
		}
		return err
	})
	if err != nil {
		return now, err
	}
	if n == 1 {
		return now, nil
	}
	cur, err := get(ctx, s.db.Read(), t.ID)
	if err != nil {
		return now, err
	}
	if err := orderable(cur); err != nil {
		return now, err
	}
	return now, errs.Conflict("an order for %s is being placed: wait a moment and reload it", t.Reference)
}

// orderable: only an open, unmerged service request turns into an order.
func orderable(t *Ticket) error {
	switch {
	case t.Kind != Request:
		return errs.Conflict("%s is a %s: only service requests turn into orders", t.Reference, t.Kind)
	case t.MergedIntoID != "":
		return errs.Conflict("%s was merged into another ticket: order on that one", t.Reference)
	case !t.State.Open():
		return errs.Conflict("%s is %s: raise a new request, or order from the catalog", t.Reference, t.State)
	}
	return nil
}

// underWay are the states of an order still going through approval or
// fulfilment.
const underWay = `('submitted', 'awaiting_approval', 'approved', 'fulfilling')`

// orderUnderWay is the reference of an order of the request still under
// way, or "".
func orderUnderWay(ctx context.Context, q sqldb.Querier, ticketID string) (string, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT o.number FROM ticket_orders x JOIN orders o ON o.id = x.order_id
		WHERE x.ticket_id = $1 AND o.state IN `+underWay+` ORDER BY o.number LIMIT 1`, ticketID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", sqldb.Err(err, "ticket orders")
	}
	return (&orders.Order{Number: n}).Reference(), nil
}

// ordersOf lists the orders a request turned into, oldest first.
func ordersOf(ctx context.Context, q sqldb.Querier, ticketID string) ([]OrderRef, error) {
	return sqldb.QueryAll(ctx, q, "ticket orders", func(row sqldb.Scanner) (OrderRef, error) {
		var o OrderRef
		var n int64
		if err := row.Scan(&o.ID, &n, &o.State); err != nil {
			return o, err
		}
		o.Reference = (&orders.Order{Number: n}).Reference()
		return o, nil
	}, `SELECT o.id, o.number, o.state FROM ticket_orders x JOIN orders o ON o.id = x.order_id WHERE x.ticket_id = $1 ORDER BY x.created_at, o.number LIMIT 100`, ticketID)
}

// fulfilled resolves an open request as fulfilled through order ref: as
// Move resolves (the response clock stops, due times are what holds made
// them, open children are resolved with it), told to its requester and
// watchers.
func (s *Service) fulfilled(ctx context.Context, tx *sqldb.Tx, p *access.Principal, t *Ticket, ref string, now time.Time) error {
	if err := s.stop(ctx, tx, t, now); err != nil {
		return err
	}
	resolution := "Fulfilled through order " + ref + "."
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'resolved', hold_reason = '', resolution = $1, resolved_at = $2 WHERE id = $3`,
		resolution, now, t.ID); err != nil {
		return sqldb.Err(err, "ticket")
	}
	if err := respond(ctx, tx, t, now); err != nil {
		return err
	}
	if t.State == StateOnHold {
		if err := s.reschedule(ctx, tx, t); err != nil {
			return err
		}
	}
	if err := s.resolveChildren(ctx, tx, p, t, resolution, now, 1); err != nil {
		return err
	}
	resolved, err := get(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, p, now, audit.Entry{Action: "ticket.fulfil", ObjectType: "ticket", ObjectID: t.ID,
		Before: map[string]any{"state": t.State}, After: map[string]any{"state": StateResolved, "resolution": resolution}}); err != nil {
		return err
	}
	return s.emitMove(ctx, tx, p, resolved, t.State, StateResolved, false)
}

// FollowOrders is the outbox sink that keeps requests with their orders:
// an order's completed, failed, rejected or cancelled event settles the
// open requests it was placed from, in the dispatcher's transaction, so
// each event settles them once.
func (s *Service) FollowOrders() outbox.Sink { return orderFollower{s} }

type orderFollower struct{ s *Service }

// Take settles the requests of the orders whose outcome the events tell.
func (f orderFollower) Take(ctx context.Context, tx *sqldb.Tx, events []outbox.Stored) error {
	for _, e := range events {
		switch e.Type {
		case "order.completed", "order.failed", "order.rejected", "order.cancelled":
		default:
			continue
		}
		var d struct {
			OrderID string `json:"order_id"`
			Number  string `json:"number"`
			Comment string `json:"comment"`
		}
		if json.Unmarshal(e.Data, &d) != nil || d.OrderID == "" {
			continue // not an order's outcome this sink can use
		}
		ids, err := sqldb.QueryAll(ctx, tx, "ticket orders", scanID, `SELECT ticket_id FROM ticket_orders WHERE order_id = $1 ORDER BY ticket_id`, d.OrderID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := f.s.settle(ctx, tx, id, e.Type, d.Number, d.Comment); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle moves an open request on by its order's outcome (typ): resolved
// when the order completed and no other of its orders is under way; else
// whoever works it is told (ticket.order_ended) and it stays open.
func (s *Service) settle(ctx context.Context, tx *sqldb.Tx, ticketID, typ, order, comment string) error {
	t, err := lock(ctx, tx, ticketID)
	if err != nil {
		return err
	}
	if t.Kind != Request || t.MergedIntoID != "" || !t.State.Open() {
		return nil // settled meanwhile by someone: nothing to follow
	}
	now, sys := s.now(), access.System()
	if typ == "order.completed" {
		under, err := orderUnderWay(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if under == "" {
			return s.fulfilled(ctx, tx, sys, t, order, now)
		}
		return nil
	}
	what := map[string]string{"order.failed": "could not be fulfilled", "order.rejected": "was rejected", "order.cancelled": "was cancelled"}[typ]
	n := &outbox.Notice{Title: fmt.Sprintf("%s: order %s %s", t.Reference, order, what), Link: "/tickets/" + t.Reference,
		Body: "The request stays open: order again, or resolve it another way."}
	if comment != "" {
		n.Body = excerpt(comment) + "\n\n" + n.Body
	}
	if t.Assignee != nil {
		n.Users = []string{t.Assignee.ID}
	} else if t.groupID != "" {
		n.Groups = []string{t.groupID}
	}
	if len(n.Users) == 0 && len(n.Groups) == 0 {
		n = nil
	}
	return s.emit(ctx, tx, sys, t, "ticket.order_ended", n)
}
