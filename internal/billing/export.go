package billing

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/rating"
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

// AccountWide is the FOCUS ServiceName of lines that name no service
// (adjustments and credits people add, credit notes): FOCUS's ServiceName
// may not be null.
const AccountWide = "Account-wide charges"

var csvHeader = []string{"document", "document_kind", "document_state", "account_id", "account", "org_unit", "billing_period_start", "billing_period_end",
	"position", "line_kind", "description", "service", "instance_id", "instance", "plan_id", "price_version_id", "component", "meter",
	"charge_period_start", "charge_period_end", "quantity", "unit", "unit_price", "amount", "currency"}

// focusHeader is FOCUS 1.2's columns Steward fills, then its own (x_).
var focusHeader = []string{"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "BillingAccountId", "BillingAccountName",
	"BillingAccountType", "SubAccountId", "SubAccountName", "SubAccountType", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
	"ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit",
	"PricingCategory", "ListUnitPrice", "ContractedUnitPrice", "InvoiceId", "InvoiceIssuerName", "ProviderName", "PublisherName",
	"RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceName", "ServiceCategory", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceId", "SkuPriceDetails",
	"x_PriceVersionId"}

// exportLine is a line with what its export rows name: its document,
// account, service, instance and the org unit it charges.
type exportLine struct {
	docID, number                  string
	kind                           DocKind
	state                          DocState
	acctID, acctName               string
	mode                           Mode
	unitID, unitName               string
	ps, pe                         time.Time
	currency                       string
	service, category              string
	instance, offering, region     string
	chargedID, chargedName, chKind string
	l                              Line
	explain                        string
	held                           *big.Rat // the fraction of the period a fee was held, from explain (FOCUS)
}

// Export writes the lines the caller may read in a format. Callers need
// billing.read; they get their org units' lines. A FOCUS export returns
// internal if a line's stored explanation does not decode (its proration
// would be unknown).
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
	filter, args := exportFilter(p, f)
	var fx *focusExport
	if format == FOCUS {
		// The price versions the lines were rated at: their components
		// name the SKUs, split tiers and packages into unit prices.
		ids, err := sqldb.QueryAll(ctx, s.db.Read(), "price versions", func(row sqldb.Scanner) (string, error) {
			var id string
			return id, row.Scan(&id)
		}, `SELECT DISTINCT l.price_version_id`+exportFrom+filter+` AND l.price_version_id IS NOT NULL`, args...)
		if err != nil {
			return err
		}
		versions, err := rating.GetMany(ctx, s.db.Read(), ids)
		if err != nil {
			return err
		}
		fx = &focusExport{versions: versions}
	}
	// The org unit a line charges: the cost centre the run recorded on it
	// (lines billed before it did: the cost centre of the last instance
	// segment in its period, the org unit a credit was earned by), else the
	// account's own.
	rows, err := s.db.Read().QueryContext(ctx, `SELECT d.id, COALESCE(d.number, ''), d.kind, d.state, a.id, a.name, a.mode, o.id, o.name, d.period_start,
			d.period_end, d.currency, COALESCE(sv.name, ''), COALESCE(sv.focus_category, ''), COALESCE(n.name, ''), COALESCE(f.name, ''), COALESCE(pv.region, ''), cc.id, cc.name, cc.kind,
			`+lineColumns+exportFrom+`
		LEFT JOIN services sv ON sv.id = l.service_id LEFT JOIN instances n ON n.id = l.instance_id LEFT JOIN offerings f ON f.id = l.offering_id
		LEFT JOIN providers pv ON pv.id = n.provider_id
		LEFT JOIN billing_credits bc ON l.usage_key LIKE 'credit:%' AND bc.id = SUBSTR(l.usage_key, 8)
		JOIN org_units cc ON cc.id = COALESCE(l.cost_centre_id, (SELECT g.cost_centre_id FROM instance_segments g WHERE g.instance_id = l.instance_id
			AND g.started_at < l.period_end AND (g.ended_at IS NULL OR g.ended_at > l.period_start) ORDER BY g.seq DESC LIMIT 1), bc.org_unit_id, a.org_unit_id)`+
		filter+` ORDER BY d.period_start, a.name, d.id, l.position`, args...)
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
	for rows.Next() {
		var e exportLine
		l := &e.l
		if err := rows.Scan(&e.docID, &e.number, &e.kind, &e.state, &e.acctID, &e.acctName, &e.mode, &e.unitID, &e.unitName, &e.ps, &e.pe, &e.currency,
			&e.service, &e.category, &e.instance, &e.offering, &e.region, &e.chargedID, &e.chargedName, &e.chKind,
			&l.Position, &l.Kind, &l.Description, &l.InstanceID, &l.ServiceID, &l.OfferingID, &l.PlanID, &l.PriceVersionID, &l.Component, &l.Meter,
			&l.Quantity, &l.Unit, &l.UnitPrice, &l.AmountMinor, &l.PeriodStart, &l.PeriodEnd, &l.usageKey, &e.explain, &l.costCentre); err != nil {
			return sqldb.Err(err, "billing lines")
		}
		if format == CSV {
			cw.Write([]string{e.number, string(e.kind), string(e.state), e.acctID, e.acctName, e.unitName, focusTime(e.ps), focusTime(e.pe), fmt.Sprint(l.Position),
				string(l.Kind), l.Description, e.service, l.InstanceID, e.instance, l.PlanID, l.PriceVersionID, l.Component, l.Meter, focusTime(l.PeriodStart),
				focusTime(l.PeriodEnd), l.Quantity, l.Unit, l.UnitPrice, money.New(l.AmountMinor, e.currency).Decimal(), e.currency})
			continue
		}
		if e.held, err = proration(e.explain); err != nil {
			return badExplain(err, fmt.Sprintf("line %d of billing document %s", l.Position, e.docID))
		}
		for _, r := range fx.rows(&e) {
			cw.Write(r)
		}
	}
	if err := rows.Err(); err != nil {
		return sqldb.Err(err, "billing lines")
	}
	cw.Flush()
	return cw.Error()
}

