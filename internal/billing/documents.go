package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// DocKind is what a document is.
type DocKind string

// The document kinds.
const (
	Invoice    DocKind = "invoice"     // chargeback
	Statement  DocKind = "statement"   // showback
	CreditNote DocKind = "credit_note" // a correction of an invoice or statement
)

// numberPrefix is how each kind's numbers start: INV-2026-000001.
var numberPrefix = map[DocKind]string{Invoice: "INV", Statement: "STM", CreditNote: "CN"}

// DocState is where a document is.
type DocState string

// The document states.
const (
	Draft     DocState = "draft"
	Finalised DocState = "finalised"
	Paid      DocState = "paid"
	Void      DocState = "void"
)

// LineKind is what a line charges.
type LineKind string

// The line kinds. Recurring, one-time, usage, minimum and late-usage lines
// are computed by billing runs; adjustments and credits are added by
// people (and by service level management, for rebates) and survive
// re-runs.
const (
	LineRecurring  LineKind = "recurring"
	LineOneTime    LineKind = "one_time"
	LineUsage      LineKind = "usage"
	LineMinimum    LineKind = "minimum"
	LineLateUsage  LineKind = "late_usage"
	LineAdjustment LineKind = "adjustment"
	LineCredit     LineKind = "credit"
)

// Document is an invoice, statement or credit note.
type Document struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	AccountName string    `json:"account_name"`
	OrgUnitID   string    `json:"org_unit_id"`
	OrgUnitName string    `json:"org_unit_name"`
	RunID       string    `json:"run_id,omitempty"`
	Kind        DocKind   `json:"kind"`
	State       DocState  `json:"state"`
	Number      string    `json:"number,omitempty"`
	Currency    string    `json:"currency"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Total       string    `json:"total"`
	TotalMinor  int64     `json:"total_minor"`
	PaidMinor   int64     `json:"paid_minor"`
	Paid        string    `json:"paid"`
	Credited    string    `json:"credited"`
	// Applied is the account credit that settled part of an invoice when
	// it was finalised; on a draft, what would settle it now.
	Applied string `json:"applied"`
	// Carried is what payments and credit notes gave beyond what the
	// invoice owed: it went to the account's credit balance.
	Carried string `json:"carried"`
	// Balance is the amount due: on an invoice, its total less payments,
	// credit notes and account credit applied, plus what was carried to
	// the account; on a draft invoice, what will be due if it is
	// finalised now. Never negative; always 0 on statements.
	Balance string `json:"balance"`
	// CostsToDate is, on a draft of a period in progress, what was
	// incurred up to AsOf (fees up to then, usage so far); Total is then
	// the projection to the period's end. Empty once the period has ended.
	CostsToDate      string     `json:"costs_to_date,omitempty"`
	CostsToDateMinor *int64     `json:"costs_to_date_minor,omitempty"`
	AsOf             *time.Time `json:"as_of,omitempty"`
	CreditsID        string     `json:"credits_id,omitempty"`
	Reason           string     `json:"reason,omitempty"`
	IssuedAt         *time.Time `json:"issued_at,omitempty"`
	DueAt            *time.Time `json:"due_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	// Lines are the document's first EmbeddedLines lines, by position;
	// LinesNext, when there are more, is the cursor of the page after
	// them in DocumentLines.
	Lines     []Line    `json:"lines,omitempty"`
	LinesNext string    `json:"lines_next,omitempty"`
	Payments  []Payment `json:"payments,omitempty"`

	creditedMinor int64
	appliedMinor  int64
	carriedMinor  int64
	accountCredit int64 // the account's credit balance (for drafts' amount due)
	path          string
}

// Label names the document for people: its number, or "Draft statement".
func (d *Document) Label() string {
	if d.Number != "" {
		return d.Number
	}
	return "Draft " + strings.ReplaceAll(string(d.Kind), "_", " ")
}

// Line is one charge of a document.
type Line struct {
	Position       int       `json:"position"`
	Kind           LineKind  `json:"kind"`
	Description    string    `json:"description"`
	InstanceID     string    `json:"instance_id,omitempty"`
	ServiceID      string    `json:"service_id,omitempty"`
	OfferingID     string    `json:"offering_id,omitempty"`
	PlanID         string    `json:"plan_id,omitempty"`
	PriceVersionID string    `json:"price_version_id,omitempty"`
	Component      string    `json:"component,omitempty"`
	Meter          string    `json:"meter,omitempty"`
	Quantity       string    `json:"quantity"`
	Unit           string    `json:"unit"`
	UnitPrice      string    `json:"unit_price"`
	Amount         string    `json:"amount"`
	AmountMinor    int64     `json:"amount_minor"`
	PeriodStart    time.Time `json:"period_start"`
	PeriodEnd      time.Time `json:"period_end"`
	// Explain is how the line was reached: the price version, proration,
	// tiers, and the usage read (meter, subject, window, events).
	Explain  map[string]any `json:"explain"`
	usageKey string
	toDate   int64 // what of the amount was incurred up to the run's now
	// costCentre is the org unit the line charged (the cost centre of the
	// instance segment it rates, the org unit a credit was earned by),
	// kept so an export of a finalised document never re-derives it.
	costCentre string
}

// Payment is money received against an invoice.
type Payment struct {
	ID         string    `json:"id"`
	Amount     string    `json:"amount"`
	ReceivedAt time.Time `json:"received_at"`
	Reference  string    `json:"reference"`
	RecordedBy string    `json:"recorded_by"`
	CreatedAt  time.Time `json:"created_at"`
}

