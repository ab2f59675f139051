package knowledge

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// State is where an article is in its life.
type State string

// The article states.
const (
	StateDraft     State = "draft"     // being written: read by its writers only
	StatePublished State = "published" // read by everyone who may read the catalog, suggested
	StateRetired   State = "retired"   // no longer true: read by its writers only
)

// States lists the states.
var States = []State{StateDraft, StatePublished, StateRetired}

// Valid reports whether s is a state.
func (s State) Valid() bool { return s == StateDraft || s == StatePublished || s == StateRetired }

// The bounds of an article (docs/limits.md).
const (
	MaxTitle = 200
	// MaxBody is the most characters of an article's Markdown.
	MaxBody = 100_000
	// MaxQuery is the most characters of a list's query or a suggestion's text.
	MaxQuery = desk.MaxDescription
)

// Ref names a service or a person on an article.
type Ref struct {
	ID   string `json:"id"`
	Code string `json:"code,omitempty"`
	Name string `json:"name"`
}

// Article is a knowledge article about a service.
type Article struct {
	ID          string     `json:"id"`
	Number      int64      `json:"number"`
	Reference   string     `json:"reference"` // KB-000042
	Service     Ref        `json:"service"`
	Title       string     `json:"title"`
	Body        string     `json:"body"` // Markdown
	State       State      `json:"state"`
	Author      *Ref       `json:"author,omitempty"`
	Views       int64      `json:"views"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
}

// reference formats an article's reference: KB-000042.
func reference(n int64) string { return fmt.Sprintf("KB-%06d", n) }

// Service is the knowledge base.
type Service struct {
	db   *sqldb.DB
	now  func() time.Time
	cat  *catalog.Catalog
	desk *desk.Service
	idx  suggestIndex
}

// New returns the knowledge base; desk decides who may read and work the
// tickets articles are linked to.
func New(db *sqldb.DB, now func() time.Time, cat *catalog.Catalog, d *desk.Service) *Service {
	return &Service{db: db, now: now, cat: cat, desk: d}
}

// MayWrite reports whether p writes, publishes and retires the articles
// of a service and reads its drafts: ticket.work on the service, or
// desk.manage.
func MayWrite(p *access.Principal, serviceID string) bool {
	return p.Can(access.TicketWork, access.Resource{ServiceID: serviceID}) || p.Can(access.DeskManage, access.Resource{})
}

// MayWriteAny reports whether p writes the articles of some service (the
// portal's "New article").
func MayWriteAny(p *access.Principal) bool {
	return p.CanAnywhere(access.TicketWork) || p.Can(access.DeskManage, access.Resource{})
}

// MayRead reports whether p reads published articles: everyone signed in
// who may read the catalog, and those who write articles.
func MayRead(p *access.Principal) bool {
	return p != nil && (p.CanAnywhere(access.CatalogRead) || MayWriteAny(p))
}

func mayReadArticle(p *access.Principal, a *Article) bool {
	if a.State == StatePublished && MayRead(p) {
		return true
	}
	return MayWrite(p, a.Service.ID)
}

const articleColumns = `a.id, a.number, s.id, s.code, s.name, a.title, a.body, a.state, COALESCE(u.id, ''), COALESCE(u.name, ''), a.views, a.created_at, a.updated_at, a.published_at`

const articleFrom = ` FROM articles a JOIN services s ON s.id = a.service_id LEFT JOIN users u ON u.id = a.author_id`

func scanArticle(row sqldb.Scanner) (*Article, error) {
	var a Article
	var author Ref
	var published sql.NullTime
	if err := row.Scan(&a.ID, &a.Number, &a.Service.ID, &a.Service.Code, &a.Service.Name, &a.Title, &a.Body, &a.State, &author.ID, &author.Name,
		&a.Views, &a.CreatedAt, &a.UpdatedAt, &published); err != nil {
		return nil, err
	}
	a.Reference = reference(a.Number)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.PublishedAt = sqldb.TimePtr(published)
	if author.ID != "" {
		a.Author = &author
	}
	return &a, nil
}

// get reads an article by ID or reference ("KB-000042", or the number).
func get(ctx context.Context, q sqldb.Querier, ref string) (*Article, error) {
	ref = strings.TrimSpace(ref)
	what := fmt.Sprintf("article %q", ref)
	if sqldb.ValidID(ref) {
		return sqldb.QueryOne(ctx, q, what, scanArticle, `SELECT `+articleColumns+articleFrom+` WHERE a.id = $1`, ref)
	}
	num := ref
	if p, n, ok := strings.Cut(ref, "-"); ok {
		if !strings.EqualFold(p, "KB") {
			return nil, errs.NotFound("article %q not found", ref)
		}
		num = n
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return nil, errs.NotFound("article %q not found", ref)
	}
	return sqldb.QueryOne(ctx, q, what, scanArticle, `SELECT `+articleColumns+articleFrom+` WHERE a.number = $1`, n)
}

// Article reads one article (by ID or reference) that p may read: a
// published one for everyone who may read the catalog, a draft or retired
// one for those who may write the service's articles. Errors:
// unauthenticated, not_found (also for an article p may not read).
func (s *Service) Article(ctx context.Context, p *access.Principal, ref string) (*Article, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to read knowledge articles")
	}
	a, err := get(ctx, s.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if !mayReadArticle(p, a) {
		return nil, errs.NotFound("article %q not found", ref)
	}
	return a, nil
}

// Viewed counts a reading of a published article (the portal's page).
func (s *Service) Viewed(ctx context.Context, a *Article) error {
	if a.State != StatePublished {
		return nil
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE articles SET views = views + 1 WHERE id = $1`, a.ID)
		return sqldb.Err(err, "article")
	})
}

