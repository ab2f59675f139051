// Package billing turns what instances held and used into statements
// (showback) and invoices (chargeback) per billing account and period.
//
// A billing account sits on an org unit and bills it and every org unit
// under it that has no account of its own. Its period runs from its anchor
// day of one month to the same day of the next, in UTC. A billing run for
// a month is a job: it rates every account's instance segments and usage
// with the price version each instance was quoted at (package rating),
// and writes one draft document per account. Re-running recomputes the
// drafts and never touches a finalised document; a run that stops resumes
// after the last account it committed.
//
// Flat fees bill per month, quarter or year, in arrears or in advance,
// prorated by the time held in the interval; usage is rated per price
// version an instance held, split by the hour. A draft of a period in
// progress keeps its costs to date beside the projection to the period's
// end.
//
// Documents go draft → finalised (immutable, numbered without gaps per
// kind) → paid or void. Money paid or credited beyond what an invoice owes
// is the account's credit balance (a ledger of entries), which settles the
// next invoice or is refunded; credits beyond a period's charges carry
// forward to the next invoice, so an invoice is never negative.
// Corrections are credit notes; usage that arrives
// after its period's document was finalised becomes a late-usage line on
// the next one, for exactly the difference. Every line says what it
// charges and why: plan, price version, component, quantity and, in
// explain, the proration, the tiers and the usage read.
package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Mode is whether an account is charged or shown its costs.
type Mode string

// The modes.
const (
	Showback   Mode = "showback"   // statements: costs shown, nothing charged
	Chargeback Mode = "chargeback" // invoices: costs charged to the org unit
)