// exportFrom joins a line to its document, account and org unit.
const exportFrom = ` FROM billing_lines l JOIN billing_documents d ON d.id = l.document_id JOIN billing_accounts a ON a.id = d.account_id
	JOIN org_units o ON o.id = a.org_unit_id`

// exportFilter is the WHERE clause (and its arguments) of the lines an
// export holds: documents whose period starts in [From, To), finalised or
// paid (or not void, with drafts), of the caller's org units and the
// account asked for.
func exportFilter(p *access.Principal, f ExportFilter) (string, []any) {
	all, paths := p.OrgUnitScope(access.BillingRead)
	where, scopeArgs := sqldb.PathScope(all, paths, "o.path", []any{sqldb.Time(f.From), sqldb.Time(f.To)})
	args := sqldb.Args(scopeArgs)
	states := `d.state IN ('finalised', 'paid')`
	if f.IncludeDrafts {
		states = `d.state <> 'void'`
	}
	if f.AccountID != "" {
		acct := args.Add(f.AccountID)
		where += " AND (a.id = " + acct + " OR o.code = " + acct + " OR o.id = " + acct + ")"
	}
	return ` WHERE d.period_start >= $1 AND d.period_start < $2 AND ` + states + ` AND ` + where, args
}

// focusTime writes an instant as FOCUS's Date/Time Format wants it: UTC,
// 'YYYY-MM-DDTHH:mm:ssZ'.
func focusTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// focusExport turns lines into FOCUS rows.
type focusExport struct {
	versions map[string]*rating.Version
}

// focusRow is one FOCUS row by column; a column left out is null.
type focusRow map[string]string

// pricing is how a row is priced: a quantity of a pricing unit at a unit
// price, and the exact list cost that makes (before rounding).
type pricing struct {
	consumed  string // ConsumedQuantity (usage rows)
	quantity  string // PricingQuantity
	unit      string // PricingUnit
	unitPrice string // ListUnitPrice and ContractedUnitPrice
	list      *big.Rat
	priceID   string            // SkuPriceId's part after the SkuId
	details   map[string]string // SkuPriceDetails beyond the component's
}