// Input writes an article.
type Input struct {
	// Service is the service (code or ID) the article is about.
	Service string `json:"service"`
	Title   string `json:"title"`
	// Body is the article in Markdown.
	Body string `json:"body"`
}

func textCheck(v *errs.Validator, s, field string, maxLen int, required bool) {
	if required && s == "" {
		v.Add(field, "required", field+" is required")
		return
	}
	if utf8.RuneCountInString(s) > maxLen {
		v.Add(field, "length", fmt.Sprintf("%s is at most %d characters (it has %d)", field, maxLen, utf8.RuneCountInString(s)))
		return
	}
	v.Text(s, field)
}

// Validate trims the input and checks it.
func (in *Input) Validate() error {
	in.Service, in.Title, in.Body = strings.TrimSpace(in.Service), strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	var v errs.Validator
	v.Check(in.Service != "", "service", "required", "name the service the article is about (code or ID)")
	textCheck(&v, in.Title, "title", MaxTitle, true)
	textCheck(&v, in.Body, "body", MaxBody, true)
	return v.Err("the article is not valid")
}

// service finds the article's service, as a field error when there is none.
func (s *Service) service(ctx context.Context, ref string) (Ref, error) {
	svc, err := s.cat.Service(ctx, access.System(), ref)
	if errs.Is(err, errs.CodeNotFound) {
		return Ref{}, &errs.Error{Code: errs.CodeInvalid, Message: "the article is not valid",
			Fields: []errs.FieldError{{Field: "service", Rule: "exists", Message: fmt.Sprintf("no service %q: name the service by code or ID", ref)}}}
	}
	if err != nil {
		return Ref{}, err
	}
	return Ref{ID: svc.ID, Code: svc.Code, Name: svc.Name}, nil
}