// Account is a billing account on an org unit.
type Account struct {
	ID          string    `json:"id"`
	OrgUnitID   string    `json:"org_unit_id"`
	OrgUnitName string    `json:"org_unit_name"`
	Name        string    `json:"name"`
	Mode        Mode      `json:"mode"`
	Currency    string    `json:"currency"`
	AnchorDay   int       `json:"anchor_day"`
	TermsDays   int       `json:"terms_days"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	path        string
}

// Resource is the account as a scope: its org unit.
func (a *Account) Resource() access.Resource { return access.InOrgUnit(a.path) }

// Period returns the account's billing period of a month ("2026-11"): from
// its anchor day of that month to the anchor day of the next, midnight UTC.
func (a *Account) Period(month time.Time) (time.Time, time.Time) {
	start := time.Date(month.Year(), month.Month(), a.AnchorDay, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// AccountInput creates or changes the account of an org unit.
type AccountInput struct {
	// OrgUnit is the org unit's ID or code.
	OrgUnit  string `json:"org_unit"`
	Name     string `json:"name"`
	Mode     Mode   `json:"mode"`
	Currency string `json:"currency"`
	// AnchorDay is the day of the month periods start (1 to 28); default 1.
	AnchorDay int `json:"anchor_day"`
	// TermsDays is how long after issue an invoice is due; default 30.
	TermsDays int `json:"terms_days"`
}

func (in *AccountInput) validate() error {
	in.Name, in.Currency = strings.TrimSpace(in.Name), strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.AnchorDay == 0 {
		in.AnchorDay = 1
	}
	if in.TermsDays == 0 {
		in.TermsDays = 30
	}
	var v errs.Validator
	v.Check(strings.TrimSpace(in.OrgUnit) != "", "org_unit", "required", "name the org unit billed (its ID or code)")
	v.Check(len(in.Name) <= 200, "name", "length", "name must be at most 200 characters")
	v.Check(in.Mode == Showback || in.Mode == Chargeback, "mode", "enum", "mode is showback (statements) or chargeback (invoices)")
	v.Check(money.ValidCurrency(in.Currency), "currency", "format", "currency must be an ISO 4217 code such as EUR")
	v.Check(in.AnchorDay >= 1 && in.AnchorDay <= 28, "anchor_day", "range", "anchor_day is the day periods start, 1 to 28 (every month has it)")
	v.Check(in.TermsDays >= 0 && in.TermsDays <= 365, "terms_days", "range", "terms_days is 0 to 365")
	return v.Err("the billing account is not valid")
}

// Service is billing.
type Service struct {
	// ChunkSize is how many accounts one transaction of a run bills
	// (default 200): a run that stops resumes after the last chunk.
	ChunkSize int

	db       *sqldb.DB
	now      func() time.Time
	jobs     *jobs.Runner
	metering *metering.Service
}

// RunJob is the kind of the billing-run job.
const RunJob = "billing.run"

// New returns the billing service and registers its job with the runner.
func New(db *sqldb.DB, now func() time.Time, runner *jobs.Runner, m *metering.Service) *Service {
	s := &Service{ChunkSize: 200, db: db, now: now, jobs: runner, metering: m}
	runner.Handle(RunJob, s.runJob)
	return s
}

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}

const accountColumns = `a.id, a.org_unit_id, o.name, a.name, a.mode, a.currency, a.anchor_day, a.terms_days, a.created_at, a.updated_at, o.path`
const accountFrom = ` FROM billing_accounts a JOIN org_units o ON o.id = a.org_unit_id`

func scanAccount(row sqldb.Scanner) (*Account, error) {
	var a Account
	if err := row.Scan(&a.ID, &a.OrgUnitID, &a.OrgUnitName, &a.Name, &a.Mode, &a.Currency, &a.AnchorDay, &a.TermsDays, &a.CreatedAt, &a.UpdatedAt, &a.path); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

func queryAccounts(ctx context.Context, q sqldb.Querier, where string, args ...any) ([]*Account, error) {
	return sqldb.QueryAll(ctx, q, "billing accounts", scanAccount, `SELECT `+accountColumns+accountFrom+` `+where+` ORDER BY a.id`, args...)
}

// SaveAccount creates the org unit's billing account or changes it.
// Callers need billing.manage. The currency cannot change once the
// account has documents.
func (s *Service) SaveAccount(ctx context.Context, p *access.Principal, in AccountInput) (*Account, error) {
	if err := p.Require(access.BillingManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *Account
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var unitID, unitName string
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM org_units WHERE id = $1 OR code = $1`, strings.TrimSpace(in.OrgUnit)).Scan(&unitID, &unitName)
		if isNoRows(err) {
			return &errs.Error{Code: errs.CodeInvalid, Message: "the billing account is not valid",
				Fields: []errs.FieldError{{Field: "org_unit", Rule: "exists", Message: fmt.Sprintf("there is no org unit %q", in.OrgUnit)}}}
		}
		if err != nil {
			return sqldb.Err(err, "org unit")
		}
		if in.Name == "" {
			in.Name = unitName
		}
		now := sqldb.Time(s.now())
		before, err := queryAccounts(ctx, tx, `WHERE a.org_unit_id = $1`, unitID)
		if err != nil {
			return err
		}
		if len(before) == 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO billing_accounts (id, org_unit_id, name, mode, currency, anchor_day, terms_days, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, sqldb.NewID(), unitID, in.Name, in.Mode, in.Currency, in.AnchorDay, in.TermsDays, now)
		} else {
			b := before[0]
			if b.Currency != in.Currency || b.AnchorDay != in.AnchorDay {
				var docs int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_documents WHERE account_id = $1`, b.ID).Scan(&docs); err != nil {
					return sqldb.Err(err, "billing documents")
				}
				if docs > 0 {
					return errs.Conflict("account %s already has documents: its currency and anchor day cannot change; open a new account on another org unit instead", b.Name)
				}
			}
			_, err = tx.ExecContext(ctx, `UPDATE billing_accounts SET name = $1, mode = $2, currency = $3, anchor_day = $4, terms_days = $5, updated_at = $6 WHERE id = $7`,
				in.Name, in.Mode, in.Currency, in.AnchorDay, in.TermsDays, now, b.ID)
		}
		if err != nil {
			return sqldb.Err(err, "billing account")
		}
		after, err := queryAccounts(ctx, tx, `WHERE a.org_unit_id = $1`, unitID)
		if err != nil {
			return err
		}
		out = after[0]
		var prev any
		if len(before) > 0 {
			prev = before[0]
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_account.save", ObjectType: "billing_account", ObjectID: out.ID, Before: prev, After: out})
	})
	return out, err
}

// AccountFilter narrows Accounts and asks for one page of it.
type AccountFilter struct {
	// Mode keeps the accounts billed that way.
	Mode Mode
	sqldb.Page
}

// accountOrder is the order of Accounts: by ID, the order they were opened.
var accountOrder = sqldb.Order{Name: "opened", Columns: []string{"a.id"}}

// Accounts lists one page of the billing accounts the caller may read, in
// the order they were opened; the caller's scope is part of the query.
// Callers need billing.read somewhere, else forbidden; a cursor not of
// this list is invalid.
func (s *Service) Accounts(ctx context.Context, p *access.Principal, f AccountFilter) (sqldb.Paged[*Account], error) {
	if err := p.RequireAnywhere(access.BillingRead); err != nil {
		return sqldb.Paged[*Account]{}, err
	}
	all, paths := p.OrgUnitScope(access.BillingRead)
	where, scopeArgs := sqldb.PathScope(all, paths, "o.path", nil)
	args := sqldb.Args(scopeArgs)
	if f.Mode != "" {
		where += " AND a.mode = " + args.Add(string(f.Mode))
	}
	var after string
	seek, err := accountOrder.Seek(&args, f.Page, &after)
	if err != nil {
		return sqldb.Paged[*Account]{}, err
	}
	as, err := sqldb.QueryAll(ctx, s.db.Read(), "billing accounts", scanAccount, `SELECT `+accountColumns+accountFrom+` WHERE `+where+` AND `+seek+
		accountOrder.By()+accountOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Account]{}, err
	}
	return sqldb.PageOf(as, f.Page, accountOrder, func(a *Account) []any { return []any{a.ID} }), nil
}

// Account returns one account by ID, or by its org unit's ID or code.
func (s *Service) Account(ctx context.Context, p *access.Principal, ref string) (*Account, error) {
	as, err := queryAccounts(ctx, s.db.Read(), `WHERE a.id = $1 OR o.id = $1 OR o.code = $1`, ref)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, errs.NotFound("billing account %q not found", ref)
	}
	if err := p.Require(access.BillingRead, as[0].Resource()); err != nil {
		return nil, err
	}
	return as[0], nil
}

// parseMonth reads "2026-11".
func parseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, &errs.Error{Code: errs.CodeInvalid, Message: "the month is not valid",
			Fields: []errs.FieldError{{Field: "month", Rule: "format", Message: "month is written 2026-11"}}}
	}
	return t, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// badExplain is the error for a stored explanation (of a line or a
// credit) that does not decode: the data is damaged, not absent.
func badExplain(err error, what string) error {
	return errs.Internal(err, "the stored explanation of %s is not valid JSON", what)
}

// kindOf is the document kind an account's mode produces.
func kindOf(m Mode) DocKind {
	if m == Chargeback {
		return Invoice
	}
	return Statement
}

// Month is the month in progress by the service's clock, "2026-11".
func (s *Service) Month() string { return s.now().UTC().Format("2006-01") }