const docColumns = `d.id, d.account_id, a.name, o.id, o.name, COALESCE(d.run_id, ''), d.kind, d.state, COALESCE(d.number, ''), d.currency,
	d.period_start, d.period_end, d.total_minor, d.paid_minor, COALESCE(d.credits_id, ''), d.reason, d.issued_at, d.due_at, d.created_at, d.updated_at, o.path,
	COALESCE((SELECT SUM(-c.total_minor) FROM billing_documents c WHERE c.credits_id = d.id AND c.state <> 'void'), 0),
	COALESCE((SELECT SUM(-e.amount_minor) FROM billing_account_entries e WHERE e.document_id = d.id AND e.kind = 'applied'), 0),
	COALESCE((SELECT SUM(e.amount_minor) FROM billing_account_entries e WHERE e.document_id = d.id AND e.kind IN ('overpayment', 'credit_note')), 0),
	CASE WHEN d.state = 'draft' AND d.kind = 'invoice' THEN COALESCE((SELECT SUM(e.amount_minor) FROM billing_account_entries e WHERE e.account_id = d.account_id), 0)
		- COALESCE((SELECT SUM(CASE WHEN p.total_minor > 0 THEN p.total_minor ELSE 0 END) FROM billing_documents p
			WHERE p.account_id = d.account_id AND p.kind = 'invoice' AND p.state = 'draft' AND p.period_start < d.period_start), 0) ELSE 0 END,
	d.to_date_minor, d.as_of`
const docFrom = ` FROM billing_documents d JOIN billing_accounts a ON a.id = d.account_id JOIN org_units o ON o.id = a.org_unit_id`

func scanDoc(row sqldb.Scanner) (*Document, error) {
	var d Document
	var issued, due, asOf sql.NullTime
	var toDate sql.NullInt64
	if err := row.Scan(&d.ID, &d.AccountID, &d.AccountName, &d.OrgUnitID, &d.OrgUnitName, &d.RunID, &d.Kind, &d.State, &d.Number, &d.Currency,
		&d.PeriodStart, &d.PeriodEnd, &d.TotalMinor, &d.PaidMinor, &d.CreditsID, &d.Reason, &issued, &due, &d.CreatedAt, &d.UpdatedAt, &d.path,
		&d.creditedMinor, &d.appliedMinor, &d.carriedMinor, &d.accountCredit, &toDate, &asOf); err != nil {
		return nil, err
	}
	d.IssuedAt, d.DueAt, d.AsOf = sqldb.TimePtr(issued), sqldb.TimePtr(due), sqldb.TimePtr(asOf)
	if toDate.Valid && d.State == Draft {
		d.CostsToDateMinor = &toDate.Int64
	} else {
		d.AsOf = nil
	}
	d.PeriodStart, d.PeriodEnd, d.CreatedAt, d.UpdatedAt = d.PeriodStart.UTC(), d.PeriodEnd.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.fill()
	return &d, nil
}

// fill derives the decimal amounts from the minor ones.
func (d *Document) fill() {
	d.Total = money.New(d.TotalMinor, d.Currency).Decimal()
	d.Paid = money.New(d.PaidMinor, d.Currency).Decimal()
	d.Credited = money.New(d.creditedMinor, d.Currency).Decimal()
	d.Applied = money.New(d.applied(), d.Currency).Decimal()
	d.Carried = money.New(d.carriedMinor, d.Currency).Decimal()
	d.Balance = money.New(d.balance(), d.Currency).Decimal()
	if d.CostsToDateMinor != nil {
		d.CostsToDate = money.New(*d.CostsToDateMinor, d.Currency).Decimal()
	}
}

// applied is the account credit that settled the invoice; on a draft
// invoice, what the account's credit balance would settle of it when
// drafts are finalised in order: earlier drafts take it first
// (accountCredit is what they leave).
func (d *Document) applied() int64 {
	if d.Kind == Invoice && d.State == Draft {
		return max(min(d.TotalMinor, d.accountCredit), 0)
	}
	return d.appliedMinor
}

// balance is the amount due: the total less payments, credit notes and
// account credit applied, plus what went beyond it to the account's
// credit balance (so it is never negative). Drafts show what will be due
// when finalised; statements and void documents owe nothing.
func (d *Document) balance() int64 {
	if d.Kind != Invoice || d.State == Void {
		return 0
	}
	if d.State == Draft {
		return max(d.TotalMinor-d.applied(), 0)
	}
	return d.TotalMinor - d.PaidMinor - d.creditedMinor - d.appliedMinor + d.carriedMinor
}

// DocumentFilter narrows a document list and asks for one page of it.
type DocumentFilter struct {
	// AccountID keeps one account's documents: the account's ID, or its
	// org unit's ID or code.
	AccountID string
	Kind      DocKind
	State     DocState
	// From and To keep documents whose period starts in [From, To).
	From, To time.Time
	// Sort is newest (the default: newest period first, and in a period
	// the newest document first) or oldest.
	Sort string
	sqldb.Page
}

// The orders of Documents.
var (
	documentsNewest = sqldb.Order{Name: "newest", Columns: []string{"d.period_start", "d.id"}, Desc: true}
	documentsOldest = documentsNewest.Reversed("oldest")
)

