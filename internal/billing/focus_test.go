package billing_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// focusExport is an export parsed: one map per row, an empty cell is null.
type focusExport struct {
	header []string
	rows   []map[string]string
}

func exportFOCUS(t *testing.T, ctx context.Context, b *billing.Service, from, to time.Time) focusExport {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Export(ctx, access.System(), billing.ExportFilter{From: from, To: to, IncludeDrafts: true}, billing.FOCUS, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	x := focusExport{header: recs[0]}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		x.rows = append(x.rows, row)
	}
	if len(x.rows) == 0 {
		t.Fatal("the export has no rows")
	}
	return x
}

// The allowed values of FOCUS 1.2's columns (focus-1.2-columns-and-attributes.md).
var (
	focusChargeCategories = []string{"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
	focusFrequencies      = []string{"One-Time", "Recurring", "Usage-Based"}
	focusPricing          = []string{"Standard", "Dynamic", "Committed", "Other"}
	focusServiceCats      = []string{"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools", "Multicloud",
		"Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other"}
	focusNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?(E-?[0-9]+)?$`)
	focusTime   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
	pascalCase  = regexp.MustCompile(`^[A-Z][a-zA-Z0-9]*$`)
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func dec(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a number", s)
	}
	return r
}

// checkFOCUSRules asserts, row by row, every FOCUS 1.2 MUST rule that
// applies to the columns Steward exports; totals are the sums of the
// documents' lines (docs: document number or ID → total).
func checkFOCUSRules(t *testing.T, x focusExport, docs map[string]string) {
	t.Helper()
	// Column Handling: "Column IDs MUST use Pascal case", "MUST be
	// alphanumeric with no special characters"; "Custom columns MUST be
	// prefixed with a consistent x_ prefix" (and SHOULD come after all
	// FOCUS columns).
	custom := false
	for _, h := range x.header {
		if strings.HasPrefix(h, "x_") {
			custom = true
			continue
		}
		if !pascalCase.MatchString(h) || custom {
			t.Errorf("column %q: FOCUS column IDs are Pascal case, before custom x_ columns", h)
		}
	}
	// Presence: each column's "<Column> MUST be present in a FOCUS
	// dataset" (Mandatory), and the conditional ones whose condition
	// Steward meets: more than one BillingAccountType and SubAccountType,
	// sub accounts, usage measurement, negotiated pricing (contracted =
	// list), published unit prices and price lists, resources with types,
	// invoices. ChargeFrequency and InvoiceId are RECOMMENDED.
	have := map[string]bool{}
	for _, h := range x.header {
		have[h] = true
	}
	for _, c := range []string{"BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency", "BillingPeriodEnd",
		"BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
		"ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost",
		"ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
		"ServiceCategory", "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName",
		"SubAccountType"} {
		if !have[c] {
			t.Errorf("column %s is missing", c)
		}
	}
	skuOf := map[string]string{}      // SkuPriceId → SkuId
	detailsOf := map[string]string{}  // SkuPriceId → SkuPriceDetails
	categoryOf := map[string]string{} // ServiceName → ServiceCategory
	billed := map[string]*big.Rat{}   // InvoiceId → sum of BilledCost
	accountOf := map[string]string{}  // InvoiceId → BillingAccountId
	for i, r := range x.rows {
		bad := func(format string, args ...any) {
			t.Helper()
			t.Errorf("row %d (%s %s %q): "+format, append([]any{i + 1, r["ChargeCategory"], r["InvoiceId"], r["ChargeDescription"]}, args...)...)
		}
		category, class := r["ChargeCategory"], r["ChargeClass"]
		priced := (category == "Usage" || category == "Purchase") && class != "Correction"
		// Null Handling: "Columns MUST NOT use empty strings or
		// placeholder values such as 0 for numeric columns or "Not
		// Applicable" for string columns to represent a null".
		for c, v := range r {
			if v != "" && (strings.TrimSpace(v) == "" || oneOf(strings.ToLower(v), []string{"null", "n/a", "not applicable", "none"})) {
				bad("%s is a placeholder %q", c, v)
			}
		}
		// BilledCost, EffectiveCost, ListCost, ContractedCost: "MUST NOT
		// be null", "MUST be a valid decimal value", "MUST conform to
		// NumericFormat requirements".
		for _, c := range []string{"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"} {
			if !focusNumber.MatchString(r[c]) {
				bad("%s = %q is not a FOCUS number", c, r[c])
				return
			}
		}
		// Numeric Format for the nullable numeric columns.
		for _, c := range []string{"ConsumedQuantity", "PricingQuantity", "ListUnitPrice", "ContractedUnitPrice"} {
			if r[c] != "" && !focusNumber.MatchString(r[c]) {
				bad("%s = %q is not a FOCUS number", c, r[c])
			}
		}
		// BillingCurrency: "MUST NOT be null", "MUST be expressed in
		// national currency", CurrencyFormat "three-letter alphabetic code
		// as dictated in ISO 4217".
		if !regexp.MustCompile(`^[A-Z]{3}$`).MatchString(r["BillingCurrency"]) {
			bad("BillingCurrency = %q", r["BillingCurrency"])
		}
		// BillingAccountId: "MUST NOT be null"; BillingAccountName: "MUST
		// NOT be null when the provider supports assigning a display name";
		// BillingAccountType: "MUST NOT be null when BillingAccountId is
		// not null".
		if r["BillingAccountId"] == "" || r["BillingAccountName"] == "" || !oneOf(r["BillingAccountType"], []string{"Chargeback", "Showback"}) {
			bad("billing account %q %q %q", r["BillingAccountId"], r["BillingAccountName"], r["BillingAccountType"])
		}
		// Date/Time Format: "MUST be in UTC", "extended ISO 8601 format
		// with UTC offset ('YYYY-MM-DDTHH:mm:ssZ')"; the four period
		// columns "MUST NOT be null"; start is the inclusive start bound,
		// end the exclusive end bound.
		for _, c := range []string{"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"} {
			if !focusTime.MatchString(r[c]) {
				bad("%s = %q is not 'YYYY-MM-DDTHH:mm:ssZ'", c, r[c])
			}
		}
		if r["BillingPeriodStart"] >= r["BillingPeriodEnd"] || r["ChargePeriodStart"] >= r["ChargePeriodEnd"] {
			bad("a period ends before it starts: %s–%s, %s–%s", r["BillingPeriodStart"], r["BillingPeriodEnd"], r["ChargePeriodStart"], r["ChargePeriodEnd"])
		}
		// ChargeCategory: "MUST NOT be null", "MUST be one of the allowed
		// values".
		if !oneOf(category, focusChargeCategories) {
			bad("ChargeCategory %q", category)
		}
		// ChargeClass: "MUST be "Correction" when ChargeClass is not null".
		if class != "" && class != "Correction" {
			bad("ChargeClass %q", class)
		}
		// ChargeFrequency: "MUST NOT be null", "MUST be one of the allowed
		// values", "MUST NOT be "Usage-Based" when ChargeCategory is
		// "Purchase"".
		if !oneOf(r["ChargeFrequency"], focusFrequencies) || (category == "Purchase" && r["ChargeFrequency"] == "Usage-Based") {
			bad("ChargeFrequency %q", r["ChargeFrequency"])
		}
		// ChargeDescription: "SHOULD NOT be null".
		if r["ChargeDescription"] == "" {
			bad("no ChargeDescription")
		}
		// ConsumedQuantity: "MUST be null when ChargeCategory is not
		// "Usage""; "MUST NOT be null when ChargeClass is not
		// "Correction"" (on Usage rows). ConsumedUnit: "MUST be null when
		// ConsumedQuantity is null", "MUST NOT be null when
		// ConsumedQuantity is not null".
		if category != "Usage" && r["ConsumedQuantity"] != "" {
			bad("ConsumedQuantity %q on a %s row", r["ConsumedQuantity"], category)
		}
		if category == "Usage" && class != "Correction" && r["ConsumedQuantity"] == "" {
			bad("a usage row without ConsumedQuantity")
		}
		if (r["ConsumedQuantity"] == "") != (r["ConsumedUnit"] == "") {
			bad("ConsumedQuantity %q with ConsumedUnit %q", r["ConsumedQuantity"], r["ConsumedUnit"])
		}
		// PricingQuantity, ListUnitPrice, ContractedUnitPrice,
		// PricingCategory, SkuId, SkuPriceId: "MUST NOT be null when
		// ChargeCategory is "Usage" or "Purchase" and ChargeClass is not
		// "Correction"" (and "MUST be null when ChargeCategory is "Tax"":
		// Steward has no tax rows).
		for _, c := range []string{"PricingQuantity", "ListUnitPrice", "ContractedUnitPrice", "PricingCategory", "SkuId", "SkuPriceId"} {
			if priced && r[c] == "" {
				bad("%s is null", c)
			}
			if category == "Tax" && r[c] != "" {
				bad("%s on a tax row", c)
			}
		}
		// PricingUnit: "MUST be null when PricingQuantity is null", "MUST
		// NOT be null when PricingQuantity is not null".
		if (r["PricingQuantity"] == "") != (r["PricingUnit"] == "") {
			bad("PricingQuantity %q with PricingUnit %q", r["PricingQuantity"], r["PricingUnit"])
		}
		// ListUnitPrice, ContractedUnitPrice: "MUST be a non-negative
		// decimal value".
		for _, c := range []string{"ListUnitPrice", "ContractedUnitPrice"} {
			if r[c] != "" && strings.HasPrefix(r[c], "-") {
				bad("%s = %s is negative", c, r[c])
			}
		}
		// ListCost: "The product of ListUnitPrice and PricingQuantity MUST
		// match the ListCost when ListUnitPrice is not null,
		// PricingQuantity is not null, and ChargeClass is not
		// "Correction""; ContractedCost likewise with ContractedUnitPrice.
		for _, c := range [][2]string{{"ListUnitPrice", "ListCost"}, {"ContractedUnitPrice", "ContractedCost"}} {
			if r[c[0]] != "" && r["PricingQuantity"] != "" && class != "Correction" {
				if p := new(big.Rat).Mul(dec(t, r[c[0]]), dec(t, r["PricingQuantity"])); p.Cmp(dec(t, r[c[1]])) != 0 {
					bad("%s %s × PricingQuantity %s = %s, not %s %s", c[0], r[c[0]], r["PricingQuantity"], p.FloatString(12), c[1], r[c[1]])
				}
			}
		}
		// ListCost, ContractedCost: "When ListUnitPrice is null … ListCost
		// of a charge unrelated to other charges (e.g., when the
		// ChargeCategory is "Credit") MUST match the BilledCost".
		// EffectiveCost: "When ChargeCategory is not "Usage" or
		// "Purchase" … EffectiveCost of a charge unrelated to other charges
		// … MUST match the BilledCost".
		if category != "Usage" && category != "Purchase" {
			for _, c := range []string{"EffectiveCost", "ListCost", "ContractedCost"} {
				if dec(t, r[c]).Cmp(dec(t, r["BilledCost"])) != 0 {
					bad("%s %s is not BilledCost %s", c, r[c], r["BilledCost"])
				}
			}
		}
		// Steward has no discounts or commitments: on priced rows the
		// effective cost is the list cost rounded once to the minor unit.
		if priced {
			diff := new(big.Rat).Sub(dec(t, r["EffectiveCost"]), dec(t, r["ListCost"]))
			if diff.Abs(diff).Cmp(big.NewRat(1, 100)) > 0 { // a credit of the unused part of an advance is two roundings
				bad("EffectiveCost %s is more than rounding away from ListCost %s", r["EffectiveCost"], r["ListCost"])
			}
		}
		// PricingCategory: "MUST be one of the allowed values"; "MUST be
		// "Standard" when pricing is predetermined at the agreed upon rate".
		if r["PricingCategory"] != "" && (!oneOf(r["PricingCategory"], focusPricing) || r["PricingCategory"] != "Standard") {
			bad("PricingCategory %q", r["PricingCategory"])
		}
		// InvoiceIssuerName, ProviderName, PublisherName: "MUST NOT be null".
		if r["InvoiceIssuerName"] == "" || r["ProviderName"] == "" || r["PublisherName"] == "" {
			bad("issuer, provider or publisher is null")
		}
		// InvoiceId: "MUST NOT be null when the charge is associated with
		// either an issued invoice or a pre-generated provisional invoice";
		// BilledCost: "The sum of the BilledCost for a given InvoiceId MUST
		// match the sum of the payable amount provided in the
		// corresponding invoice"; InvoiceId "MUST be associated with the
		// related charge and BillingAccountId".
		if r["InvoiceId"] == "" {
			bad("no InvoiceId")
		}
		if billed[r["InvoiceId"]] == nil {
			billed[r["InvoiceId"]] = new(big.Rat)
		}
		billed[r["InvoiceId"]].Add(billed[r["InvoiceId"]], dec(t, r["BilledCost"]))
		if a, ok := accountOf[r["InvoiceId"]]; ok && a != r["BillingAccountId"] {
			bad("InvoiceId %s is on two billing accounts", r["InvoiceId"])
		}
		accountOf[r["InvoiceId"]] = r["BillingAccountId"]
		// BilledCost: showback is shown, never billed.
		if r["BillingAccountType"] == "Showback" && dec(t, r["BilledCost"]).Sign() != 0 {
			bad("a showback row bills %s", r["BilledCost"])
		}
		// ResourceName: "MUST be null when ResourceId is null", "MUST NOT
		// duplicate ResourceId"; ResourceType: "MUST be null when
		// ResourceId is null", "MUST NOT be null when ResourceId is not null".
		if (r["ResourceId"] == "") != (r["ResourceType"] == "") || (r["ResourceId"] == "" && r["ResourceName"] != "") ||
			(r["ResourceId"] != "" && r["ResourceName"] == r["ResourceId"]) {
			bad("resource %q %q %q", r["ResourceId"], r["ResourceName"], r["ResourceType"])
		}
		// ServiceName: "MUST NOT be null", "MUST have one and only one
		// ServiceCategory"; ServiceCategory: "MUST NOT be null", "MUST be
		// one of the allowed values"; ServiceSubcategory: "MUST be one of
		// the allowed values", "MUST have one and only one parent
		// ServiceCategory" (every category has "Other (<category>)").
		if r["ServiceName"] == "" || !oneOf(r["ServiceCategory"], focusServiceCats) || r["ServiceSubcategory"] != "Other ("+r["ServiceCategory"]+")" {
			bad("service %q %q %q", r["ServiceName"], r["ServiceCategory"], r["ServiceSubcategory"])
		}
		if c, ok := categoryOf[r["ServiceName"]]; ok && c != r["ServiceCategory"] {
			bad("service %s is in two categories: %s and %s", r["ServiceName"], c, r["ServiceCategory"])
		}
		categoryOf[r["ServiceName"]] = r["ServiceCategory"]
		// RegionName: "MUST be null when RegionId is null", "MUST NOT be
		// null when RegionId is not null".
		if (r["RegionId"] == "") != (r["RegionName"] == "") {
			bad("region %q %q", r["RegionId"], r["RegionName"])
		}
		// SkuMeter: "MUST be null when SkuId is null", "SHOULD NOT be null
		// when SkuId is not null".
		if (r["SkuId"] == "") != (r["SkuMeter"] == "") {
			bad("SkuId %q with SkuMeter %q", r["SkuId"], r["SkuMeter"])
		}
		// SkuPriceId: "MUST have one and only one parent SkuId".
		if r["SkuPriceId"] != "" {
			if r["SkuId"] == "" {
				bad("SkuPriceId %s without a SkuId", r["SkuPriceId"])
			}
			if s, ok := skuOf[r["SkuPriceId"]]; ok && s != r["SkuId"] {
				bad("SkuPriceId %s has two SkuIds", r["SkuPriceId"])
			}
			skuOf[r["SkuPriceId"]] = r["SkuId"]
		}
		// SkuPriceDetails: "MUST be null when SkuPriceId is null"; "MUST
		// conform to KeyValueFormat" (a JSON object whose values are not
		// objects or arrays); "Property key MUST begin with the string
		// "x_" unless it is a FOCUS-defined property"; "MUST be associated
		// with a given SkuPriceId".
		if r["SkuPriceId"] == "" && r["SkuPriceDetails"] != "" {
			bad("SkuPriceDetails without a SkuPriceId")
		}
		if d := r["SkuPriceDetails"]; d != "" {
			var m map[string]any
			if err := json.Unmarshal([]byte(d), &m); err != nil {
				bad("SkuPriceDetails %s is not a JSON object: %v", d, err)
			}
			for k, v := range m {
				switch v.(type) {
				case map[string]any, []any:
					bad("SkuPriceDetails %s holds an object or array", k)
				}
				if !strings.HasPrefix(k, "x_") {
					bad("SkuPriceDetails key %s is not x_", k)
				}
			}
			if prev, ok := detailsOf[r["SkuPriceId"]]; ok && prev != d {
				bad("SkuPriceId %s has two details: %s and %s", r["SkuPriceId"], prev, d)
			}
			detailsOf[r["SkuPriceId"]] = d
		}
		// SubAccountName, SubAccountType: "MUST be null when SubAccountId
		// is null", "MUST NOT be null when SubAccountId is not null".
		if (r["SubAccountId"] == "") != (r["SubAccountName"] == "") || (r["SubAccountId"] == "") != (r["SubAccountType"] == "") {
			bad("sub account %q %q %q", r["SubAccountId"], r["SubAccountName"], r["SubAccountType"])
		}
		// Unit Format (which ConsumedUnit and PricingUnit SHOULD follow):
		// time units are capitalised as FOCUS lists them.
		for _, c := range []string{"ConsumedUnit", "PricingUnit"} {
			if regexp.MustCompile(`(^|[-/ ])(year|month|day|hour|minute|second)s?\b`).MatchString(r[c]) {
				bad("%s %q writes a time unit in lower case", c, r[c])
			}
		}
	}
	for id, want := range docs {
		got := billed[id]
		if got == nil {
			got = new(big.Rat) // a document without lines has no rows
		}
		if got.Cmp(dec(t, want)) != 0 {
			t.Errorf("invoice %s: BilledCost adds up to %v, the invoice to %s", id, got, want)
		}
	}
}

// TestFOCUSExportRules checks every applicable FOCUS 1.2 MUST rule on an
// export with every kind of line: a fee prorated over a fraction of the
// month that is no finite decimal (3 × 49.99), a one-time fee, per-unit,
// graduated (with a tier's flat price), volume and package usage, a
// minimum top-up, people's credits and adjustments, a service level
// rebate, late usage, a credit note and a showback statement (issue 16,
// "FOCUS 1.2 export").
func TestFOCUSExportRules(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	for _, in := range []billing.AccountInput{
		{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"},
		{OrgUnit: "other", Mode: billing.Showback, Currency: "EUR"},
	} {
		if _, err := f.bill.SaveAccount(f.ctx, sys, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []metering.MeterInput{
		{Code: "gb", Name: "Storage", EventType: "t.gb", Aggregation: metering.Sum, ValuePath: "v", Unit: "GB-month"},
		{Code: "req", Name: "Requests", EventType: "t.req", Aggregation: metering.Sum, ValuePath: "v", Unit: "request"},
	} {
		if _, err := f.meter.SaveMeter(f.ctx, sys, m); err != nil {
			t.Fatal(err)
		}
	}
	f.plan("rich", "EUR", []rating.Component{
		{Code: "base", Name: "Monthly fee", Kind: rating.Flat, Price: "49.99"},
		{Code: "setup", Name: "Setup", Kind: rating.OneTime, Price: "15.00"},
		{Code: "storage", Name: "Backup", Kind: rating.PerUnit, Meter: "storage", Price: "0.0004"},
		{Code: "calls", Name: "API calls", Kind: rating.Graduated, Meter: "calls", Tiers: []rating.Tier{{UpTo: "1000", UnitPrice: "0"},
			{UpTo: "10000", UnitPrice: "0.0015", FlatPrice: "2.50"}, {UnitPrice: "0.001"}}},
		{Code: "gb", Name: "Storage", Kind: rating.Volume, Meter: "gb", Tiers: []rating.Tier{{UpTo: "100", UnitPrice: "0.03"}, {UnitPrice: "0.021"}}},
		{Code: "req", Name: "Requests", Kind: rating.Package, Meter: "req", Price: "0.40", PackageSize: "10000"},
	})
	f.plan("floor", "EUR", []rating.Component{{Code: "commit", Name: "Minimum", Kind: rating.Minimum, Price: "100.00"},
		{Code: "storage", Name: "Backup", Kind: rating.PerUnit, Meter: "storage", Price: "0.10"}})
	f.plan("desk", "EUR", []rating.Component{{Code: "desk", Name: "Desktop", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance}})
	f.exec(`UPDATE services SET focus_category = 'Compute' WHERE id = $1`, f.units["svc"])
	f.exec(`INSERT INTO providers (id, code, name, kind, url, username, secret, region, capacity, agreement, markup, health, health_error, sync_error, created_at, updated_at)
		VALUES ($1, 'dc1', 'DC 1', 'osb', 'http://dc1.example', '', '', 'eu-west-1', 0, '', '', 'healthy', '', '', $2, $2)`, f.id("provider"), at("2026-01-01T00:00:00Z"))

	// 3 units held from 10 Nov 07:00: 497/720 of November, no finite decimal.
	p := f.instance("p", "dept", [4]string{"rich", "3", "2026-11-10T07:00:00Z", ""})
	f.exec(`UPDATE instances SET provider_id = $1 WHERE id = $2`, f.units["provider"], p)
	m := f.instance("m", "corp", [4]string{"floor", "1", "2026-11-01T00:00:00Z", ""})
	f.instance("s", "other", [4]string{"small", "1", "2026-11-16T00:00:00Z", ""})
	// A yearly fee billed in advance, for a desktop given back early: the
	// rest of the year charged, the unused part credited.
	f.instance("q", "corp", [4]string{"desk", "2", "2026-11-02T00:00:00Z", "2026-11-20T00:00:00Z"})
	f.events("storage", p, "2026-11-12T10:00:00Z", "1234.5678")
	f.events("calls", p, "2026-11-12T10:00:00Z", "12345")
	f.events("gb", p, "2026-11-12T10:00:00Z", "250")
	f.events("req", p, "2026-11-12T10:00:00Z", "25001")
	f.events("storage", m, "2026-11-12T10:00:00Z", "3")
	// A service level rebate waits for the department's invoice.
	if err := f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
		return billing.SetCredit(f.ctx, tx, at("2026-11-20T00:00:00Z"), billing.CreditInput{OrgUnitID: f.units["dept"], Currency: "EUR", TotalMinor: 1250,
			Description: "SLA rebate: Compute, availability breached", Source: "sla_breach", SourceID: "b1/" + f.units["dept"], ServiceID: f.units["svc"]})
	}); err != nil {
		t.Fatal(err)
	}
	f.run("2026-11")
	nov := f.doc("corp", "2026-11-01T00:00:00Z")
	for _, in := range []billing.LineInput{{Kind: billing.LineCredit, Description: "Goodwill", Amount: "5.00"},
		{Kind: billing.LineAdjustment, Description: "Cabling", Amount: "12.00"}} {
		if _, err := f.bill.AddLine(f.ctx, sys, nov.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	f.run("2026-11")
	nov = f.doc("corp", "2026-11-01T00:00:00Z")
	fin, err := f.bill.Finalise(f.ctx, sys, nov.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.bill.Finalise(f.ctx, sys, f.doc("other", "2026-11-01T00:00:00Z").ID)
	if err != nil {
		t.Fatal(err)
	}
	cn, err := f.bill.IssueCreditNote(f.ctx, sys, nov.ID, billing.CreditNoteInput{Reason: "Outage", Amount: "20.00"})
	if err != nil {
		t.Fatal(err)
	}
	// Late usage for November goes on December's draft.
	f.events("calls", p, "2026-11-28T10:00:00Z", "100")
	f.now = at("2027-01-03T09:00:00Z")
	f.run("2026-12")
	december := f.doc("corp", "2026-12-01T00:00:00Z")

	x := exportFOCUS(t, f.ctx, f.bill, at("2026-11-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
	checkFOCUSRules(t, x, map[string]string{fin.Number: fin.Total, cn.Number: cn.Total, december.ID: december.Total, st.Number: "0.00"})

	find := func(invoice, desc string) []map[string]string {
		var out []map[string]string
		for _, r := range x.rows {
			if r["InvoiceId"] == invoice && strings.Contains(r["ChargeDescription"], desc) {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			t.Fatalf("no row of %s for %q", invoice, desc)
		}
		return out
	}
	// The prorated fee (issue 16: "49.99 × 3 ≠ 102.21"): PricingQuantity
	// is the units held in the price's unit, 3 × 497/720 unit-months (to
	// nine places), at the published unit price; ListCost is their exact
	// product, BilledCost the line's amount, rounded once.
	fee := find(fin.Number, "Monthly fee")[0]
	if fee["PricingQuantity"] != "2.070833333" || fee["PricingUnit"] != "Unit-Months" || fee["ListUnitPrice"] != "49.99" ||
		fee["ListCost"] != "103.52095831667" || fee["BilledCost"] != "103.52" || fee["ChargeFrequency"] != "Recurring" {
		t.Errorf("the prorated fee: %v", fee)
	}
	// The region of the provider p runs on; m runs on none.
	if fee["RegionId"] != "eu-west-1" || fee["RegionName"] != "eu-west-1" || find(fin.Number, "Minimum")[0]["RegionId"] != "" {
		t.Errorf("regions: %q %q", fee["RegionId"], fee["RegionName"])
	}
	// SubAccount is the cost centre charged (dept), not the account's org unit (corp).
	if fee["SubAccountId"] != f.units["dept"] || fee["SubAccountName"] != "Dept" || fee["SubAccountType"] != "Department" || fee["BillingAccountName"] != "Corp" {
		t.Errorf("the sub account of p's fee: %s %s %s", fee["SubAccountId"], fee["SubAccountName"], fee["SubAccountType"])
	}
	// The yearly fee: the rest of 2026 in advance (60 of 365 days), then
	// the 42 days unused given back as a negative quantity at the same
	// non-negative unit price.
	desk := find(fin.Number, "Desktop")
	if len(desk) != 2 || desk[0]["PricingUnit"] != "Unit-Years" || desk[0]["PricingQuantity"] != "0.328767123" || desk[0]["BilledCost"] != "230.14" ||
		desk[1]["PricingQuantity"] != "-0.230136986" || desk[1]["ListUnitPrice"] != "700.00" || desk[1]["BilledCost"] != "-161.10" {
		t.Errorf("the yearly fee in advance: %v", desk)
	}
	if r := find(fin.Number, "Minimum")[0]; r["SubAccountId"] != f.units["corp"] || r["ChargeCategory"] != "Adjustment" || r["SkuId"] == "" {
		t.Errorf("the minimum top-up: %v", r)
	}
	// ServiceCategory is the service's own.
	if fee["ServiceName"] != "Compute" || fee["ServiceCategory"] != "Compute" || fee["ServiceSubcategory"] != "Other (Compute)" {
		t.Errorf("the fee's service: %s %s", fee["ServiceName"], fee["ServiceCategory"])
	}
	// Graduated usage is one row per tier at the tier's price, and the
	// tier's flat price a row of its own; the rows consume the line's
	// quantity and bill its amount (2.50 + 9000 × 0.0015 + 2345 × 0.001).
	calls := find(fin.Number, "API calls")
	var consumed, billedCalls big.Rat
	var got []string
	for _, r := range calls {
		consumed.Add(&consumed, dec(t, r["ConsumedQuantity"]))
		billedCalls.Add(&billedCalls, dec(t, r["BilledCost"]))
		got = append(got, r["PricingQuantity"]+" "+r["PricingUnit"]+" × "+r["ListUnitPrice"])
	}
	if consumed.Cmp(big.NewRat(12345, 1)) != 0 || billedCalls.Cmp(big.NewRat(1835, 100)) != 0 ||
		strings.Join(got, "; ") != "1000 Calls × 0; 9000 Calls × 0.0015; 1 Tiers × 2.50; 2345 Calls × 0.001" {
		t.Errorf("graduated rows: %s (consumed %s, billed %s)", strings.Join(got, "; "), consumed.FloatString(6), billedCalls.FloatString(2))
	}
	// Volume: all 250 GB at the second tier's price; package: 3 started
	// packages of 10000 requests.
	if r := find(fin.Number, "Storage")[0]; r["PricingQuantity"] != "250" || r["ListUnitPrice"] != "0.021" || r["PricingUnit"] != "GB-Months" || r["ListCost"] != "5.25" {
		t.Errorf("volume row: %v", r)
	}
	if r := find(fin.Number, "Requests")[0]; r["PricingQuantity"] != "3" || r["PricingUnit"] != "10000 Requests" || r["ListUnitPrice"] != "0.40" ||
		r["ConsumedQuantity"] != "25001" || r["ConsumedUnit"] != "Requests" || r["BilledCost"] != "1.20" {
		t.Errorf("package row: %v", r)
	}
	// Credits: non-negative (null) unit prices, the sign on the cost; the
	// rebate charges the org unit that earned it.
	rebate := find(fin.Number, "SLA rebate")[0]
	if rebate["ChargeCategory"] != "Credit" || rebate["BilledCost"] != "-12.50" || rebate["ListUnitPrice"] != "" || rebate["SubAccountId"] != f.units["dept"] {
		t.Errorf("rebate row: %v", rebate)
	}
	if r := find(cn.Number, "Outage")[0]; r["ChargeClass"] != "Correction" || r["BilledCost"] != "-20.00" || r["ListUnitPrice"] != "" {
		t.Errorf("credit note row: %v", r)
	}
	// Late usage corrects November on December's draft (its provisional invoice).
	if r := find(december.ID, "Late usage")[0]; r["ChargeClass"] != "Correction" || r["ChargePeriodStart"] != "2026-11-01T00:00:00Z" || r["ConsumedQuantity"] == "" {
		t.Errorf("late usage row: %v", r)
	}
	// A credit row carries the ServiceName it relates to: the rebate's
	// credit names its agreement's service (issue 16, FOCUS: "credit rows
	// carry the ServiceName they relate to"); a credit added by hand
	// relates to the account as a whole.
	if rebate["ServiceName"] != "Compute" || rebate["ServiceCategory"] != "Compute" {
		t.Errorf("a rebate of the Compute service: %s %s", rebate["ServiceName"], rebate["ServiceCategory"])
	}
	if r := find(fin.Number, "Goodwill")[0]; r["ServiceName"] != billing.AccountWide {
		t.Errorf("a goodwill credit: %s", r["ServiceName"])
	}
	// Showback: shown (EffectiveCost), not billed.
	if r := find(st.Number, "Monthly fee")[0]; r["BilledCost"] != "0.00" || r["EffectiveCost"] != "15.00" || r["BillingAccountType"] != "Showback" {
		t.Errorf("statement row: %v", r)
	}
}

// TestFOCUSExportOfTheDemo checks the rules on the demo's export: its
// services, orders, usage and the desktop SLA's rebates, billed as a
// draft to date (issue 16, "FOCUS 1.2 export").
func TestFOCUSExportOfTheDemo(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), Now: func() time.Time { return now },
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	// Bill again after the SLA's rebates were recorded.
	run, err := a.Billing.StartRun(ctx, access.System(), "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Billing.Execute(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	docsPage, err := a.Billing.Documents(ctx, access.System(), billing.DocumentFilter{})
	docs := docsPage.Items
	if err != nil {
		t.Fatal(err)
	}
	totals := map[string]string{}
	for _, d := range docs {
		if d.Kind == billing.Invoice {
			totals[d.ID] = d.Total
		}
	}
	x := exportFOCUS(t, ctx, a.Billing, now.AddDate(0, -1, 0), now.AddDate(0, 1, 0))
	checkFOCUSRules(t, x, totals)
	// ServiceCategory is each service's, from the demo's portfolio.
	cats := map[string]string{}
	for _, r := range x.rows {
		cats[r["ServiceName"]] = r["ServiceCategory"]
	}
	if cats["Object storage"] != "Storage" || cats["Private cloud virtual machines"] != "Compute" {
		t.Errorf("the demo's service categories: %v", cats)
	}
}

// TestFOCUSSubAccountIsTheCostCentreCharged: FOCUS 1.2, SubAccountId:
// "the ID assigned to a grouping of resources or services, often used to
// manage access and/or cost"; Steward's sub-account is the cost centre a
// line charged, which a finalised invoice keeps: a desktop whose yearly fee
// was billed in advance to Dept, then moved to Corp, still shows Dept on
// November's invoice when it is exported again (issue 16, FOCUS
// "SubAccount is the cost centre actually charged").
func TestFOCUSSubAccountIsTheCostCentreCharged(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.plan("desk", "EUR", []rating.Component{{Code: "desk", Name: "Desktop", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: rating.Advance}})
	id := f.instance("d", "dept", [4]string{"desk", "1", "2026-11-02T00:00:00Z", ""})
	f.now = at("2026-11-20T09:00:00Z")
	f.run("2026-11")
	f.now = at("2026-12-03T09:00:00Z")
	f.run("2026-11")
	nov, err := f.bill.Finalise(f.ctx, sys, f.doc("corp", "2026-11-01T00:00:00Z").ID)
	if err != nil {
		t.Fatal(err)
	}
	subAccounts := func() []string {
		var out []string
		for _, r := range exportFOCUS(t, f.ctx, f.bill, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")).rows {
			if r["InvoiceId"] == nov.Number {
				out = append(out, r["SubAccountName"])
			}
		}
		return out
	}
	before := subAccounts()
	if len(before) == 0 || before[0] != "Dept" {
		t.Fatalf("November's rows charge %v, not Dept", before)
	}
	// On 10 December the desktop moves to Corp's cost centre.
	f.exec(`UPDATE instance_segments SET ended_at = $1 WHERE instance_id = $2`, at("2026-12-10T00:00:00Z"), id)
	f.exec(`INSERT INTO instance_segments (instance_id, seq, plan_id, price_version_id, quantity, cost_centre_id, addons, started_at, ended_at)
		VALUES ($1, 2, $2, $3, 1, $4, '[]', $5, NULL)`, id, f.plans["desk"], f.vers["desk"], f.units["corp"], at("2026-12-10T00:00:00Z"))
	f.now = at("2026-12-11T09:00:00Z")
	f.run("2026-12")
	if after := subAccounts(); !slices.Equal(before, after) {
		t.Errorf("November's finalised invoice exported again charges %v, not %v", after, before)
	}
}
