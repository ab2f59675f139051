package knowledge

import (
	"context"
	"fmt"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// MaxLinks is the most articles linked to one ticket.
const MaxLinks = 20

// TicketArticles lists the articles linked to a ticket p may read, in
// the order they were linked: the published ones, and the drafts and
// retired ones p may write. Errors: unauthenticated, not_found (a ticket
// p may not read).
func (s *Service) TicketArticles(ctx context.Context, p *access.Principal, ref string) ([]*Article, error) {
	t, err := s.desk.Ticket(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "articles", scanArticle, `SELECT `+articleColumns+articleFrom+
		` JOIN ticket_articles ta ON ta.article_id = a.id WHERE ta.ticket_id = $1 ORDER BY ta.linked_at, a.id`, t.ID)
	if err != nil {
		return nil, err
	}
	out := []*Article{}
	for _, a := range rows {
		if a.State == StatePublished || MayWrite(p, a.Service.ID) {
			out = append(out, a)
		}
	}
	return out, nil
}

// workable reads a ticket p may work (not_found when p may not read it,
// forbidden when p reads but may not work it).
func (s *Service) workable(ctx context.Context, p *access.Principal, ref string) (*desk.Ticket, error) {
	t, err := s.desk.Ticket(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if !s.desk.AccessTo(ctx, p, t).Work {
		return nil, errs.Forbidden("articles are linked to a ticket by the people who work it (ticket.work on its service, or its assignment group)")
	}
	return t, nil
}

// LinkInput links an article to a ticket.
type LinkInput struct {
	// Article is the article's ID or reference (KB-000042).
	Article string `json:"article"`
}

// Link links a published article to a ticket p may work, so that
// everyone who reads the ticket sees it; linking one linked already
// changes nothing. Errors: unauthenticated, not_found, forbidden,
// invalid (no such published article, too many links).
func (s *Service) Link(ctx context.Context, p *access.Principal, ref string, in LinkInput) (*Article, error) {
	t, err := s.workable(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	in.Article = strings.TrimSpace(in.Article)
	bad := func(rule, msg string) error {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the link is not valid", Fields: []errs.FieldError{{Field: "article", Rule: rule, Message: msg}}}
	}
	if in.Article == "" {
		return nil, bad("required", "name the article to link (its ID or reference, KB-000042)")
	}
	a, err := s.Article(ctx, p, in.Article)
	if errs.Is(err, errs.CodeNotFound) {
		return nil, bad("exists", fmt.Sprintf("no article %q", in.Article))
	}
	if err != nil {
		return nil, err
	}
	if a.State != StatePublished {
		return nil, bad("published", fmt.Sprintf("article %s is %s: publish it before linking it, so that the ticket's readers can read it", a.Reference, a.State))
	}
	now := sqldb.Time(s.now())
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_articles WHERE ticket_id = $1`, t.ID).Scan(&n); err != nil {
			return sqldb.Err(err, "ticket articles")
		}
		var one int
		if tx.QueryRowContext(ctx, `SELECT 1 FROM ticket_articles WHERE ticket_id = $1 AND article_id = $2`, t.ID, a.ID).Scan(&one) == nil {
			return nil
		}
		if n >= MaxLinks {
			return bad("count", fmt.Sprintf("a ticket links at most %d articles; unlink one first", MaxLinks))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_articles (ticket_id, article_id, linked_by, linked_at) VALUES ($1, $2, $3, $4)`,
			t.ID, a.ID, userID(p), now); err != nil {
			return sqldb.Err(err, "ticket article")
		}
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "ticket.link_article", ObjectType: "ticket", ObjectID: t.ID,
			After: map[string]string{"ticket": t.Reference, "article": a.Reference, "article_id": a.ID}})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Unlink removes an article's link from a ticket p may work. Errors:
// unauthenticated, not_found (the ticket, or no such link), forbidden.
func (s *Service) Unlink(ctx context.Context, p *access.Principal, ref, article string) error {
	t, err := s.workable(ctx, p, ref)
	if err != nil {
		return err
	}
	a, err := get(ctx, s.db.Read(), article)
	if err != nil {
		return err
	}
	now := sqldb.Time(s.now())
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ticket_articles WHERE ticket_id = $1 AND article_id = $2`, t.ID, a.ID)
		if err != nil {
			return sqldb.Err(err, "ticket article")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("article %s is not linked to %s", a.Reference, t.Reference)
		}
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "ticket.unlink_article", ObjectType: "ticket", ObjectID: t.ID,
			Before: map[string]string{"ticket": t.Reference, "article": a.Reference, "article_id": a.ID}})
	})
}

func userID(p *access.Principal) any {
	if p.IsSystem() {
		return nil
	}
	return p.UserID
}