// Documents lists one page of the documents the caller may read, newest
// period first; the caller's scope is part of the query. Callers need
// billing.read somewhere, else forbidden; a cursor not of this list is
// invalid.
func (s *Service) Documents(ctx context.Context, p *access.Principal, f DocumentFilter) (sqldb.Paged[*Document], error) {
	if err := p.RequireAnywhere(access.BillingRead); err != nil {
		return sqldb.Paged[*Document]{}, err
	}
	documentOrder, err := sqldb.SortBy(f.Sort, documentsNewest, documentsOldest)
	if err != nil {
		return sqldb.Paged[*Document]{}, err
	}
	all, paths := p.OrgUnitScope(access.BillingRead)
	where, scopeArgs := sqldb.PathScope(all, paths, "o.path", nil)
	args := sqldb.Args(scopeArgs)
	if f.AccountID != "" {
		acct := args.Add(f.AccountID)
		where += " AND (d.account_id = " + acct + " OR o.id = " + acct + " OR o.code = " + acct + ")"
	}
	if f.Kind != "" {
		where += " AND d.kind = " + args.Add(string(f.Kind))
	}
	if f.State != "" {
		where += " AND d.state = " + args.Add(string(f.State))
	}
	if !f.From.IsZero() {
		where += " AND d.period_start >= " + args.Add(sqldb.Time(f.From))
	}
	if !f.To.IsZero() {
		where += " AND d.period_start < " + args.Add(sqldb.Time(f.To))
	}
	var start time.Time
	var id string
	seek, err := documentOrder.Seek(&args, f.Page, &start, &id)
	if err != nil {
		return sqldb.Paged[*Document]{}, err
	}
	docs, err := sqldb.QueryAll(ctx, s.db.Read(), "billing documents", scanDoc, `SELECT `+docColumns+docFrom+` WHERE `+where+
		` AND `+seek+documentOrder.By()+documentOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Document]{}, err
	}
	return sqldb.PageOf(docs, f.Page, documentOrder, func(d *Document) []any { return []any{d.PeriodStart, d.ID} }), nil
}

// Document returns one document with its lines and payments. Callers
// need billing.read on the document's org unit. Returns not_found if there
// is no such document, forbidden if the caller may not read it, and
// internal if the database fails or a line's stored explanation does not
// decode.
func (s *Service) Document(ctx context.Context, p *access.Principal, id string) (*Document, error) {
	d, err := getDoc(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if err := p.Require(access.BillingRead, access.InOrgUnit(d.path)); err != nil {
		return nil, err
	}
	lines, err := docLines(ctx, s.db.Read(), d, sqldb.Page{Limit: EmbeddedLines})
	if err != nil {
		return nil, err
	}
	d.Lines, d.LinesNext = lines.Items, lines.Next
	payments, err := sqldb.QueryAll(ctx, s.db.Read(), "payments", func(row sqldb.Scanner) (Payment, error) {
		var pm Payment
		var minor int64
		err := row.Scan(&pm.ID, &minor, &pm.ReceivedAt, &pm.Reference, &pm.RecordedBy, &pm.CreatedAt)
		pm.Amount, pm.ReceivedAt, pm.CreatedAt = money.New(minor, d.Currency).Decimal(), pm.ReceivedAt.UTC(), pm.CreatedAt.UTC()
		return pm, err
	}, `SELECT id, amount_minor, received_at, reference, recorded_by, created_at FROM payments WHERE document_id = $1 ORDER BY received_at`, d.ID)
	if err != nil {
		return nil, err
	}
	if len(payments) > 0 {
		d.Payments = payments
	}
	return d, nil
}

func getDoc(ctx context.Context, q sqldb.Querier, id string) (*Document, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("billing document %q", id), scanDoc, `SELECT `+docColumns+docFrom+` WHERE d.id = $1 OR d.number = $1`, id)
}

const lineColumns = `l.position, l.kind, l.description, COALESCE(l.instance_id, ''), COALESCE(l.service_id, ''), COALESCE(l.offering_id, ''),
	COALESCE(l.plan_id, ''), COALESCE(l.price_version_id, ''), l.component, l.meter, l.quantity, l.unit, l.unit_price, l.amount_minor, l.period_start,
	l.period_end, l.usage_key, l.explain, COALESCE(l.cost_centre_id, '')`

func scanLine(row sqldb.Scanner, currency string) (Line, error) {
	var l Line
	var explain string
	if err := row.Scan(&l.Position, &l.Kind, &l.Description, &l.InstanceID, &l.ServiceID, &l.OfferingID, &l.PlanID, &l.PriceVersionID, &l.Component,
		&l.Meter, &l.Quantity, &l.Unit, &l.UnitPrice, &l.AmountMinor, &l.PeriodStart, &l.PeriodEnd, &l.usageKey, &explain, &l.costCentre); err != nil {
		return l, err
	}
	if err := json.Unmarshal([]byte(explain), &l.Explain); err != nil {
		return l, badExplain(err, fmt.Sprintf("billing line %d", l.Position))
	}
	l.Amount = money.New(l.AmountMinor, currency).Decimal()
	l.PeriodStart, l.PeriodEnd = l.PeriodStart.UTC(), l.PeriodEnd.UTC()
	return l, nil
}

// EmbeddedLines is how many lines Document embeds; the rest are read a
// page at a time with DocumentLines, from the document's LinesNext.
const EmbeddedLines = sqldb.MaxLimit

// lineOrder is the order of a document's lines: by position.
var lineOrder = sqldb.Order{Name: "line", Columns: []string{"l.position"}}

