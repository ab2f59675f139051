package desk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// MaxParentDepth is the longest chain of parents (a major incident's
// child may itself have children, this many levels deep).
const MaxParentDepth = 5

// MergeInput merges a duplicate into another ticket.
type MergeInput struct {
	// Into is the ticket (reference or ID) the duplicate is merged into.
	Into string `json:"into"`
}

// Merge merges a duplicate ticket into another of the same kind: the
// duplicate is closed, merged into the other (a comment on both says so),
// its requester and watchers watch the other, its comments and work notes
// and its attachments move to the other (each keeping its author, time
// and visibility, so the history is read in one place, as ServiceNow and
// iTop keep it), and its children and (for a problem) its incidents move
// to the other. Requests for change are not merged (their approval
// decides them). Callers must work both. Errors: invalid (field "into":
// none p may read, itself, another kind, a merged or closed ticket, too
// many watchers, or attachments over MaxAttachments together), conflict
// (the duplicate is closed or merged), forbidden, not_found.
func (s *Service) Merge(ctx context.Context, p *access.Principal, ref string, in MergeInput) (*Ticket, error) {
	in.Into = strings.TrimSpace(in.Into)
	bad := func(rule, msg string) error {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the ticket cannot be merged", Fields: []errs.FieldError{{Field: "into", Rule: rule, Message: msg}}}
	}
	if in.Into == "" {
		return nil, bad("required", "name the ticket to merge into (INC-… or its ID)")
	}
	return s.change(ctx, p, ref, "ticket.merge", true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if t.State == StateClosed {
			return errs.Conflict("%s is closed: there is nothing left to merge", t.Reference)
		}
		if t.Kind == Change {
			// Its change authority decides a request for change, a duplicate too.
			return errs.Conflict("%s is a request for change: changes are not merged; reject the duplicate through its approval", t.Reference)
		}
		into, err := lock(ctx, tx, in.Into)
		if err != nil || !mayRead(ctx, tx, p, into) {
			return bad("exists", fmt.Sprintf("no ticket %q", in.Into))
		}
		switch {
		case into.ID == t.ID:
			return bad("self", "a ticket is not merged into itself")
		case into.Kind != t.Kind:
			return bad("kind", fmt.Sprintf("%s is a %s and %s a %s: merge tickets of the same kind", t.Reference, t.Kind, into.Reference, into.Kind))
		case into.MergedIntoID != "":
			return bad("merged", fmt.Sprintf("%s was itself merged into another ticket: merge into that one", into.Reference))
		case into.State == StateClosed:
			return bad("closed", fmt.Sprintf("%s is closed: merge into an open ticket", into.Reference))
		case !mayWork(ctx, tx, p, into):
			return errs.Forbidden("%s is in another team's queue: join its assignment group (%s) or ask for ticket.work on %s", into.Reference, refName(into.Group), into.Service.Name)
		}
		// The duplicate's requester and watchers watch the other ticket.
		var watchers []string
		for _, id := range requesterAndWatchers(ctx, tx, t) {
			if into.Requester == nil || id != into.Requester.ID {
				watchers = append(watchers, id)
			}
		}
		if len(watchers) > 0 {
			var n, already int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_watchers WHERE ticket_id = $1`, into.ID).Scan(&n); err != nil {
				return sqldb.Err(err, "watchers")
			}
			args := sqldb.Args{into.ID}
			in := sqldb.In(&args, "user_id", watchers)
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_watchers WHERE ticket_id = $1 AND `+in, args...).Scan(&already); err != nil {
				return sqldb.Err(err, "watchers")
			}
			if n+len(watchers)-already > MaxWatchers {
				return bad("watchers", fmt.Sprintf("%s would have %d watchers; a ticket has at most %d", into.Reference, n+len(watchers)-already, MaxWatchers))
			}
		}
		for _, id := range watchers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_watchers (ticket_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, into.ID, id); err != nil {
				return sqldb.Err(err, "watcher")
			}
		}
		var files, moved int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN ticket_id = $2 THEN 1 END) FROM ticket_attachments WHERE ticket_id IN ($1, $2)`,
			into.ID, t.ID).Scan(&files, &moved); err != nil {
			return sqldb.Err(err, "attachments")
		}
		if moved > 0 && files > MaxAttachments {
			return bad("attachments", fmt.Sprintf("%s and %s hold %d files together; a ticket holds at most %d: remove some first", t.Reference, into.Reference, files, MaxAttachments))
		}
		var comments int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_comments WHERE ticket_id = $1`, t.ID).Scan(&comments); err != nil {
			return sqldb.Err(err, "comments")
		}
		for _, table := range []string{"ticket_comments", "ticket_attachments"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET ticket_id = $1 WHERE ticket_id = $2`, into.ID, t.ID); err != nil {
				return sqldb.Err(err, table)
			}
		}
		if err := s.stop(ctx, tx, t, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'closed', merged_into_id = $1, closed_at = $2, resolved_at = COALESCE(resolved_at, $2),
			hold_reason = '', resolution = CASE WHEN resolution = '' THEN $3 ELSE resolution END WHERE id = $4`,
			into.ID, now, "Merged into "+into.Reference+".", t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		// Closed is answered: its response clock stops too.
		if err := respond(ctx, tx, t, now); err != nil {
			return err
		}
		// Its children and incidents follow it; a ticket is never its own parent.
		if into.ParentID == t.ID {
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET parent_id = $1 WHERE id = $2`, nilIfEmpty(t.ParentID), into.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
		}
		for _, col := range []string{"parent_id", "problem_id"} {
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET `+col+` = $1 WHERE `+col+` = $2 AND id <> $1`, into.ID, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
		}
		if err := addComment(ctx, tx, t.ID, p.UserID, false, fmt.Sprintf("Merged into %s: it is followed there.", into.Reference), now); err != nil {
			return err
		}
		said := fmt.Sprintf("%s was merged into this ticket.", t.Reference)
		if comments+moved > 0 {
			said = fmt.Sprintf("%s was merged into this ticket, with its %s and %s.", t.Reference, count(comments, "comment"), count(moved, "attachment"))
		}
		if err := addComment(ctx, tx, into.ID, p.UserID, false, said, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = $1 WHERE id = $2`, now, into.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		after, err := get(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, p, after, "ticket.closed", &outbox.Notice{Title: fmt.Sprintf("%s merged into %s", t.Reference, into.Reference),
			Body: "It is followed on " + into.Reference + ", which you now watch.", Link: "/tickets/" + into.Reference, Users: requesterAndWatchers(ctx, tx, t)})
	})
}

// stop ends what runs while a ticket is open: its hold, and the outage
// an incident declared.
func (s *Service) stop(ctx context.Context, tx *sqldb.Tx, t *Ticket, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_holds SET ended_at = $1 WHERE ticket_id = $2 AND ended_at IS NULL`, now, t.ID); err != nil {
		return sqldb.Err(err, "hold")
	}
	if t.OutageID != "" && s.SLA != nil && t.State.Open() {
		return s.SLA.EndIncidentOutage(ctx, tx, t.OutageID, now)
	}
	return nil
}

