package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// A service request asks IT for something outside the catalog; when it
// turns out the catalog has it after all, the request turns into an order
// (issue 20): the order is placed and submitted for the request's org
// unit, goes through its approvals and fulfilment as any order does, and
// the request is resolved as fulfilled through it, with a comment its
// requester sees naming the order.

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
		if err := addComment(wctx, tx, t.ID, p.UserID, false, fmt.Sprintf("Ordered from the catalog as %s.", submitted.Reference()), now); err != nil {
			return err
		}
		if !t.State.Open() {
			// Resolved meanwhile by someone else: the order is on it all the same.
			return nil
		}
		if err := s.stop(wctx, tx, t, now); err != nil {
			return err
		}
		resolution := "Fulfilled through order " + submitted.Reference() + "."
		if _, err := tx.ExecContext(wctx, `UPDATE tickets SET state = 'resolved', hold_reason = '', resolution = $1, resolved_at = $2 WHERE id = $3`,
			resolution, now, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		// Resolved is answered (the response clock stops with it), its due
		// times are what its holds make them, and its open children (a
		// request may have some) are resolved with it, as Move does.
		if err := respond(wctx, tx, t, now); err != nil {
			return err
		}
		if t.State == StateOnHold {
			if err := s.reschedule(wctx, tx, t); err != nil {
				return err
			}
		}
		if err := s.resolveChildren(wctx, tx, p, t, resolution, now, 1); err != nil {
			return err
		}
		resolved, err := get(wctx, tx, t.ID)
		if err != nil {
			return err
		}
		return s.emitMove(wctx, tx, p, resolved, t.State, StateResolved, false)
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
		return nil
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