// DocumentLines lists one page of a document's lines, by position. Callers
// need billing.read on the document's org unit. Returns not_found if there
// is no such document, forbidden if the caller may not read it, invalid
// for a cursor not of this list.
func (s *Service) DocumentLines(ctx context.Context, p *access.Principal, id string, page sqldb.Page) (sqldb.Paged[Line], error) {
	d, err := getDoc(ctx, s.db.Read(), id)
	if err != nil {
		return sqldb.Paged[Line]{}, err
	}
	if err := p.Require(access.BillingRead, access.InOrgUnit(d.path)); err != nil {
		return sqldb.Paged[Line]{}, err
	}
	return docLines(ctx, s.db.Read(), d, page)
}

// docLines reads one page of d's lines.
func docLines(ctx context.Context, q sqldb.Querier, d *Document, page sqldb.Page) (sqldb.Paged[Line], error) {
	args := sqldb.Args{d.ID}
	var after int
	seek, err := lineOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[Line]{}, err
	}
	scan := func(row sqldb.Scanner) (Line, error) { return scanLine(row, d.Currency) }
	lines, err := sqldb.QueryAll(ctx, q, "billing lines", scan, `SELECT `+lineColumns+` FROM billing_lines l WHERE l.document_id = $1 AND `+seek+
		lineOrder.By()+lineOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[Line]{}, err
	}
	return sqldb.PageOf(lines, page, lineOrder, func(l Line) []any { return []any{l.Position} }), nil
}

// lockDoc reads a document for change inside a transaction and checks
// billing.manage.
func (s *Service) lockDoc(ctx context.Context, tx *sqldb.Tx, p *access.Principal, id string) (*Document, error) {
	if err := p.Require(access.BillingManage, access.Resource{}); err != nil {
		return nil, err
	}
	// Touching the row first takes PostgreSQL's row lock (SQLite has one writer).
	if _, err := tx.ExecContext(ctx, `UPDATE billing_documents SET updated_at = updated_at WHERE id = $1 OR number = $1`, id); err != nil {
		return nil, sqldb.Err(err, "billing document")
	}
	return getDoc(ctx, tx, id)
}

// nextNumber takes the next number of a kind's gapless sequence: it is
// taken inside the finalising transaction, so a rollback gives it back.
func nextNumber(ctx context.Context, tx *sqldb.Tx, kind DocKind, at time.Time) (string, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value`, string(kind)).Scan(&n); err != nil {
		return "", sqldb.Err(err, "document number")
	}
	return fmt.Sprintf("%s-%d-%06d", numberPrefix[kind], at.Year(), n), nil
}

// Finalise issues a draft: it gets its number and can no longer change.
// Callers need billing.manage.
func (s *Service) Finalise(ctx context.Context, p *access.Principal, id string) (*Document, error) {
	var docID string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		d, err := s.lockDoc(ctx, tx, p, id)
		if err != nil {
			return err
		}
		docID = d.ID
		return s.finalise(ctx, tx, p, d)
	})
	if err != nil {
		return nil, err
	}
	return s.Document(ctx, p, docID)
}

func (s *Service) finalise(ctx context.Context, tx *sqldb.Tx, p *access.Principal, d *Document) error {
	if d.State != Draft {
		return errs.Conflict("%s is %s; only a draft is finalised", d.Label(), d.State)
	}
	now := sqldb.Time(s.now())
	if d.Kind != CreditNote && now.Before(d.PeriodEnd) {
		return errs.Conflict("%s covers a period that ends %s; finalise it after then (until then it is a draft to date)", d.Label(), d.PeriodEnd.Format(time.RFC3339))
	}
	if d.Kind == Invoice {
		// Drafts written before credits carried forward may be negative.
		if err := settleDraft(ctx, tx, d.ID, now); err != nil {
			return err
		}
		var err error
		if d, err = getDoc(ctx, tx, d.ID); err != nil {
			return err
		}
	}
	number, err := nextNumber(ctx, tx, d.Kind, now)
	if err != nil {
		return err
	}
	var terms int
	if err := tx.QueryRowContext(ctx, `SELECT terms_days FROM billing_accounts WHERE id = $1`, d.AccountID).Scan(&terms); err != nil {
		return sqldb.Err(err, "billing account")
	}
	var due any
	if d.Kind == Invoice {
		due = now.AddDate(0, 0, terms)
	}
	state := Finalised
	var applied, carried int64
	if d.Kind == Invoice {
		if applied, err = s.applyAccountCredit(ctx, tx, p, d, number, now); err != nil {
			return err
		}
		if carried, err = s.carryForward(ctx, tx, d, number, now); err != nil {
			return err
		}
		if d.TotalMinor-applied <= 0 {
			state = Paid // nothing (left) to pay
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_documents SET state = $1, number = $2, issued_at = $3, due_at = $4, to_date_minor = NULL, as_of = NULL,
		updated_at = $3 WHERE id = $5 AND state = 'draft'`, state, number, now, due, d.ID); err != nil {
		return sqldb.Err(err, "billing document")
	}
	if d.Kind != CreditNote {
		total := money.New(d.TotalMinor, d.Currency)
		if err := outbox.Emit(ctx, tx, p, now, outbox.Event{Type: "invoice.finalised", Subject: "invoices/" + number, OrgUnitID: d.OrgUnitID,
			Data: map[string]any{"invoice_id": d.ID, "number": number, "kind": d.Kind, "org_unit_id": d.OrgUnitID,
				"period": d.PeriodStart.Format("2006-01"), "currency": d.Currency, "total": total.Decimal()},
			Notice: &outbox.Notice{Title: fmt.Sprintf("%s %s for %s: %s", strings.ToUpper(string(d.Kind[:1]))+string(d.Kind[1:]), number, d.OrgUnitName, total),
				Body: "Period " + d.PeriodStart.Format("January 2006") + ".", Link: "/billing/documents/" + d.ID,
				Roles: []access.Role{access.RoleFinancialManager, access.RoleRelationshipManager}}}); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, p, audit.Entry{Action: "billing_document.finalise", ObjectType: "billing_document", ObjectID: d.ID,
		After: map[string]any{"number": number, "total_minor": d.TotalMinor, "currency": d.Currency, "account_credit_applied_minor": applied,
			"carried_forward_minor": carried}})
}