// ParentInput sets (or, empty, clears) a ticket's parent: a major
// incident whose resolution resolves its open children.
type ParentInput struct {
	Parent string `json:"parent"`
}

// SetParent makes a ticket the child of another of the same kind (a
// major incident and the incidents it caused), or no one's; requests for
// change have none. When the
// parent is resolved, its open children are resolved with its
// resolution. Callers must work the child and read the parent. Errors:
// invalid (field "parent": none p may read, another kind, merged or
// closed, a cycle, a chain deeper than MaxParentDepth), conflict,
// forbidden, not_found.
func (s *Service) SetParent(ctx context.Context, p *access.Principal, ref string, in ParentInput) (*Ticket, error) {
	in.Parent = strings.TrimSpace(in.Parent)
	bad := func(rule, msg string) error {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the parent cannot be set", Fields: []errs.FieldError{{Field: "parent", Rule: rule, Message: msg}}}
	}
	return s.change(ctx, p, ref, "ticket.parent", true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if t.State == StateClosed {
			return errs.Conflict("%s is closed", t.Reference)
		}
		if t.Kind == Change {
			return errs.Conflict("%s is a request for change: changes have no parent, each is implemented as approved", t.Reference)
		}
		if in.Parent == "" {
			if t.ParentID == "" {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET parent_id = NULL WHERE id = $1`, t.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
			return addComment(ctx, tx, t.ID, p.UserID, true, "No longer a child of another ticket.", now)
		}
		par, err := get(ctx, tx, in.Parent)
		if err != nil || !mayRead(ctx, tx, p, par) {
			return bad("exists", fmt.Sprintf("no ticket %q", in.Parent))
		}
		switch {
		case par.ID == t.ID:
			return bad("cycle", "a ticket is not its own parent")
		case par.Kind != t.Kind:
			return bad("kind", fmt.Sprintf("%s is a %s and %s a %s: a parent has children of its own kind", par.Reference, par.Kind, t.Reference, t.Kind))
		case par.MergedIntoID != "":
			return bad("merged", fmt.Sprintf("%s was merged into another ticket: name that one", par.Reference))
		case par.State == StateClosed:
			return bad("closed", fmt.Sprintf("%s is closed", par.Reference))
		}
		// No cycle: walking up from the new parent never meets the child,
		// within MaxParentDepth levels (and the child's own children).
		depth, err := childDepth(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		cur := par.ID
		for level := 1; cur != ""; level++ {
			if cur == t.ID {
				return bad("cycle", fmt.Sprintf("%s is under %s already: a ticket cannot be the parent of its own parent", par.Reference, t.Reference))
			}
			if level+depth > MaxParentDepth {
				return bad("depth", fmt.Sprintf("a chain of parents is at most %d tickets deep", MaxParentDepth))
			}
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(parent_id, '') FROM tickets WHERE id = $1`, cur).Scan(&cur); err != nil {
				return sqldb.Err(err, "ticket")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET parent_id = $1 WHERE id = $2`, par.ID, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		return addComment(ctx, tx, t.ID, p.UserID, true, fmt.Sprintf("A child of %s: it is resolved with it.", par.Reference), now)
	})
}

// childDepth is how many levels of children stand under a ticket (0: none).
func childDepth(ctx context.Context, tx *sqldb.Tx, id string) (int, error) {
	level := []string{id}
	for depth := 0; ; depth++ {
		if len(level) == 0 || depth > MaxParentDepth {
			return depth - 1, nil
		}
		args := sqldb.Args{}
		in := sqldb.In(&args, "parent_id", level)
		next, err := sqldb.QueryAll(ctx, tx, "children", func(row sqldb.Scanner) (string, error) {
			var c string
			return c, row.Scan(&c)
		}, `SELECT id FROM tickets WHERE `+in+` LIMIT 1000`, args...)
		if err != nil {
			return 0, err
		}
		level = next
	}
}

// resolveChildren resolves the open children of a ticket just resolved,
// with its resolution (and theirs in turn), in its transaction. Requests
// for change are resolved only as their approval allows: never by a
// parent.
func (s *Service) resolveChildren(ctx context.Context, tx *sqldb.Tx, p *access.Principal, parent *Ticket, resolution string, now time.Time, depth int) error {
	if depth > MaxParentDepth {
		return nil
	}
	ids, err := sqldb.QueryAll(ctx, tx, "children", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT id FROM tickets WHERE parent_id = $1 AND state NOT IN ('resolved', 'closed') AND merged_into_id IS NULL
		AND kind <> 'change' ORDER BY id`, parent.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.stop(ctx, tx, c, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET state = 'resolved', hold_reason = '', resolution = $1, resolved_at = $2, updated_at = $2 WHERE id = $3`,
			resolution, now, c.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		if err := addComment(ctx, tx, c.ID, p.UserID, false, fmt.Sprintf("Resolved with %s.", parent.Reference), now); err != nil {
			return err
		}
		// Resolved is answered: a response clock still running would run
		// on a ticket nobody works any more.
		if err := respond(ctx, tx, c, now); err != nil {
			return err
		}
		after, err := get(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "ticket.resolve", ObjectType: "ticket", ObjectID: c.ID, Before: c, After: after}); err != nil {
			return err
		}
		if err := s.emitMove(ctx, tx, p, after, c.State, StateResolved, false); err != nil {
			return err
		}
		if err := s.resolveChildren(ctx, tx, p, after, resolution, now, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// count says n things in words: "1 comment", "3 comments", "no attachments".
func count(n int, thing string) string {
	switch n {
	case 0:
		return "no " + thing + "s"
	case 1:
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