// rows maps one line to its FOCUS rows: one, or one per tier for a usage
// line priced in tiers (their billed costs add up to the line's amount).
func (x *focusExport) rows(e *exportLine) [][]string {
	var comp *rating.Component
	if v := x.versions[e.l.PriceVersionID]; v != nil {
		comp = v.Component(e.l.Component)
	}
	base := baseRow(e, comp)
	var prices []pricing
	if c := base["ChargeCategory"]; c == "Usage" || c == "Purchase" {
		prices = x.price(e, comp)
	}
	if len(prices) == 0 {
		return [][]string{unpricedRow(e, base, comp).cells()}
	}
	return pricedRows(e, base, comp, prices)
}

// baseRow is what every row of a line says: its account, sub account,
// periods, charge, invoice, provider, resource, service and SKU.
func baseRow(e *exportLine, comp *rating.Component) focusRow {
	l := &e.l
	r := focusRow{
		"BillingCurrency": e.currency, "BillingAccountId": e.acctID, "BillingAccountName": e.acctName, "BillingAccountType": "Chargeback",
		"SubAccountId": e.chargedID, "SubAccountName": e.chargedName, "SubAccountType": orgUnitType(e.chKind),
		"BillingPeriodStart": focusTime(e.ps), "BillingPeriodEnd": focusTime(e.pe), "ChargePeriodStart": focusTime(l.PeriodStart),
		"ChargePeriodEnd": focusTime(l.PeriodEnd), "ChargeDescription": l.Description, "InvoiceId": e.number,
		"InvoiceIssuerName": Issuer, "ProviderName": Issuer, "PublisherName": Issuer, "ServiceName": e.service, "ServiceCategory": e.category,
		"x_PriceVersionId": l.PriceVersionID,
	}
	if e.mode == Showback {
		r["BillingAccountType"] = "Showback"
	}
	if e.number == "" {
		r["InvoiceId"] = e.docID // a draft: its provisional invoice
	}
	if l.ServiceID == "" {
		r["ServiceName"], r["ServiceCategory"] = AccountWide, "Other"
	}
	if r["ServiceCategory"] == "" {
		r["ServiceCategory"] = "Other"
	}
	r["ServiceSubcategory"] = "Other (" + r["ServiceCategory"] + ")"
	if l.InstanceID != "" {
		r["ResourceId"], r["ResourceName"], r["ResourceType"] = l.InstanceID, e.instance, e.offering
		// The region of the provider the instance was placed on (FOCUS:
		// not null when a resource is operated in a distinct region).
		r["RegionId"], r["RegionName"] = e.region, e.region
	}
	r["ChargeCategory"], r["ChargeClass"], r["ChargeFrequency"] = focusCharge(e.kind, l.Kind)
	if l.PlanID != "" && l.Component != "" {
		r["SkuId"], r["SkuMeter"] = l.PlanID+":"+l.Component, skuMeter(l, comp)
	}
	return r
}

// billed reports whether the line's document bills it: showback is
// shown, not billed (statements, and credit notes of showback accounts).
func (e *exportLine) billed() bool {
	return e.kind != Statement && !(e.kind == CreditNote && e.mode == Showback)
}

// unpricedRow is the row of a line not priced per unit (credits,
// adjustments, minimum top-ups, late usage): no unit price, and every
// cost is the line's amount.
func unpricedRow(e *exportLine, base focusRow, comp *rating.Component) focusRow {
	l, r := &e.l, clone(base)
	cost := money.New(l.AmountMinor, e.currency).Decimal()
	r["BilledCost"], r["EffectiveCost"], r["ListCost"], r["ContractedCost"] = cost, cost, cost, cost
	category := r["ChargeCategory"]
	if !e.billed() {
		r["BilledCost"] = money.New(0, e.currency).Decimal()
		if category != "Usage" && category != "Purchase" {
			// FOCUS: a charge that is neither has the billed cost as its
			// effective, list and contracted cost.
			r["EffectiveCost"], r["ListCost"], r["ContractedCost"] = r["BilledCost"], r["BilledCost"], r["BilledCost"]
		}
	}
	if category == "Usage" {
		// Late usage (a correction): the difference in quantity.
		r["ConsumedQuantity"], r["ConsumedUnit"] = l.Quantity, focusUnit(l.Unit)
		r["PricingQuantity"], r["PricingUnit"], r["PricingCategory"] = l.Quantity, focusUnit(l.Unit), "Standard"
	}
	if r["SkuId"] != "" {
		r["SkuPriceId"], r["SkuPriceDetails"] = r["SkuId"], priceDetails(comp, nil)
	}
	return r
}

