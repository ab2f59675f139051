package desk

import (
	"context"
	"database/sql"
	"fmt"

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
// the new one comes.

// WarnJob is the kind of the job that tells of tickets about to miss their
// resolution time; the composition root runs it every minute.
const WarnJob = "tickets.warn"

// warnBatch bounds the tickets one pass tells of; the next pass goes on.
const warnBatch = 500

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
	sys := access.System()
	for _, id := range ids {
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
				var manager string
				if err := tx.QueryRowContext(ctx, `SELECT COALESCE(manager_id, '') FROM assignment_groups WHERE id = $1`, t.groupID).Scan(&manager); err != nil {
					return sqldb.Err(err, "assignment group")
				}
				if manager != "" && (t.Assignee == nil || t.Assignee.ID != manager) {
					n.Users = append(n.Users, manager)
				}
			}
			if len(n.Users) == 0 && len(n.Groups) == 0 {
				n = nil
			}
			told++
			return s.emit(ctx, tx, sys, t, "ticket.at_risk", n)
		})
		if err != nil {
			return told, err
		}
	}
	return told, nil
}