// applyAccountCredit settles what it can of an invoice being finalised
// from its account's credit balance, and returns how much.
func (s *Service) applyAccountCredit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, d *Document, number string, now time.Time) (int64, error) {
	if d.TotalMinor <= 0 {
		return 0, nil
	}
	if err := lockAccount(ctx, tx, d.AccountID); err != nil {
		return 0, err
	}
	credit, err := creditBalance(ctx, tx, d.AccountID)
	if err != nil || credit <= 0 {
		return 0, err
	}
	applied := min(credit, d.TotalMinor)
	return applied, addEntry(ctx, tx, d.AccountID, EntryApplied, -applied, d.ID, "applied to "+number, p.Name, now)
}

// carryForward turns an invoice's carried-forward line (its credits
// exceeded its charges) into a credit waiting for the account's next
// invoice: earned now, it goes on a later period's document. It returns
// the amount carried.
func (s *Service) carryForward(ctx context.Context, tx *sqldb.Tx, d *Document, number string, now time.Time) (int64, error) {
	var amount int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount_minor), 0) FROM billing_lines WHERE document_id = $1 AND usage_key = $2`,
		d.ID, carryKey).Scan(&amount); err != nil {
		return 0, sqldb.Err(err, "billing lines")
	}
	if amount <= 0 {
		return 0, nil
	}
	return amount, SetCredit(ctx, tx, now, CreditInput{OrgUnitID: d.OrgUnitID, Currency: d.Currency, TotalMinor: amount,
		Description: "Credit carried forward from " + number, Source: CarrySource, SourceID: d.ID,
		Explain: map[string]any{"carried_from": number, "carried_from_id": d.ID,
			"rule": "credits beyond an invoice's charges carry forward to the next invoice as a credit line; an invoice is never negative"}})
}

// Void cancels a draft, or a finalised invoice or statement nobody has
// paid or credited (a credit note is final); its number stays used (the sequence keeps no gaps). Callers
// need billing.manage.
func (s *Service) Void(ctx context.Context, p *access.Principal, id, reason string) (*Document, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "say why the document is void",
			Fields: []errs.FieldError{{Field: "reason", Rule: "required", Message: "reason is required (at most 500 characters)"}}}
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		d, err := s.lockDoc(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if d.Kind == CreditNote && d.State != Draft {
			// What it credited settled its invoice and may have gone to the
			// account's credit: taking it back would reopen a paid invoice
			// and leave refundable credit behind.
			return errs.Conflict("%s is final; correct it with an adjustment on the next invoice instead", d.Label())
		}
		if d.State == Void || d.State == Paid || d.PaidMinor > 0 || d.creditedMinor > 0 || d.appliedMinor > 0 {
			return errs.Conflict("%s is %s with payments, account credit or credit notes against it; correct it with a credit note instead", d.Label(), d.State)
		}
		// The credit it carried forward goes with it, unless an invoice has
		// taken it already.
		carried, err := CreditsFor(ctx, tx, CarrySource, d.ID)
		if err != nil {
			return err
		}
		for _, c := range carried {
			if c.Billed {
				return errs.Conflict("%s carried a credit forward that %s already took; correct it with a credit note instead", d.Label(), "a finalised invoice")
			}
			if c.DocumentID != "" {
				if err := dropCreditLine(ctx, tx, c.DocumentID, c.ID, s.now()); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM billing_credits WHERE id = $1`, c.ID); err != nil {
				return sqldb.Err(err, "billing credits")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_documents SET state = 'void', reason = $1, updated_at = $2 WHERE id = $3`, reason, sqldb.Time(s.now()), d.ID); err != nil {
			return sqldb.Err(err, "billing document")
		}
		// Credits it carried wait for the next invoice again.
		if _, err := tx.ExecContext(ctx, `UPDATE billing_credits SET document_id = NULL WHERE document_id = $1`, d.ID); err != nil {
			return sqldb.Err(err, "billing credits")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_document.void", ObjectType: "billing_document", ObjectID: d.ID, Before: d,
			After: map[string]any{"state": Void, "reason": reason}})
	})
	if err != nil {
		return nil, err
	}
	return s.Document(ctx, p, id)
}

// PaymentInput records money received.
type PaymentInput struct {
	Amount     string    `json:"amount"`
	ReceivedAt time.Time `json:"received_at"`
	Reference  string    `json:"reference"`
}

// RecordPayment records a payment against a finalised invoice; paid in
// full, the invoice is paid, and what was paid beyond the amount due goes
// to the account's credit balance (an overpayment). Callers need
// billing.manage. Returns conflict for a document that is not a
// finalised unpaid invoice, invalid for an amount that is not positive.
func (s *Service) RecordPayment(ctx context.Context, p *access.Principal, id string, in PaymentInput) (*Document, error) {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		d, err := s.lockDoc(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if d.Kind != Invoice || d.State != Finalised {
			return errs.Conflict("%s is a %s %s; payments are recorded against finalised, unpaid invoices", d.Label(), d.State, strings.ReplaceAll(string(d.Kind), "_", " "))
		}
		amt, err := money.Parse(in.Amount, d.Currency)
		var v errs.Validator
		v.Check(err == nil && amt.Minor > 0, "amount", "money", fmt.Sprintf("amount is a positive amount in %s such as 120.50", d.Currency))
		v.Check(len(in.Reference) <= 200, "reference", "length", "reference must be at most 200 characters")
		if err := v.Err("the payment is not valid"); err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		if in.ReceivedAt.IsZero() {
			in.ReceivedAt = now
		}
		pid := sqldb.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments (id, document_id, amount_minor, received_at, reference, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			pid, d.ID, amt.Minor, sqldb.Time(in.ReceivedAt), in.Reference, p.Name, now); err != nil {
			return sqldb.Err(err, "payment")
		}
		state := Finalised
		due := d.balance()
		excess := max(amt.Minor-due, 0)
		if amt.Minor >= due {
			state = Paid
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_documents SET paid_minor = paid_minor + $1, state = $2, updated_at = $3 WHERE id = $4`, amt.Minor, state, now, d.ID); err != nil {
			return sqldb.Err(err, "billing document")
		}
		if excess > 0 {
			if err := lockAccount(ctx, tx, d.AccountID); err != nil {
				return err
			}
			if err := addEntry(ctx, tx, d.AccountID, EntryOverpayment, excess, d.ID, "overpayment of "+d.Label()+" "+in.Reference, p.Name, now); err != nil {
				return err
			}
		}
		balance := max(due-amt.Minor, 0)
		if err := outbox.Emit(ctx, tx, p, now, outbox.Event{Type: "payment.recorded", Subject: "invoices/" + d.Number, OrgUnitID: d.OrgUnitID,
			Data: map[string]any{"invoice_id": d.ID, "number": d.Number, "currency": d.Currency, "amount": amt.Decimal(),
				"balance": money.New(balance, d.Currency).Decimal()},
			Notice: &outbox.Notice{Title: fmt.Sprintf("Payment of %s recorded on %s", amt, d.Number),
				Body: "Balance due: " + money.New(balance, d.Currency).String() + ".", Link: "/billing/documents/" + d.ID,
				Roles: []access.Role{access.RoleFinancialManager}}}); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_document.payment", ObjectType: "billing_document", ObjectID: d.ID,
			After: map[string]any{"payment_id": pid, "amount_minor": amt.Minor, "reference": in.Reference, "state": state, "to_account_credit_minor": excess}})
	})
	if err != nil {
		return nil, err
	}
	return s.Document(ctx, p, id)
}

