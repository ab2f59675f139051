package desk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// MaxLinked is the most linked tickets (a problem's incidents, a
// ticket's children or duplicates) a ticket shows.
const MaxLinked = 200

// Link names another ticket on a ticket: its problem, parent, children,
// the ticket it was merged into or those merged into it.
type Link struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Kind      Kind   `json:"kind"`
	State     State  `json:"state"`
	Summary   string `json:"summary"`
	// Workaround and KnownError are a problem's, shown on its incidents.
	Workaround string `json:"workaround,omitempty"`
	KnownError bool   `json:"known_error,omitempty"`
	// Restricted says the reader may not open the ticket: an incident's
	// problem is named, with its workaround, to every reader of the
	// incident, but opened only by those who may read the problem.
	Restricted bool `json:"restricted,omitempty"`
}

// Related is what a ticket shows of the tickets around it, and a
// problem's record: only tickets the reader may read are named, but for
// an incident's problem, whose workaround its readers see.
type Related struct {
	// RootCause, Workaround and KnownError are a problem's record.
	RootCause  string `json:"root_cause,omitempty"`
	Workaround string `json:"workaround,omitempty"`
	KnownError bool   `json:"known_error,omitempty"`
	// Problem is the problem an incident is linked to.
	Problem *Link `json:"problem,omitempty"`
	// Incidents are a problem's linked incidents.
	Incidents  []Link `json:"incidents,omitempty"`
	Parent     *Link  `json:"parent,omitempty"`
	Children   []Link `json:"children,omitempty"`
	MergedInto *Link  `json:"merged_into,omitempty"`
	Duplicates []Link `json:"duplicates,omitempty"`
}

func scanLink(row sqldb.Scanner) (Link, error) {
	var l Link
	var n int64
	if err := row.Scan(&l.ID, &n, &l.Kind, &l.State, &l.Summary, &l.Workaround, &l.KnownError); err != nil {
		return l, err
	}
	l.Reference = reference(l.Kind, n)
	return l, nil
}

const linkColumns = `t.id, t.number, t.kind, t.state, t.summary, t.workaround, t.known_error`

// related reads what a ticket p may read shows of the tickets around it.
func (s *Service) related(ctx context.Context, p *access.Principal, t *Ticket) (Related, error) {
	var r Related
	q := s.db.Read()
	var problemID string
	if err := q.QueryRowContext(ctx, `SELECT root_cause, workaround, known_error, COALESCE(problem_id, '') FROM tickets WHERE id = $1`, t.ID).
		Scan(&r.RootCause, &r.Workaround, &r.KnownError, &problemID); err != nil {
		return r, sqldb.Err(err, "ticket")
	}
	if problemID != "" {
		l, err := sqldb.QueryOne(ctx, q, "problem", scanLink, `SELECT `+linkColumns+` FROM tickets t WHERE t.id = $1`, problemID)
		if err != nil {
			return r, err
		}
		prb, err := get(ctx, q, problemID)
		if err != nil {
			return r, err
		}
		l.Restricted = !mayRead(ctx, q, p, prb)
		r.Problem = &l
	}
	one := func(id string) (*Link, error) {
		if id == "" {
			return nil, nil
		}
		other, err := get(ctx, q, id)
		if err != nil || !mayRead(ctx, q, p, other) {
			return nil, err
		}
		return &Link{ID: other.ID, Reference: other.Reference, Kind: other.Kind, State: other.State, Summary: other.Summary}, nil
	}
	var err error
	if r.Parent, err = one(t.ParentID); err != nil {
		return r, err
	}
	if r.MergedInto, err = one(t.MergedIntoID); err != nil {
		return r, err
	}
	// The lists name only the tickets p may read (scope is mayRead as a
	// condition).
	list := func(column string) ([]Link, error) {
		args := sqldb.Args{t.ID}
		cond := scope(&args, p)
		return sqldb.QueryAll(ctx, q, "tickets", scanLink, `SELECT `+linkColumns+` FROM tickets t LEFT JOIN org_units ou ON ou.id = t.org_unit_id
			WHERE t.`+column+` = $1 AND `+cond+` ORDER BY t.opened_at, t.id LIMIT `+fmt.Sprint(MaxLinked), args...)
	}
	if r.Children, err = list("parent_id"); err != nil {
		return r, err
	}
	if r.Duplicates, err = list("merged_into_id"); err != nil {
		return r, err
	}
	if t.Kind == Problem {
		if r.Incidents, err = list("problem_id"); err != nil {
			return r, err
		}
	}
	for _, ls := range [][]Link{r.Children, r.Duplicates, r.Incidents} {
		for i := range ls {
			ls[i].Workaround, ls[i].KnownError = "", false // a problem's record is shown on the problem
		}
	}
	return r, nil
}

// ProblemInput changes a problem's record; a nil field keeps it.
type ProblemInput struct {
	RootCause  *string `json:"root_cause,omitempty"`
	Workaround *string `json:"workaround,omitempty"`
	// KnownError marks a problem whose root cause or workaround is
	// documented: it is in the known-error database (?known_error=true).
	KnownError *bool `json:"known_error,omitempty"`
}