// pricedRows are the rows of a line priced per unit: each a quantity at a
// unit price, its ListCost their exact product, its BilledCost its share
// of the line's rounded amount.
func pricedRows(e *exportLine, base focusRow, comp *rating.Component, prices []pricing) [][]string {
	exact := make([]*big.Rat, len(prices))
	for i, pr := range prices {
		exact[i] = pr.list
	}
	amounts := allocate(e.l.AmountMinor, exact, e.currency)
	out := make([][]string, 0, len(prices))
	for i, pr := range prices {
		r := clone(base)
		cost := money.New(amounts[i], e.currency).Decimal()
		r["BilledCost"], r["EffectiveCost"] = cost, cost
		if !e.billed() {
			r["BilledCost"] = money.New(0, e.currency).Decimal()
		}
		list := exactDecimal(pr.list)
		r["ListCost"], r["ContractedCost"] = list, list
		r["PricingQuantity"], r["PricingUnit"], r["PricingCategory"] = pr.quantity, pr.unit, "Standard"
		r["ListUnitPrice"], r["ContractedUnitPrice"] = pr.unitPrice, pr.unitPrice
		if r["ChargeCategory"] == "Usage" {
			r["ConsumedQuantity"], r["ConsumedUnit"] = pr.consumed, focusUnit(e.l.Unit)
		}
		r["SkuPriceId"] = r["SkuId"] + pr.priceID
		r["SkuPriceDetails"] = priceDetails(comp, pr.details)
		out = append(out, r.cells())
	}
	return out
}

// price says how a usage or purchase line is priced, in rows: a fee is
// its units (prorated: units × the fraction of the period held) at the
// unit price; usage is its quantity at the unit price, its packages at
// the package price, or each tier's part at the tier's price.
func (x *focusExport) price(e *exportLine, c *rating.Component) []pricing {
	l := &e.l
	switch l.Kind {
	case LineRecurring, LineOneTime:
		units, ok1 := new(big.Rat).SetString(l.Quantity)
		price, ok2 := new(big.Rat).SetString(l.UnitPrice)
		if !ok1 || !ok2 || price.Sign() < 0 {
			return nil
		}
		qty := new(big.Rat).Mul(units, e.held)
		if l.AmountMinor < 0 {
			// The unused part of a fee billed in advance, given back: a
			// negative quantity at the (non-negative) unit price.
			qty.Neg(qty)
		}
		shown := quantityDecimal(qty)
		q, _ := new(big.Rat).SetString(shown)
		return []pricing{{quantity: shown, unit: focusUnit(l.Unit), unitPrice: l.UnitPrice, list: new(big.Rat).Mul(q, price)}}
	case LineUsage:
	default:
		return nil
	}
	qty, ok := new(big.Rat).SetString(l.Quantity)
	if c == nil || !ok {
		return nil
	}
	unit := focusUnit(l.Unit)
	switch c.Kind {
	case rating.PerUnit:
		price, _ := new(big.Rat).SetString(c.Price)
		return []pricing{{consumed: l.Quantity, quantity: l.Quantity, unit: unit, unitPrice: c.Price, list: new(big.Rat).Mul(qty, price)}}
	case rating.Package:
		ch := rating.RateUsage(*c, qty)
		price, _ := new(big.Rat).SetString(c.Price)
		size, _ := new(big.Rat).SetString(c.PackageSize)
		return []pricing{{consumed: l.Quantity, quantity: fmt.Sprint(ch.Packages), unit: packageUnit(size, unit), unitPrice: c.Price,
			list: new(big.Rat).Mul(big.NewRat(ch.Packages, 1), price), priceID: ":package-" + exactDecimal(size),
			details: map[string]string{"x_PackageSize": exactDecimal(size)}}}
	case rating.Graduated, rating.Volume:
		ch := rating.RateUsage(*c, qty)
		var out []pricing
		for _, t := range ch.Tiers {
			part, _ := new(big.Rat).SetString(t.Quantity)
			price, _ := new(big.Rat).SetString(t.UnitPrice)
			to := t.To
			if to == "" {
				to = "up"
			}
			id := ":tier-" + t.From + "-" + to
			details := map[string]string{"x_TierFrom": t.From, "x_TierUpTo": t.To}
			out = append(out, pricing{consumed: t.Quantity, quantity: t.Quantity, unit: unit, unitPrice: t.UnitPrice, list: new(big.Rat).Mul(part, price),
				priceID: id, details: details})
			if flat, ok := new(big.Rat).SetString(t.FlatPrice); ok && flat.Sign() > 0 {
				// The tier's flat price, charged once as the quantity
				// reaches it: one "Tier" at that price, consuming nothing more.
				out = append(out, pricing{consumed: "0", quantity: "1", unit: "Tiers", unitPrice: t.FlatPrice, list: flat, priceID: id + "-flat",
					details: map[string]string{"x_TierFrom": t.From, "x_TierUpTo": t.To, "x_TierFlatPrice": "true"}})
			}
		}
		return out
	}
	return nil
}

