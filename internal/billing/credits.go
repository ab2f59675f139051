package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Credit is money owed back to an org unit that waits for its next
// invoice: a billing run puts it on the draft of the org unit's account as
// a credit line, and it stays on that document once finalised. It belongs
// to the period it was earned in and later ones: a run of a period that
// ended before it was earned never takes it.
type Credit struct {
	ID          string `json:"id"`
	OrgUnitID   string `json:"org_unit_id"`
	Currency    string `json:"currency"`
	AmountMinor int64  `json:"amount_minor"`
	Description string `json:"description"`
	Source      string `json:"source"`
	SourceID    string `json:"source_id"`
	// ServiceID is the service the credit relates to (an SLA rebate's
	// agreement's service), empty when it relates to the account as a whole.
	ServiceID  string         `json:"service_id,omitempty"`
	Explain    map[string]any `json:"explain"`
	DocumentID string         `json:"document_id,omitempty"`
	// Billed is set once the credit's document is finalised.
	Billed bool `json:"billed"`

	earned time.Time // when it was first recorded
	onEnd  time.Time // the end of the period of the draft it is on, if any
}

// CarrySource is the source of credits carried forward from an invoice
// whose credits exceeded its charges; the source ID is the invoice's.
const CarrySource = "carry_forward"

// carryKey marks an invoice's carried-forward line.
const carryKey = "carry"

// belongsTo says whether the credit may go on the document of a period
// ending at end: one that had not ended when the credit was earned.
func (c *Credit) belongsTo(end time.Time) bool { return c.earned.Before(end) }

// CreditInput says how much a source (a breach) owes an org unit in all.
type CreditInput struct {
	OrgUnitID   string
	Currency    string
	TotalMinor  int64
	Description string
	Source      string
	SourceID    string
	ServiceID   string // the service the credit relates to, if one
	Explain     map[string]any
	// Tell, on a credit the source makes for the first time, writes a
	// rebate.credited event telling the org unit's financial and
	// relationship managers (an SLA rebate of a breach just found).
	Tell bool
}