type problemRecord struct {
	RootCause  string `json:"root_cause"`
	Workaround string `json:"workaround"`
	KnownError bool   `json:"known_error"`
}

// UpdateProblem records a problem's root cause, workaround and whether it
// is a known error. Callers must work the problem. Errors: invalid (texts
// too long, a known error with neither root cause nor workaround),
// conflict (not a problem, or closed), forbidden, not_found.
func (s *Service) UpdateProblem(ctx context.Context, p *access.Principal, ref string, in ProblemInput) (*Ticket, error) {
	var v errs.Validator
	trim := func(s *string, field string) *string {
		if s == nil {
			return nil
		}
		t := strings.TrimSpace(*s) // a copy: the caller's string stays as it was
		textCheck(&v, t, field, MaxComment, false)
		return &t
	}
	in.RootCause, in.Workaround = trim(in.RootCause, "root_cause"), trim(in.Workaround, "workaround")
	v.Check(in.RootCause != nil || in.Workaround != nil || in.KnownError != nil, "root_cause", "required", "send root_cause, workaround or known_error")
	if err := v.Err("the problem's record is not valid"); err != nil {
		return nil, err
	}
	return s.change(ctx, p, ref, "ticket.problem", true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if t.Kind != Problem {
			return errs.Conflict("%s is a %s: only problems have a root cause and a workaround", t.Reference, t.Kind)
		}
		if t.State == StateClosed {
			return errs.Conflict("%s is closed: raise a new problem", t.Reference)
		}
		var before problemRecord
		if err := tx.QueryRowContext(ctx, `SELECT root_cause, workaround, known_error FROM tickets WHERE id = $1`, t.ID).
			Scan(&before.RootCause, &before.Workaround, &before.KnownError); err != nil {
			return sqldb.Err(err, "ticket")
		}
		after := before
		if in.RootCause != nil {
			after.RootCause = *in.RootCause
		}
		if in.Workaround != nil {
			after.Workaround = *in.Workaround
		}
		if in.KnownError != nil {
			after.KnownError = *in.KnownError
		}
		if after.KnownError && after.RootCause == "" && after.Workaround == "" {
			return &errs.Error{Code: errs.CodeInvalid, Message: "the problem's record is not valid",
				Fields: []errs.FieldError{{Field: "known_error", Rule: "documented", Message: "a known error documents its root cause or its workaround: record one first"}}}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET root_cause = $1, workaround = $2, known_error = $3 WHERE id = $4`,
			after.RootCause, after.Workaround, after.KnownError, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "problem.record", ObjectType: "ticket", ObjectID: t.ID, Before: before, After: after})
	})
}

// LinkIncident links an incident to a problem (its readers then see the
// problem's workaround) or, with link false, unlinks it. Callers must
// work the problem and read the incident. Errors: invalid (field
// "incident": none p may read, not an incident, not linked to this
// problem), conflict (not a problem; the incident linked to another
// problem), forbidden, not_found.
func (s *Service) LinkIncident(ctx context.Context, p *access.Principal, problemRef, incidentRef string, link bool) (*Ticket, error) {
	incidentRef = strings.TrimSpace(incidentRef)
	bad := func(rule, msg string) error {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the incident cannot be linked", Fields: []errs.FieldError{{Field: "incident", Rule: rule, Message: msg}}}
	}
	if incidentRef == "" {
		return nil, bad("required", "name the incident (INC-… or its ID)")
	}
	action := "ticket.link"
	if !link {
		action = "ticket.unlink"
	}
	return s.change(ctx, p, problemRef, action, true, func(tx *sqldb.Tx, t *Ticket, now time.Time) error {
		if t.Kind != Problem {
			return errs.Conflict("%s is a %s: incidents are linked to problems", t.Reference, t.Kind)
		}
		inc, err := get(ctx, tx, incidentRef)
		if err != nil || !mayRead(ctx, tx, p, inc) {
			return bad("exists", fmt.Sprintf("no incident %q", incidentRef))
		}
		if inc.Kind != Incident {
			return bad("kind", fmt.Sprintf("%s is a %s, not an incident", inc.Reference, inc.Kind))
		}
		var current string
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(problem_id, '') FROM tickets WHERE id = $1`, inc.ID).Scan(&current); err != nil {
			return sqldb.Err(err, "ticket")
		}
		var note string
		switch {
		case link && current == t.ID:
			return nil
		case link && current != "":
			other, err := get(ctx, tx, current)
			if err != nil {
				return err
			}
			return errs.Conflict("%s is linked to %s: unlink it there first", inc.Reference, other.Reference)
		case link:
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET problem_id = $1, updated_at = $2 WHERE id = $3`, t.ID, now, inc.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
			note = fmt.Sprintf("Linked to problem %s: %s", t.Reference, t.Summary)
		case current != t.ID:
			return bad("linked", fmt.Sprintf("%s is not linked to %s", inc.Reference, t.Reference))
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET problem_id = NULL, updated_at = $1 WHERE id = $2`, now, inc.ID); err != nil {
				return sqldb.Err(err, "ticket")
			}
			note = fmt.Sprintf("No longer linked to problem %s", t.Reference)
		}
		return addComment(ctx, tx, inc.ID, p.UserID, true, note, now)
	})
}