// proration is the fraction of the period a fee line was held, from its
// explanation (1 when it was not prorated). An explanation that does not
// decode is an error.
func proration(explain string) (*big.Rat, error) {
	var x struct {
		Proration struct {
			Fraction string `json:"fraction"`
		} `json:"proration"`
	}
	if err := json.Unmarshal([]byte(explain), &x); err != nil {
		return nil, err
	}
	if r, ok := new(big.Rat).SetString(x.Proration.Fraction); ok && r.Sign() > 0 {
		return r, nil
	}
	return big.NewRat(1, 1), nil
}

// allocate shares a line's rounded amount among its rows in proportion to
// their exact costs (largest remainders), so the rows add up to the line
// and each is within one minor unit of its exact cost.
func allocate(total int64, exact []*big.Rat, currency string) []int64 {
	out := make([]int64, len(exact))
	if len(exact) == 1 {
		out[0] = total
		return out
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(money.Exponent(currency))), nil))
	rem := make([]*big.Rat, len(exact))
	var sum int64
	for i, x := range exact {
		m := new(big.Rat).Mul(x, scale)
		fl := new(big.Int).Quo(m.Num(), m.Denom()) // exact costs are not negative
		out[i] = fl.Int64()
		rem[i] = new(big.Rat).Sub(m, new(big.Rat).SetInt(fl))
		sum += out[i]
	}
	left := total - sum
	if left < 0 || left > int64(len(exact)) {
		out[len(out)-1] += left // not the rating's own rounding: keep the total
		return out
	}
	for ; left > 0; left-- {
		best := -1
		for i, r := range rem {
			if r != nil && (best < 0 || r.Cmp(rem[best]) > 0) {
				best = i
			}
		}
		out[best]++
		rem[best] = nil
	}
	return out
}

// exactDecimal writes a rational that is a terminating decimal exactly,
// without trailing zeros (the product of decimals always is one).
func exactDecimal(r *big.Rat) string {
	d := new(big.Int).Set(r.Denom())
	digits := 0
	for _, p := range []int64{2, 5} {
		n := 0
		for new(big.Int).Rem(d, big.NewInt(p)).Sign() == 0 {
			d.Quo(d, big.NewInt(p))
			n++
		}
		digits = max(digits, n)
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		digits = 18 // not a terminating decimal: never a product of prices
	}
	return trimZeros(r.FloatString(digits))
}