// LineInput is a line people add: an adjustment or a credit.
type LineInput struct {
	Kind        LineKind `json:"kind"`
	Description string   `json:"description"`
	// Amount is signed: credits are negative (a positive credit amount is
	// taken as the credit's size and made negative).
	Amount string `json:"amount"`
	// Reference points at what the line answers: a ticket, a breach.
	Reference string `json:"reference"`
}

func (in *LineInput) amount(currency string) (money.Amount, error) {
	in.Description = strings.TrimSpace(in.Description)
	var v errs.Validator
	v.Check(in.Kind == LineAdjustment || in.Kind == LineCredit, "kind", "enum", "kind is adjustment or credit")
	v.Check(in.Description != "" && len(in.Description) <= 300, "description", "required", "describe the line (at most 300 characters)")
	amt, err := money.Parse(in.Amount, currency)
	v.Check(err == nil && amt.Minor != 0, "amount", "money", fmt.Sprintf("amount is a non-zero amount in %s such as -50.00", currency))
	v.Check(len(in.Reference) <= 200, "reference", "length", "reference must be at most 200 characters")
	if err := v.Err("the line is not valid"); err != nil {
		return money.Amount{}, err
	}
	if in.Kind == LineCredit && amt.Minor > 0 {
		amt = amt.Neg()
	}
	return amt, nil
}

