package desk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Tickets warn before they breach (issue 20): when an open incident's or
// request's resolution clock has used three quarters of its time (warn_by,
// set with its due times, in service hours with holds added), whoever has
// it is told (its assignee, or its group while nobody has taken it) and so
// is its group's manager: event ticket.at_risk. A ticket is told of once
// per warning time: a hold moves the time on, and it is told again when
// the new one comes. A warning more than a day late (the tickets open
// when warnings came, or after downtime) is marked and not sent.

// WarnJob is the kind of the job that tells of tickets about to miss their
// resolution time; the composition root runs it every minute.
const WarnJob = "tickets.warn"

// warnBatch bounds the tickets one pass tells of; the next pass goes on.
const warnBatch = 500

// staleWarning: a warning this late is not sent (the ticket is marked).
const staleWarning = 24 * time.Hour

// Warn tells of the open tickets whose warning time has come and that were
// not told of since: it answers how many.
func (s *Service) Warn(ctx context.Context) (int, error) {
	now := sqldb.Time(s.now())
	ids, err := sqldb.QueryAll(ctx, s.db.Read(), "tickets to warn of", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT id FROM tickets WHERE state IN ('new', 'assigned', 'in_progress') AND warn_by <= $1
		AND (warned_at IS NULL OR warned_at < warn_by) ORDER BY warn_by, id LIMIT `+fmt.Sprint(warnBatch), now)
	if err != nil {
		return 0, err
	}
	told := 0
	var failed []error
	sys := access.System()
	for _, id := range ids {
		warned := false
		err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			t, err := lock(ctx, tx, id)
			if err != nil {
				return err
			}
			// Moved on meanwhile (resolved, held, told): nothing to say.
			var warnBy, warnedAt sql.NullTime
			if err := tx.QueryRowContext(ctx, `SELECT warn_by, warned_at FROM tickets WHERE id = $1`, t.ID).Scan(&warnBy, &warnedAt); err != nil {
				return sqldb.Err(err, "ticket")
			}
			if !t.State.Open() || t.State == StateOnHold || !warnBy.Valid || warnBy.Time.After(now) || (warnedAt.Valid && !warnedAt.Time.Before(warnBy.Time)) {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET warned_at = $1 WHERE id = $2`, now, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
			if warnBy.Time.Before(now.Add(-staleWarning)) {
				// A warning a day late (after downtime, or for the tickets
				// open when warnings came) is no warning: marked, not sent.
				return nil
			}
			n := &outbox.Notice{Link: "/tickets/" + t.Reference, Title: fmt.Sprintf("%s is about to miss its resolution time: %s", t.Reference, t.Summary)}
			if t.ResolveBy != nil && t.ResolveBy.Before(neverDue) {
				n.Body = "It is due " + t.ResolveBy.UTC().Format("2006-01-02 15:04 UTC") + "."
				if !t.ResolveBy.After(now) {
					n.Title = fmt.Sprintf("%s is past its resolution time: %s", t.Reference, t.Summary)
					n.Body = "It was due " + t.ResolveBy.UTC().Format("2006-01-02 15:04 UTC") + "."
				}
			}
			switch {
			case t.Assignee != nil:
				n.Users = []string{t.Assignee.ID}
			case t.groupID != "":
				n.Groups = []string{t.groupID}
			}
			if t.groupID != "" {
				// The group's manager, while they are an active user.
				var manager string
				err := tx.QueryRowContext(ctx, `SELECT u.id FROM assignment_groups g JOIN users u ON u.id = g.manager_id
					WHERE g.id = $1 AND u.disabled = FALSE`, t.groupID).Scan(&manager)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return sqldb.Err(err, "assignment group")
				}
				if manager != "" && (t.Assignee == nil || t.Assignee.ID != manager) {
					n.Users = append(n.Users, manager)
				}
			}
			if len(n.Users) == 0 && len(n.Groups) == 0 {
				n = nil
			}
			warned = true
			return s.emit(ctx, tx, sys, t, "ticket.at_risk", n)
		})
		if err != nil {
			// One ticket that fails does not hold up the others' warnings.
			failed = append(failed, fmt.Errorf("warn of ticket %s: %w", id, err))
			continue
		}
		if warned {
			told++
		}
	}
	return told, errors.Join(failed...)
}