// quantityDecimal writes a quantity exactly when it is a decimal of at
// most 9 places, else rounded to 9 places (a nanounit: 2.6 ms of a
// month's fee).
func quantityDecimal(r *big.Rat) string {
	s := exactDecimal(r)
	if i := strings.IndexByte(s, '.'); i < 0 || len(s)-i-1 <= 9 {
		return s
	}
	return trimZeros(r.FloatString(9))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// packageUnit is the pricing unit of a package: "10000 Requests".
func packageUnit(size *big.Rat, unit string) string {
	if size == nil {
		return "Packages"
	}
	if !size.IsInt() {
		return "Packages" // FOCUS's unit quantities are whole numbers
	}
	return size.Num().String() + " " + unit
}

// skuMeter names what a SKU meters: its price component's name.
func skuMeter(l *Line, c *rating.Component) string {
	if c != nil {
		return c.Name
	}
	if code, ok := strings.CutPrefix(l.Component, "addon:"); ok {
		return "Add-on " + code
	}
	return l.Component
}

// priceDetails is SkuPriceDetails: the SKU price's stable properties as a
// JSON object (Steward's own keys start x_, as FOCUS requires).
func priceDetails(c *rating.Component, more map[string]string) string {
	m := map[string]string{}
	if c != nil {
		m["x_PriceKind"] = string(c.Kind)
		if c.Meter != "" {
			m["x_Meter"] = c.Meter
		}
	} else {
		m["x_PriceKind"] = "add_on"
	}
	for k, v := range more {
		if v != "" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// orgUnitType is SubAccountType: the org unit's kind, readable.
func orgUnitType(kind string) string {
	if kind == "" {
		return ""
	}
	s := strings.ReplaceAll(kind, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// focusUnit writes a unit in FOCUS's Unit Format where it can: the time
// units and FOCUS's count units capitalised (time units plural after a
// dash, singular after a slash), a lone count unit plural, data sizes as
// FOCUS abbreviates them; other words capitalised. "GB-month" is
// "GB-Months", "request" is "Requests", "unit-month" is "Unit-Months".
func focusUnit(u string) string {
	u = strings.TrimSpace(u)
	if u == "" {
		return ""
	}
	var b strings.Builder
	start, sep := 0, byte(0)
	word := func(w string, after byte, alone bool) string {
		lw := strings.ToLower(w)
		if t, ok := focusTimeUnits[strings.TrimSuffix(lw, "s")]; ok {
			if after == '/' {
				return t
			}
			return t + "s"
		}
		if d, ok := focusDataUnits[lw]; ok && (w == d || w == lw || w == strings.ToUpper(w)) {
			return d
		}
		if w == "" {
			return w
		}
		w = strings.ToUpper(w[:1]) + w[1:]
		if alone && !strings.HasSuffix(w, "s") && focusCountUnits[strings.ToLower(w)] {
			w += "s"
		}
		return w
	}
	alone := !strings.ContainsAny(u, "-/ ")
	for i := 0; i <= len(u); i++ {
		if i < len(u) && u[i] != '-' && u[i] != '/' && u[i] != ' ' {
			continue
		}
		b.WriteString(word(u[start:i], sep, alone))
		if i < len(u) {
			b.WriteByte(u[i])
			sep = u[i]
		}
		start = i + 1
	}
	return b.String()
}

var focusTimeUnits = map[string]string{"year": "Year", "month": "Month", "day": "Day", "hour": "Hour", "minute": "Minute", "second": "Second"}

var focusCountUnits = map[string]bool{"unit": true, "request": true, "token": true, "connection": true, "certificate": true, "domain": true, "core": true}

var focusDataUnits = func() map[string]string {
	m := map[string]string{}
	for _, d := range []string{"B", "KB", "MB", "GB", "TB", "PB", "EB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		m[strings.ToLower(d)] = d
	}
	return m
}()

func clone(r focusRow) focusRow {
	c := make(focusRow, len(r)+12)
	for k, v := range r {
		c[k] = v
	}
	return c
}

// cells is the row in focusHeader's order.
func (r focusRow) cells() []string {
	out := make([]string, len(focusHeader))
	for i, h := range focusHeader {
		out[i] = r[h]
	}
	return out
}

// focusCharge maps a line to FOCUS's ChargeCategory, ChargeClass and
// ChargeFrequency. A minimum top-up is an Adjustment: it charges no
// quantity at a unit price but what the period's usage fell short of.
func focusCharge(doc DocKind, k LineKind) (category, class, frequency string) {
	switch k {
	case LineRecurring:
		category, frequency = "Purchase", "Recurring"
	case LineOneTime:
		category, frequency = "Purchase", "One-Time"
	case LineUsage:
		category, frequency = "Usage", "Usage-Based"
	case LineMinimum:
		category, frequency = "Adjustment", "Recurring"
	case LineLateUsage:
		category, class, frequency = "Usage", "Correction", "Usage-Based"
	case LineAdjustment:
		category, frequency = "Adjustment", "One-Time"
	case LineCredit:
		category, frequency = "Credit", "One-Time"
	default:
		category, frequency = "Adjustment", "One-Time"
	}
	if doc == CreditNote {
		class = "Correction"
	}
	return category, class, frequency
}