// AddLine adds an adjustment or credit to a draft; it stays through
// re-runs of the billing run. Callers need billing.manage.
func (s *Service) AddLine(ctx context.Context, p *access.Principal, id string, in LineInput) (*Document, error) {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		d, err := s.lockDoc(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if d.State != Draft {
			return errs.Conflict("%s is %s and cannot change; add the line to the next draft or issue a credit note", d.Label(), d.State)
		}
		amt, err := in.amount(d.Currency)
		if err != nil {
			return err
		}
		var pos int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM billing_lines WHERE document_id = $1`, d.ID).Scan(&pos); err != nil {
			return sqldb.Err(err, "billing line")
		}
		l := Line{Position: pos, Kind: in.Kind, Description: in.Description, Quantity: "1", Unit: "", UnitPrice: amt.Decimal(), AmountMinor: amt.Minor,
			PeriodStart: d.PeriodStart, PeriodEnd: d.PeriodEnd, Explain: map[string]any{"added_by": p.Name, "reference": in.Reference}}
		if err := insertLines(ctx, tx, d.ID, []Line{l}); err != nil {
			return err
		}
		if err := settleDraft(ctx, tx, d.ID, sqldb.Time(s.now())); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_document.add_line", ObjectType: "billing_document", ObjectID: d.ID, After: l})
	})
	if err != nil {
		return nil, err
	}
	return s.Document(ctx, p, id)
}

// CreditNoteInput corrects a finalised invoice or statement.
type CreditNoteInput struct {
	Reason string `json:"reason"`
	// Amount is how much is credited (positive); empty credits the whole
	// remaining total.
	Amount string `json:"amount"`
}

// IssueCreditNote issues a finalised credit note against a finalised or
// paid document, for at most what has not been credited yet. On an
// invoice, the part of the credit beyond the amount still due (what was
// paid or settled already) goes to the account's credit balance: the
// invoice's balance never goes below zero. Callers need billing.manage.
func (s *Service) IssueCreditNote(ctx context.Context, p *access.Principal, id string, in CreditNoteInput) (*Document, error) {
	var noteID string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		d, err := s.lockDoc(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if d.Kind == CreditNote || (d.State != Finalised && d.State != Paid) {
			return errs.Conflict("%s is a %s %s; credit notes correct finalised invoices and statements", d.Label(), d.State, strings.ReplaceAll(string(d.Kind), "_", " "))
		}
		open := d.TotalMinor - d.creditedMinor
		in.Reason = strings.TrimSpace(in.Reason)
		var v errs.Validator
		v.Check(in.Reason != "" && len(in.Reason) <= 500, "reason", "required", "say why the credit is given (at most 500 characters)")
		amt := money.New(open, d.Currency)
		if strings.TrimSpace(in.Amount) != "" {
			a, err := money.Parse(in.Amount, d.Currency)
			if v.Check(err == nil && a.Minor > 0, "amount", "money", fmt.Sprintf("amount is a positive amount in %s", d.Currency)) {
				amt = a
			}
		}
		v.Check(amt.Minor <= open && open > 0, "amount", "range", fmt.Sprintf("at most %s %s of %s is left to credit", money.New(open, d.Currency).Decimal(), d.Currency, d.Label()))
		if err := v.Err("the credit note is not valid"); err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		noteID = sqldb.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_documents (id, account_id, run_id, kind, state, currency, period_start, period_end, total_minor, paid_minor,
			credits_id, reason, created_at, updated_at) VALUES ($1, $2, NULL, 'credit_note', 'draft', $3, $4, $5, $6, 0, $7, $8, $9, $9)`,
			noteID, d.AccountID, d.Currency, d.PeriodStart, d.PeriodEnd, -amt.Minor, d.ID, in.Reason, now); err != nil {
			return sqldb.Err(err, "credit note")
		}
		l := Line{Position: 1, Kind: LineCredit, Description: "Credit against " + d.Label() + ": " + in.Reason, Quantity: "1", UnitPrice: amt.Neg().Decimal(),
			AmountMinor: -amt.Minor, PeriodStart: d.PeriodStart, PeriodEnd: d.PeriodEnd, Explain: map[string]any{"credits": d.Label(), "credits_id": d.ID, "issued_by": p.Name}}
		if err := insertLines(ctx, tx, noteID, []Line{l}); err != nil {
			return err
		}
		note, err := getDoc(ctx, tx, noteID)
		if err != nil {
			return err
		}
		if err := s.finalise(ctx, tx, p, note); err != nil {
			return err
		}
		// A credit that settles what is owed settles the invoice; beyond
		// it, the credit is the account's.
		due := d.balance()
		if d.Kind == Invoice && d.State == Finalised && due-amt.Minor <= 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE billing_documents SET state = 'paid', updated_at = $1 WHERE id = $2`, now, d.ID); err != nil {
				return sqldb.Err(err, "billing document")
			}
		}
		var excess int64
		if d.Kind == Invoice {
			excess = max(amt.Minor-max(due, 0), 0)
		}
		if excess > 0 {
			if err := lockAccount(ctx, tx, d.AccountID); err != nil {
				return err
			}
			if err := addEntry(ctx, tx, d.AccountID, EntryCreditNote, excess, d.ID, "credit note on "+d.Label()+" beyond its balance", p.Name, now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_document.credit_note", ObjectType: "billing_document", ObjectID: d.ID,
			After: map[string]any{"credit_note_id": noteID, "amount_minor": amt.Minor, "reason": in.Reason, "to_account_credit_minor": excess}})
	})
	if err != nil {
		return nil, err
	}
	return s.Document(ctx, p, noteID)
}

// Costs is what the caller's org units were charged or shown, per month
// and per service, from invoices, statements and credit notes (drafts
// included: the month in progress is a draft to date).
type Costs struct {
	Currency string        `json:"currency"`
	Months   []MonthCost   `json:"months"`
	Services []ServiceCost `json:"services"`
	Total    string        `json:"total"`
	// Mixed is set when documents are in more than one currency; only
	// Currency's are summed.
	Mixed bool `json:"mixed"`
}

// MonthCost is one billing month's total: for a month in progress, the
// projection to its end, with the costs incurred to date beside it.
type MonthCost struct {
	Month       string `json:"month"`
	Total       string `json:"total"`
	TotalMinor  int64  `json:"total_minor"`
	ToDate      string `json:"to_date"`
	ToDateMinor int64  `json:"to_date_minor"`
	// InProgress is set while a draft of the month is to date (its period
	// had not ended when it was last run): Total is then a projection.
	InProgress bool `json:"in_progress"`
}

// ServiceCost is one service's total over the window, with its months.
type ServiceCost struct {
	ServiceID  string           `json:"service_id"`
	Name       string           `json:"name"`
	Total      string           `json:"total"`
	TotalMinor int64            `json:"total_minor"`
	ByMonth    map[string]int64 `json:"by_month"`
}

// Costs sums the lines of the documents the caller may read whose period
// starts in [from, to), by month and service.
func (s *Service) Costs(ctx context.Context, p *access.Principal, from, to time.Time) (*Costs, error) {
	if err := p.RequireAnywhere(access.BillingRead); err != nil {
		return nil, err
	}
	all, paths := p.OrgUnitScope(access.BillingRead)
	where, args := sqldb.PathScope(all, paths, "o.path", []any{sqldb.Time(from), sqldb.Time(to)})
	type serviceMonth struct {
		start          time.Time
		cur, sid, name string
		sum            int64
	}
	sums, err := sqldb.QueryAll(ctx, s.db.Read(), "costs", func(row sqldb.Scanner) (serviceMonth, error) {
		var r serviceMonth
		return r, row.Scan(&r.start, &r.cur, &r.sid, &r.name, &r.sum)
	}, `SELECT d.period_start, d.currency, COALESCE(l.service_id, ''), COALESCE(sv.name, ''), SUM(l.amount_minor)
		FROM billing_lines l JOIN billing_documents d ON d.id = l.document_id JOIN billing_accounts a ON a.id = d.account_id JOIN org_units o ON o.id = a.org_unit_id
		LEFT JOIN services sv ON sv.id = l.service_id
		WHERE d.state <> 'void' AND d.period_start >= $1 AND d.period_start < $2 AND `+where+`
		GROUP BY d.period_start, d.currency, l.service_id, sv.name ORDER BY d.period_start`, args...)
	if err != nil {
		return nil, err
	}
	out := &Costs{}
	months := map[string]int64{}
	services := map[string]*ServiceCost{}
	var order []string // services in the order first seen
	var total int64
	for _, r := range sums {
		start, cur, sid, name, sum := r.start, r.cur, r.sid, r.name, r.sum
		if out.Currency == "" {
			out.Currency = cur
		}
		if cur != out.Currency {
			out.Mixed = true
			continue
		}
		m := start.UTC().Format("2006-01")
		if _, ok := months[m]; !ok {
			out.Months = append(out.Months, MonthCost{Month: m})
		}
		months[m] += sum
		total += sum
		if name == "" {
			name = "Adjustments and credits"
		}
		sc := services[sid]
		if sc == nil {
			sc = &ServiceCost{ServiceID: sid, Name: name, ByMonth: map[string]int64{}}
			services[sid] = sc
			order = append(order, sid)
		}
		sc.TotalMinor += sum
		sc.ByMonth[m] += sum
	}
	toDate, inProgress, err := s.costsToDate(ctx, where, args, out.Currency)
	if err != nil {
		return nil, err
	}
	for i := range out.Months {
		m := &out.Months[i]
		m.TotalMinor = months[m.Month]
		m.Total = money.New(m.TotalMinor, out.Currency).Decimal()
		m.ToDateMinor, m.InProgress = m.TotalMinor, inProgress[m.Month]
		if v, ok := toDate[m.Month]; ok {
			m.ToDateMinor = v
		}
		m.ToDate = money.New(m.ToDateMinor, out.Currency).Decimal()
	}
	out.Services = make([]ServiceCost, 0, len(order))
	for _, sid := range order {
		sc := services[sid]
		sc.Total = money.New(sc.TotalMinor, out.Currency).Decimal()
		out.Services = append(out.Services, *sc)
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].TotalMinor > out.Services[j].TotalMinor })
	out.Total = money.New(total, out.Currency).Decimal()
	return out, nil
}

// costsToDate sums, per month, the costs to date of the documents in the
// scope: a draft of a period in progress counts what was incurred up to
// its run, any other document its total.
func (s *Service) costsToDate(ctx context.Context, where string, args []any, currency string) (map[string]int64, map[string]bool, error) {
	type month struct {
		start time.Time
		sum   int64
		open  int
	}
	sums, err := sqldb.QueryAll(ctx, s.db.Read(), "costs to date", func(row sqldb.Scanner) (month, error) {
		var r month
		return r, row.Scan(&r.start, &r.sum, &r.open)
	}, `SELECT d.period_start, SUM(COALESCE(d.to_date_minor, d.total_minor)),
			MAX(CASE WHEN d.to_date_minor IS NULL THEN 0 ELSE 1 END)
		FROM billing_documents d JOIN billing_accounts a ON a.id = d.account_id JOIN org_units o ON o.id = a.org_unit_id
		WHERE d.state <> 'void' AND d.period_start >= $1 AND d.period_start < $2 AND d.currency = $`+fmt.Sprint(len(args)+1)+` AND `+where+`
		GROUP BY d.period_start`, append(args[:len(args):len(args)], currency)...)
	if err != nil {
		return nil, nil, err
	}
	toDate, inProgress := map[string]int64{}, map[string]bool{}
	for _, r := range sums {
		m := r.start.UTC().Format("2006-01")
		toDate[m] += r.sum
		inProgress[m] = inProgress[m] || r.open == 1
	}
	return toDate, inProgress, nil
}
