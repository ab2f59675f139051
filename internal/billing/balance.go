package billing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// EntryKind is what moved an account's credit balance.
type EntryKind string

// The entry kinds. Overpayments and credit notes beyond what an invoice
// still owed add to the account's credit; applying it to an invoice and
// refunding it use it.
const (
	EntryOverpayment EntryKind = "overpayment" // a payment beyond the invoice's balance
	EntryCreditNote  EntryKind = "credit_note" // a credit note beyond the invoice's balance
	EntryApplied     EntryKind = "applied"     // used to settle an invoice when it was finalised
	EntryRefund      EntryKind = "refund"      // paid back to the customer
)

// Entry is one movement of an account's credit balance, in the account's
// minor units: positive adds to the credit, negative uses it.
type Entry struct {
	ID          string    `json:"id"`
	Kind        EntryKind `json:"kind"`
	Amount      string    `json:"amount"`
	AmountMinor int64     `json:"amount_minor"`
	DocumentID  string    `json:"document_id,omitempty"`
	Reference   string    `json:"reference"`
	RecordedBy  string    `json:"recorded_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// Balance is where an account stands with its customer.
type Balance struct {
	AccountID string `json:"account_id"`
	Currency  string `json:"currency"`
	// Credit is the account's credit balance: the sum of its entries,
	// applied to its next invoice when that is finalised, or refunded.
	Credit      string `json:"credit"`
	CreditMinor int64  `json:"credit_minor"`
	// Owed is what the account's finalised invoices still owe.
	Owed      string `json:"owed"`
	OwedMinor int64  `json:"owed_minor"`
	// CreditsWaiting is the credits (SLA rebates, credit carried forward
	// from an invoice whose credits exceeded its charges) waiting for the
	// next invoice of the account's own org unit, where they become credit
	// lines.
	CreditsWaiting      string `json:"credits_waiting"`
	CreditsWaitingMinor int64  `json:"credits_waiting_minor"`
	// Entries are the account's newest entries (20), newest first;
	// MoreEntries says older ones follow, which Entries pages through.
	Entries     []Entry `json:"entries"`
	MoreEntries bool    `json:"more_entries"`
}

// entryOrder is an account's entries, newest first.
var entryOrder = sqldb.Order{Name: "entries", Columns: []string{"created_at", "id"}, Desc: true}

// Entries returns a page of the entries of an account's credit balance,
// newest first, to those who may read the account. Returns not_found for
// an unknown account, invalid (field cursor) for a cursor of another list.
func (s *Service) Entries(ctx context.Context, p *access.Principal, accountRef string, page sqldb.Page) (sqldb.Paged[Entry], error) {
	a, err := s.Account(ctx, p, accountRef)
	if err != nil {
		return sqldb.Paged[Entry]{}, err
	}
	return accountEntries(ctx, s.db.Read(), a, page)
}

func accountEntries(ctx context.Context, q sqldb.Querier, a *Account, page sqldb.Page) (sqldb.Paged[Entry], error) {
	var args sqldb.Args
	var at time.Time
	var id string
	seek, err := entryOrder.Seek(&args, page, &at, &id)
	if err != nil {
		return sqldb.Paged[Entry]{}, err
	}
	entries, err := sqldb.QueryAll(ctx, q, "account balance entries", func(row sqldb.Scanner) (Entry, error) {
		var e Entry
		err := row.Scan(&e.ID, &e.Kind, &e.AmountMinor, &e.DocumentID, &e.Reference, &e.RecordedBy, &e.CreatedAt)
		e.Amount, e.CreatedAt = money.New(e.AmountMinor, a.Currency).Decimal(), e.CreatedAt.UTC()
		return e, err
	}, `SELECT id, kind, amount_minor, COALESCE(document_id, ''), reference, recorded_by, created_at FROM billing_account_entries
		WHERE account_id = `+args.Add(a.ID)+` AND `+seek+entryOrder.By()+entryOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[Entry]{}, err
	}
	return sqldb.PageOf(entries, page, entryOrder, func(e Entry) []any { return []any{e.CreatedAt, e.ID} }), nil
}

// addEntry writes a ledger entry in the caller's transaction.
func addEntry(ctx context.Context, tx *sqldb.Tx, accountID string, kind EntryKind, minor int64, docID, reference, by string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO billing_account_entries (id, account_id, kind, amount_minor, document_id, reference, recorded_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, sqldb.NewID(), accountID, kind, minor, null(docID), reference, by, sqldb.Time(at))
	return sqldb.Err(err, "account balance entry")
}

// creditBalance is an account's credit balance. Inside a transaction that
// changes it, lock the account first (lockAccount).
func creditBalance(ctx context.Context, q sqldb.Querier, accountID string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount_minor), 0) FROM billing_account_entries WHERE account_id = $1`, accountID).Scan(&n)
	return n, sqldb.Err(err, "account balance")
}