// Create writes a draft article. Callers need ticket.work on the service,
// or desk.manage. Errors: unauthenticated, invalid, forbidden.
func (s *Service) Create(ctx context.Context, p *access.Principal, in Input) (*Article, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to write knowledge articles")
	}
	if !MayWriteAny(p) {
		return nil, access.Forbidden(access.TicketWork)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	svc, err := s.service(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	if !MayWrite(p, svc.ID) {
		return nil, access.Forbidden(access.TicketWork)
	}
	now := sqldb.Time(s.now())
	a := &Article{ID: sqldb.NewID(), Service: svc, Title: in.Title, Body: in.Body, State: StateDraft, CreatedAt: now, UpdatedAt: now}
	var author any
	if !p.IsSystem() {
		a.Author, author = &Ref{ID: p.UserID, Name: p.Name}, p.UserID
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if a.Number, err = tx.Next(ctx, "article"); err != nil {
			return err
		}
		a.Reference = reference(a.Number)
		if _, err := tx.ExecContext(ctx, `INSERT INTO articles (id, number, service_id, title, body, state, author_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7)`, a.ID, a.Number, svc.ID, a.Title, a.Body, author, now); err != nil {
			return sqldb.Err(err, "article")
		}
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "article.create", ObjectType: "article", ObjectID: a.ID, After: a})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// writable reads an article p may write (not_found when p may not read
// it, forbidden when p reads but may not write it).
func (s *Service) writable(ctx context.Context, p *access.Principal, ref string) (*Article, error) {
	a, err := s.Article(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if !MayWrite(p, a.Service.ID) {
		return nil, access.Forbidden(access.TicketWork)
	}
	return a, nil
}

// Update rewrites an article's service, title and body; a published
// article stays published. Callers need to be able to write the
// article's service and, when it moves, the new one. Errors:
// unauthenticated, not_found, forbidden, invalid.
func (s *Service) Update(ctx context.Context, p *access.Principal, ref string, in Input) (*Article, error) {
	a, err := s.writable(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Service) == "" {
		in.Service = a.Service.ID
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	svc, err := s.service(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	if !MayWrite(p, svc.ID) {
		return nil, access.Forbidden(access.TicketWork)
	}
	after := *a
	after.Service, after.Title, after.Body, after.UpdatedAt = svc, in.Title, in.Body, sqldb.Time(s.now())
	return s.save(ctx, p, "article.update", a, &after)
}

// save writes an article's change with its audit record.
func (s *Service) save(ctx context.Context, p *access.Principal, action string, before, after *Article) (*Article, error) {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE articles SET service_id = $2, title = $3, body = $4, state = $5, updated_at = $6, published_at = $7
			WHERE id = $1`, after.ID, after.Service.ID, after.Title, after.Body, after.State, after.UpdatedAt, sqldb.NullTime(after.PublishedAt))
		if err != nil {
			return sqldb.Err(err, "article")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("article %q not found", before.Reference)
		}
		return audit.Write(ctx, tx, p, after.UpdatedAt, audit.Entry{Action: action, ObjectType: "article", ObjectID: after.ID, Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	s.idx.invalidate()
	if before.State == StatePublished || after.State == StatePublished {
		s.desk.ArticlesChanged()
	}
	return after, nil
}

// Publish makes an article readable by everyone who may read the catalog
// and suggested; a retired article may be published again. Callers need
// to be able to write it. Errors: unauthenticated, not_found, forbidden,
// conflict (already published).
func (s *Service) Publish(ctx context.Context, p *access.Principal, ref string) (*Article, error) {
	return s.move(ctx, p, ref, StatePublished, "article.publish")
}

// Retire withdraws a published (or draft) article: no longer shown or
// suggested, kept for its writers and the tickets that link it. Errors:
// unauthenticated, not_found, forbidden, conflict (already retired).
func (s *Service) Retire(ctx context.Context, p *access.Principal, ref string) (*Article, error) {
	return s.move(ctx, p, ref, StateRetired, "article.retire")
}

func (s *Service) move(ctx context.Context, p *access.Principal, ref string, to State, action string) (*Article, error) {
	a, err := s.writable(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if a.State == to {
		return nil, errs.Conflict("article %s is %s already", a.Reference, to)
	}
	after := *a
	after.State, after.UpdatedAt = to, sqldb.Time(s.now())
	if to == StatePublished {
		at := after.UpdatedAt
		after.PublishedAt = &at
	}
	return s.save(ctx, p, action, a, &after)
}

// Filter narrows Articles.
type Filter struct {
	Service string // code or ID
	// State is a state; empty lists the published articles and, for those
	// who write a service's articles, its drafts and retired ones too.
	State State
	// Query matches words of the title or the body.
	Query string
	Page  sqldb.Page
}

var listOrder = sqldb.Order{Name: "articles", Columns: []string{"a.updated_at", "a.id"}, Desc: true}

// Articles lists a page of the articles p may read, most recently changed
// first. Errors: unauthenticated, forbidden (p may read no article),
// invalid (a filter).
func (s *Service) Articles(ctx context.Context, p *access.Principal, f Filter) (sqldb.Paged[*Article], error) {
	var none sqldb.Paged[*Article]
	if p == nil {
		return none, errs.Unauthenticated("sign in to read knowledge articles")
	}
	if !MayRead(p) {
		return none, access.Forbidden(access.CatalogRead)
	}
	f.Query = strings.TrimSpace(f.Query)
	var v errs.Validator
	v.Check(f.State == "" || f.State.Valid(), "state", "enum", "state is draft, published or retired")
	textCheck(&v, f.Query, "q", 200, false)
	if err := v.Err("a query parameter is not valid"); err != nil {
		return none, err
	}
	var args sqldb.Args
	where := []string{s.readable(p, &args)}
	if f.Service != "" {
		svc, err := s.service(ctx, strings.TrimSpace(f.Service))
		if err != nil {
			return none, err
		}
		where = append(where, "a.service_id = "+args.Add(svc.ID))
	}
	if f.State != "" {
		where = append(where, "a.state = "+args.Add(string(f.State)))
	}
	for i, w := range strings.Fields(strings.ToLower(f.Query)) {
		if i == 8 {
			break
		}
		like := args.Add("%" + escapeLike(w) + "%")
		where = append(where, "(LOWER(a.title) LIKE "+like+" ESCAPE '\\' OR LOWER(a.body) LIKE "+like+" ESCAPE '\\')")
	}
	var at time.Time
	var id string
	seek, err := listOrder.Seek(&args, f.Page, &at, &id)
	if err != nil {
		return none, err
	}
	where = append(where, seek)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "articles", scanArticle, `SELECT `+articleColumns+articleFrom+` WHERE `+strings.Join(where, " AND ")+
		listOrder.By()+listOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, f.Page, listOrder, func(a *Article) []any { return []any{a.UpdatedAt, a.ID} }), nil
}

// readable is the condition of the articles p may read.
func (s *Service) readable(p *access.Principal, args *sqldb.Args) string {
	if p.Can(access.DeskManage, access.Resource{}) {
		return "1 = 1"
	}
	all, svcs := p.ServiceScope(access.TicketWork)
	if all {
		return "1 = 1"
	}
	cond := "a.state = 'published'"
	if !p.CanAnywhere(access.CatalogRead) && !MayWriteAny(p) {
		cond = "1 = 0"
	}
	if len(svcs) > 0 {
		cond = "(" + cond + " OR " + sqldb.In(args, "a.service_id", svcs) + ")"
	}
	return cond
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