// SetCredit makes what the source has credited the org unit add up to
// in.TotalMinor, inside the caller's transaction: what finalised invoices
// already carry stays, and the rest is one credit waiting for the next
// invoice (changed in place while no invoice has been finalised with it).
// A total below what was already billed leaves the billed credits as they
// are: an invoice is never taken back silently.
func SetCredit(ctx context.Context, tx *sqldb.Tx, now time.Time, in CreditInput) error {
	var billed int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(c.amount_minor), 0) FROM billing_credits c JOIN billing_documents d ON d.id = c.document_id
		WHERE c.source = $1 AND c.source_id = $2 AND d.state <> 'draft' AND d.state <> 'void'`, in.Source, in.SourceID).Scan(&billed); err != nil {
		return sqldb.Err(err, "billing credits")
	}
	var pendingID string
	err := tx.QueryRowContext(ctx, `SELECT c.id FROM billing_credits c LEFT JOIN billing_documents d ON d.id = c.document_id
		WHERE c.source = $1 AND c.source_id = $2 AND (c.document_id IS NULL OR d.state = 'draft' OR d.state = 'void')`, in.Source, in.SourceID).Scan(&pendingID)
	if err != nil && !isNoRows(err) {
		return sqldb.Err(err, "billing credits")
	}
	rest := in.TotalMinor - billed
	explain, _ := json.Marshal(in.Explain)
	at := sqldb.Time(now)
	switch {
	case rest <= 0 && pendingID != "":
		_, err = tx.ExecContext(ctx, `DELETE FROM billing_credits WHERE id = $1`, pendingID)
	case rest <= 0:
		return nil
	case pendingID != "":
		_, err = tx.ExecContext(ctx, `UPDATE billing_credits SET amount_minor = $1, currency = $2, description = $3, explain = $4, org_unit_id = $5, service_id = $6, updated_at = $7
			WHERE id = $8`, rest, in.Currency, in.Description, string(explain), in.OrgUnitID, null(in.ServiceID), at, pendingID)
	default:
		id := sqldb.NewID()
		_, err = tx.ExecContext(ctx, `INSERT INTO billing_credits (id, org_unit_id, currency, amount_minor, description, source, source_id, service_id, explain, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`, id, in.OrgUnitID, in.Currency, rest, in.Description, in.Source, in.SourceID, null(in.ServiceID),
			string(explain), at)
		if err == nil && in.Tell {
			amount := money.New(rest, in.Currency)
			err = outbox.Emit(ctx, tx, access.System(), now, outbox.Event{Type: "rebate.credited", Subject: "credits/" + id, OrgUnitID: in.OrgUnitID, ServiceID: in.ServiceID,
				Data: map[string]any{"credit_id": id, "org_unit_id": in.OrgUnitID, "currency": in.Currency, "amount": amount.Decimal(),
					"description": in.Description, "source": in.Source, "source_id": in.SourceID},
				Notice: &outbox.Notice{Title: "A rebate of " + amount.String() + " is credited", Body: in.Description + " It reaches the next invoice.",
					Link: "/costs", Roles: []access.Role{access.RoleFinancialManager, access.RoleRelationshipManager}}})
			if err != nil {
				return err
			}
		}
	}
	return sqldb.Err(err, "billing credit")
}

const creditColumns = `c.id, c.org_unit_id, c.currency, c.amount_minor, c.description, c.source, c.source_id, COALESCE(c.service_id, ''), c.explain, COALESCE(c.document_id, ''), COALESCE(d.state, '')`

// scanCredit reads creditColumns; a credit on a voided document is on no
// document again.
func scanCredit(row sqldb.Scanner) (*Credit, error) {
	var c Credit
	var explain, state string
	if err := row.Scan(&c.ID, &c.OrgUnitID, &c.Currency, &c.AmountMinor, &c.Description, &c.Source, &c.SourceID, &c.ServiceID, &explain, &c.DocumentID, &state); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(explain), &c.Explain); err != nil {
		return nil, badExplain(err, "credit "+c.ID)
	}
	c.Billed = state != "" && state != string(Draft) && state != string(Void)
	if state == string(Void) {
		c.DocumentID = ""
	}
	return &c, nil
}

// CreditsFor lists the credits a source raised (source IDs under the
// prefix: a breach's credits are "<breach>/<org unit>") with the document
// each is on.
func CreditsFor(ctx context.Context, q sqldb.Querier, source, prefix string) ([]*Credit, error) {
	return sqldb.QueryAll(ctx, q, "billing credits", scanCredit, `SELECT `+creditColumns+`
		FROM billing_credits c LEFT JOIN billing_documents d ON d.id = c.document_id WHERE c.source = $1 AND (c.source_id = $2 OR c.source_id LIKE $3)
		ORDER BY c.created_at, c.id`, source, prefix, prefix+"/%")
}

// pendingCredits loads the credits a run may put on drafts: those on no
// document, on a draft, or on a voided document (released again), with
// when each was earned and the period end of the draft it is on.
func pendingCredits(ctx context.Context, q sqldb.Querier) ([]*Credit, error) {
	return sqldb.QueryAll(ctx, q, "billing credits", func(row sqldb.Scanner) (*Credit, error) {
		var c Credit
		var explain, state string
		var onEnd sql.NullTime
		if err := row.Scan(&c.ID, &c.OrgUnitID, &c.Currency, &c.AmountMinor, &c.Description, &c.Source, &c.SourceID, &c.ServiceID, &explain, &c.DocumentID, &state,
			&c.earned, &onEnd); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(explain), &c.Explain); err != nil {
			return nil, badExplain(err, "credit "+c.ID)
		}
		c.earned = c.earned.UTC()
		if state == string(Void) {
			c.DocumentID = ""
		} else if onEnd.Valid {
			c.onEnd = onEnd.Time.UTC()
		}
		return &c, nil
	}, `SELECT `+creditColumns+`, c.created_at, d.period_end
		FROM billing_credits c LEFT JOIN billing_documents d ON d.id = c.document_id
		WHERE c.document_id IS NULL OR d.state IN ('draft', 'void') ORDER BY c.created_at, c.id`)
}
