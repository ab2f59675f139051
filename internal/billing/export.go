package billing

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Format is an export format.
type Format string

// The export formats.
const (
	CSV   Format = "csv"   // Steward's own columns, one row per line
	FOCUS Format = "focus" // FinOps FOCUS 1.2 columns (docs/billing.md has the mapping)
)

// ExportFilter chooses the lines exported: those of documents whose period
// starts in [From, To), finalised or paid (and drafts when asked).
type ExportFilter struct {
	From, To      time.Time
	AccountID     string
	IncludeDrafts bool
}

// Issuer names the IT organisation in FOCUS's provider columns.
const Issuer = "Internal IT"

var csvHeader = []string{"document", "document_kind", "document_state", "account_id", "account", "org_unit", "billing_period_start", "billing_period_end",
	"position", "line_kind", "description", "service", "instance_id", "instance", "plan_id", "price_version_id", "component", "meter",
	"charge_period_start", "charge_period_end", "quantity", "unit", "unit_price", "amount", "currency"}

var focusHeader = []string{"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "BillingAccountId", "BillingAccountName",
	"BillingAccountType", "SubAccountId", "SubAccountName", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit",
	"PricingCategory", "ListUnitPrice", "ContractedUnitPrice", "InvoiceId", "InvoiceIssuerName", "ProviderName", "PublisherName",
	"ResourceId", "ResourceName", "ServiceName", "ServiceCategory", "SkuId", "SkuPriceId"}

// Export writes the lines the caller may read in a format. Callers need
// billing.read; they get their org units' lines.
func (s *Service) Export(ctx context.Context, p *access.Principal, f ExportFilter, format Format, w io.Writer) error {
	if err := p.RequireAnywhere(access.BillingRead); err != nil {
		return err
	}
	var v errs.Validator
	v.Check(format == CSV || format == FOCUS, "format", "enum", "format is csv or focus")
	v.Check(!f.From.IsZero() && !f.To.IsZero() && f.To.After(f.From), "to", "range", "give from and to (RFC 3339), to after from")
	if err := v.Err("the export is not valid"); err != nil {
		return err
	}
	all, paths := p.OrgUnitScope(access.BillingRead)
	where, args := sqldb.PathScope(all, paths, "o.path", []any{sqldb.Time(f.From), sqldb.Time(f.To)})
	states := `d.state IN ('finalised', 'paid')`
	if f.IncludeDrafts {
		states = `d.state <> 'void'`
	}
	if f.AccountID != "" {
		args = append(args, f.AccountID)
		where += fmt.Sprintf(" AND (a.id = $%[1]d OR o.code = $%[1]d OR o.id = $%[1]d)", len(args))
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT COALESCE(d.number, ''), d.kind, d.state, a.id, a.name, a.mode, o.id, o.name, d.period_start, d.period_end, d.currency,
			COALESCE(sv.name, ''), COALESCE(n.name, ''), `+lineColumns+`
		FROM billing_lines l JOIN billing_documents d ON d.id = l.document_id JOIN billing_accounts a ON a.id = d.account_id JOIN org_units o ON o.id = a.org_unit_id
		LEFT JOIN services sv ON sv.id = l.service_id LEFT JOIN instances n ON n.id = l.instance_id
		WHERE d.period_start >= $1 AND d.period_start < $2 AND `+states+` AND `+where+`
		ORDER BY d.period_start, a.name, d.id, l.position`, args...)
	if err != nil {
		return sqldb.Err(err, "billing lines")
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if format == CSV {
		cw.Write(csvHeader)
	} else {
		cw.Write(focusHeader)
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for rows.Next() {
		var number, acctID, acctName, unitID, unitName, currency, service, instance string
		var kind DocKind
		var state DocState
		var mode Mode
		var ps, pe time.Time
		var l Line
		var explain string
		if err := rows.Scan(&number, &kind, &state, &acctID, &acctName, &mode, &unitID, &unitName, &ps, &pe, &currency, &service, &instance,
			&l.Position, &l.Kind, &l.Description, &l.InstanceID, &l.ServiceID, &l.OfferingID, &l.PlanID, &l.PriceVersionID, &l.Component, &l.Meter,
			&l.Quantity, &l.Unit, &l.UnitPrice, &l.AmountMinor, &l.PeriodStart, &l.PeriodEnd, &l.usageKey, &explain); err != nil {
			return sqldb.Err(err, "billing lines")
		}
		amount := money.New(l.AmountMinor, currency).Decimal()
		if format == CSV {
			cw.Write([]string{number, string(kind), string(state), acctID, acctName, unitName, ts(ps), ts(pe), fmt.Sprint(l.Position), string(l.Kind),
				l.Description, service, l.InstanceID, instance, l.PlanID, l.PriceVersionID, l.Component, l.Meter, ts(l.PeriodStart), ts(l.PeriodEnd),
				l.Quantity, l.Unit, l.UnitPrice, amount, currency})
			continue
		}
		billed := amount
		if kind == Statement || (kind == CreditNote && mode == Showback) {
			billed = money.New(0, currency).Decimal() // showback: shown, not billed
		}
		category, class, frequency := focusCharge(kind, l.Kind)
		consumed, consumedUnit := "", ""
		if l.Kind == LineUsage || l.Kind == LineLateUsage {
			consumed, consumedUnit = l.Quantity, l.Unit
		}
		unitPrice := ""
		if plainNumber(l.UnitPrice) {
			unitPrice = l.UnitPrice
		}
		sku, skuPrice := l.PlanID, ""
		if l.PriceVersionID != "" {
			skuPrice = l.PriceVersionID + ":" + l.Component
		}
		accountType := "Chargeback"
		if mode == Showback {
			accountType = "Showback"
		}
		cw.Write([]string{billed, amount, amount, amount, currency, acctID, acctName, accountType, unitID, unitName, ts(ps), ts(pe),
			ts(l.PeriodStart), ts(l.PeriodEnd), category, class, l.Description, frequency, consumed, consumedUnit, l.Quantity, l.Unit,
			"Standard", unitPrice, unitPrice, number, Issuer, Issuer, Issuer, l.InstanceID, instance, service, "Other", sku, skuPrice})
	}
	if err := rows.Err(); err != nil {
		return sqldb.Err(err, "billing lines")
	}
	cw.Flush()
	return cw.Error()
}

// focusCharge maps a line to FOCUS's ChargeCategory, ChargeClass and
// ChargeFrequency.
func focusCharge(doc DocKind, k LineKind) (category, class, frequency string) {
	switch k {
	case LineRecurring:
		category, frequency = "Purchase", "Recurring"
	case LineOneTime:
		category, frequency = "Purchase", "One-Time"
	case LineUsage, LineMinimum:
		category, frequency = "Usage", "Usage-Based"
	case LineLateUsage:
		category, class, frequency = "Usage", "Correction", "Usage-Based"
	case LineAdjustment:
		category, frequency = "Adjustment", "One-Time"
	case LineCredit:
		category, frequency = "Credit", "One-Time"
	}
	if doc == CreditNote {
		class = "Correction"
	}
	return category, class, frequency
}

// plainNumber reports whether a unit price is a plain number (tiered
// prices are described in words).
func plainNumber(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' && r != '-' {
			return false
		}
	}
	return s != ""
}