// lockAccount takes the account's row lock (PostgreSQL; SQLite has one
// writer) so that two transactions never both spend its credit balance.
func lockAccount(ctx context.Context, tx *sqldb.Tx, accountID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE billing_accounts SET updated_at = updated_at WHERE id = $1`, accountID)
	return sqldb.Err(err, "billing account")
}

// Balance returns an account's credit balance with its newest entries, what its
// finalised invoices still owe and the credits waiting for its next
// invoice. Callers need billing.read on the account's org unit. Returns
// not_found for an unknown account.
func (s *Service) Balance(ctx context.Context, p *access.Principal, accountRef string) (*Balance, error) {
	a, err := s.Account(ctx, p, accountRef)
	if err != nil {
		return nil, err
	}
	return accountBalance(ctx, s.db.Read(), a)
}

// recentEntries is how many of an account's newest entries its balance
// shows; Entries pages through all of them.
const recentEntries = 20

func accountBalance(ctx context.Context, q sqldb.Querier, a *Account) (*Balance, error) {
	out := &Balance{AccountID: a.ID, Currency: a.Currency, Entries: []Entry{}}
	// The credit (the sum of every entry) and the newest entries in one
	// statement, so that they agree while entries are being added.
	type row struct {
		Entry
		credit int64
	}
	rows, err := sqldb.QueryAll(ctx, q, "account balance entries", func(r sqldb.Scanner) (row, error) {
		var x row
		err := r.Scan(&x.ID, &x.Kind, &x.AmountMinor, &x.DocumentID, &x.Reference, &x.RecordedBy, &x.CreatedAt, &x.credit)
		x.Amount, x.CreatedAt = money.New(x.AmountMinor, a.Currency).Decimal(), x.CreatedAt.UTC()
		return x, err
	}, `SELECT id, kind, amount_minor, COALESCE(document_id, ''), reference, recorded_by, created_at, SUM(amount_minor) OVER ()
		FROM billing_account_entries WHERE account_id = $1`+entryOrder.By()+` LIMIT `+strconv.Itoa(recentEntries+1), a.ID)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		out.CreditMinor = r.credit
		if i < recentEntries {
			out.Entries = append(out.Entries, r.Entry)
		}
	}
	out.MoreEntries = len(rows) > recentEntries
	docs, err := sqldb.QueryAll(ctx, q, "billing documents", scanDoc, `SELECT `+docColumns+docFrom+` WHERE d.account_id = $1 AND d.kind = 'invoice' AND d.state = 'finalised'`, a.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		out.OwedMinor += d.balance()
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(c.amount_minor), 0) FROM billing_credits c LEFT JOIN billing_documents d ON d.id = c.document_id
		WHERE c.org_unit_id = $1 AND c.currency = $2 AND (c.document_id IS NULL OR d.state IN ('draft', 'void'))`, a.OrgUnitID, a.Currency).Scan(&out.CreditsWaitingMinor); err != nil {
		return nil, sqldb.Err(err, "billing credits")
	}
	out.Credit = money.New(out.CreditMinor, a.Currency).Decimal()
	out.Owed = money.New(out.OwedMinor, a.Currency).Decimal()
	out.CreditsWaiting = money.New(out.CreditsWaitingMinor, a.Currency).Decimal()
	return out, nil
}

// RefundInput records money paid back to a customer from the account's
// credit balance.
type RefundInput struct {
	Amount    string `json:"amount"`
	Reference string `json:"reference"`
}

// Refund records a refund of the account's credit balance: money paid
// back, which the balance no longer holds. Callers need billing.manage.
// Returns invalid (field amount) for an amount that is not positive or is
// more than the credit balance, not_found for an unknown account.
func (s *Service) Refund(ctx context.Context, p *access.Principal, accountRef string, in RefundInput) (*Balance, error) {
	if err := p.Require(access.BillingManage, access.Resource{}); err != nil {
		return nil, err
	}
	a, err := s.Account(ctx, p, accountRef)
	if err != nil {
		return nil, err
	}
	var out *Balance
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := lockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		credit, err := creditBalance(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		in.Reference = strings.TrimSpace(in.Reference)
		amt, err := money.Parse(in.Amount, a.Currency)
		var v errs.Validator
		if v.Check(err == nil && amt.Minor > 0, "amount", "money", fmt.Sprintf("amount is a positive amount in %s such as 20.00", a.Currency)) {
			v.Check(amt.Minor <= credit, "amount", "range", fmt.Sprintf("amount is more than the account's credit balance of %s %s", money.New(credit, a.Currency).Decimal(), a.Currency))
		}
		v.Check(len(in.Reference) <= 200, "reference", "length", "reference must be at most 200 characters")
		if err := v.Err("the refund is not valid"); err != nil {
			return err
		}
		now := s.now()
		if err := addEntry(ctx, tx, a.ID, EntryRefund, -amt.Minor, "", in.Reference, p.Name, now); err != nil {
			return err
		}
		if out, err = accountBalance(ctx, tx, a); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_account.refund", ObjectType: "billing_account", ObjectID: a.ID,
			After: map[string]any{"amount_minor": amt.Minor, "reference": in.Reference, "credit_minor": out.CreditMinor}})
	})
	return out, err
}
