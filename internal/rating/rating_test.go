package rating

import (
	"math/big"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
)

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// The figures are worked by hand; each is the exact amount, then the
// amount rounded half away from zero to cents.
func TestRateUsage(t *testing.T) {
	graduated := Component{Kind: Graduated, Tiers: []Tier{
		{UpTo: "1000", UnitPrice: "0"},
		{UpTo: "10000", UnitPrice: "0.001"},
		{UnitPrice: "0.0005", FlatPrice: "2"},
	}}
	volume := Component{Kind: Volume, Tiers: []Tier{
		{UpTo: "100", UnitPrice: "0.10"},
		{UpTo: "1000", UnitPrice: "0.08", FlatPrice: "1"},
		{UnitPrice: "0.05"},
	}}
	cases := []struct {
		name  string
		c     Component
		qty   string
		exact string
		cents int64
		tiers int
		pkgs  int64
	}{
		{"per unit", Component{Kind: PerUnit, Price: "0.02"}, "1234.5", "24.69", 2469, 0, 0},
		{"per unit rounds half away from zero", Component{Kind: PerUnit, Price: "0.0005"}, "9", "0.0045", 0, 0, 0},
		{"per unit rounds up at half", Component{Kind: PerUnit, Price: "0.0005"}, "10", "0.005", 1, 0, 0},
		{"zero usage", Component{Kind: PerUnit, Price: "3"}, "0", "0", 0, 0, 0},
		{"graduated inside the free tier", graduated, "800", "0", 0, 1, 0},
		{"graduated across two tiers", graduated, "5000", "4", 400, 2, 0},
		{"graduated at a boundary", graduated, "10000", "9", 900, 2, 0},
		// 0 + 9000×0.001 + 2 (tier flat) + 5000×0.0005
		{"graduated into the unbounded tier", graduated, "15000", "13.5", 1350, 3, 0},
		{"volume first tier", volume, "100", "10", 1000, 1, 0},
		// the whole 101 at the second tier: 101×0.08 + 1
		{"volume just past a bound", volume, "101", "9.08", 908, 1, 0},
		{"volume top tier", volume, "2000", "100", 10000, 1, 0},
		{"package part-used", Component{Kind: Package, Price: "5", PackageSize: "100"}, "250", "15", 1500, 0, 3},
		{"package exact", Component{Kind: Package, Price: "5", PackageSize: "100"}, "200", "10", 1000, 0, 2},
		{"package fraction of a unit", Component{Kind: Package, Price: "1.25", PackageSize: "0.5"}, "0.75", "2.5", 250, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := RateUsage(c.c, rat(c.qty))
			if got.Exact.Cmp(rat(c.exact)) != 0 {
				t.Errorf("exact = %s, want %s", got.Exact.FloatString(6), c.exact)
			}
			a, err := Round(got.Exact, "EUR")
			if err != nil || a.Minor != c.cents {
				t.Errorf("rounded = %d (%v), want %d", a.Minor, err, c.cents)
			}
			if len(got.Tiers) != c.tiers || got.Packages != c.pkgs {
				t.Errorf("tiers %d packages %d, want %d and %d", len(got.Tiers), got.Packages, c.tiers, c.pkgs)
			}
		})
	}
}

func TestProrate(t *testing.T) {
	day := int64(86400)
	cases := []struct {
		name         string
		amount       string
		units        int64
		held, period int64
		cents        int64
	}{
		{"whole month", "40.00", 1, 30 * day, 30 * day, 4000},
		{"three units", "40.00", 3, 30 * day, 30 * day, 12000},
		// 40 × 10/30 = 13.333… → 13.33
		{"a third", "40.00", 1, 10 * day, 30 * day, 1333},
		// 40 × 15/31 = 19.3548… → 19.35
		{"half of a 31-day month", "40.00", 1, 15 * day, 31 * day, 1935},
		// 0.05 × 1/2 = 0.025 → 0.03 (half away from zero)
		{"half a cent rounds up", "0.05", 1, 1, 2, 3},
		{"longer than the period is capped", "40.00", 1, 40 * day, 30 * day, 4000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Round(Prorate(c.amount, c.units, c.held, c.period), "EUR")
			if err != nil || a.Minor != c.cents {
				t.Errorf("got %d (%v), want %d", a.Minor, err, c.cents)
			}
		})
	}
	// JPY has no minor unit: 1000 yen × 1/3 = 333.33… → 333.
	if a, _ := Round(Prorate("1000", 1, 1, 3), "JPY"); a.Minor != 333 {
		t.Errorf("JPY proration = %d", a.Minor)
	}
}

func TestQuoteUnits(t *testing.T) {
	v := &Version{Currency: "EUR", Components: []Component{
		{Code: "base", Kind: Flat, Price: "40.00"},
		{Code: "setup", Kind: OneTime, Price: "5.00"},
		{Code: "support", Kind: Flat, Price: "2.50"},
		{Code: "commit", Kind: Minimum, Price: "10.00"},
		{Code: "storage", Kind: PerUnit, Meter: "storage-gb", Price: "0.02"},
	}}
	q, err := v.QuoteUnits(3)
	if err != nil {
		t.Fatal(err)
	}
	if q.Monthly.Minor != 12750 || q.OneTime.Minor != 1500 || q.Minimum.Minor != 1000 || len(q.Usage) != 1 {
		t.Errorf("quote = %+v", q)
	}
	// The list price is the base and setup fees; support's 2.50 is among
	// the plan's prices (a catalog save would otherwise bill it twice).
	rec, one := v.ListPrice()
	if rec.Minor != 4000 || one.Minor != 500 {
		t.Errorf("list price = %v, %v", rec, one)
	}
}

func TestValidate(t *testing.T) {
	meters := map[string]bool{"storage-gb": true}
	cases := []struct {
		name  string
		c     Component
		field string
	}{
		{"unknown kind", Component{Code: "x", Kind: "surge"}, "kind"},
		{"usage without meter", Component{Code: "x", Kind: PerUnit, Price: "1"}, "meter"},
		{"unknown meter", Component{Code: "x", Kind: PerUnit, Meter: "cpu", Price: "1"}, "meter"},
		{"flat with a meter", Component{Code: "x", Kind: Flat, Meter: "storage-gb", Price: "1"}, "meter"},
		{"flat with too many decimals", Component{Code: "x", Kind: Flat, Price: "1.005"}, "price"},
		{"negative unit price", Component{Code: "x", Kind: PerUnit, Meter: "storage-gb", Price: "-1"}, "price"},
		{"package without size", Component{Code: "x", Kind: Package, Meter: "storage-gb", Price: "1"}, "package_size"},
		{"tiers not rising", Component{Code: "x", Kind: Graduated, Meter: "storage-gb", Tiers: []Tier{{UpTo: "10", UnitPrice: "1"}, {UpTo: "5", UnitPrice: "1"}, {UnitPrice: "1"}}}, "up_to"},
		{"unbounded tier not last", Component{Code: "x", Kind: Volume, Meter: "storage-gb", Tiers: []Tier{{UnitPrice: "1"}, {UpTo: "5", UnitPrice: "1"}}}, "up_to"},
		{"tiers on per unit", Component{Code: "x", Kind: PerUnit, Meter: "storage-gb", Price: "1", Tiers: []Tier{{UnitPrice: "1"}}}, "tiers"},
		{"no code", Component{Kind: Flat, Price: "1"}, "code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v errs.Validator
			Validate(&v, "components", "EUR", []Component{c.c}, meters)
			err := v.Err("bad")
			if err == nil {
				t.Fatal("accepted")
			}
			found := false
			for _, f := range errs.As(err).Fields {
				found = found || strings.HasSuffix(f.Field, "."+c.field) || strings.Contains(f.Field, "."+c.field)
			}
			if !found {
				t.Errorf("no error on %s: %+v", c.field, errs.As(err).Fields)
			}
		})
	}
	var v errs.Validator
	Validate(&v, "components", "EUR", []Component{{Code: "ok", Kind: Graduated, Meter: "storage-gb", Tiers: []Tier{{UpTo: "10", UnitPrice: "0"}, {UnitPrice: "0.000000001"}}}}, meters)
	if err := v.Err("bad"); err != nil {
		t.Errorf("a valid component was refused: %v", err)
	}
}

// TestIntervalQuote: issue 16, billing 3: a flat fee bills per month,
// quarter or year (docs/billing.md, "Billing intervals"). A quote keeps
// the intervals apart; the list price (the catalog's recurring price) is
// the base fee per its own interval, never a fee of another component
// (the catalog shows those among the plan's prices).
func TestIntervalQuote(t *testing.T) {
	v := &Version{Currency: "USD", Components: []Component{
		{Code: "base", Kind: Flat, Price: "700.00", Interval: Year, Timing: Advance},
		{Code: "desk", Kind: Flat, Price: "5.00"},
		{Code: "care", Kind: Flat, Price: "30.00", Interval: Quarter},
	}}
	q, err := v.QuoteUnits(2)
	if err != nil {
		t.Fatal(err)
	}
	// 2 × 5.00 monthly, 2 × 30.00 quarterly, 2 × 700.00 yearly.
	if q.Monthly.Minor != 1000 || q.Quarterly.Minor != 6000 || q.Yearly.Minor != 140000 {
		t.Errorf("quote = %+v", q)
	}
	// The base, 700.00 per year; desk's 5.00 a month and care's 30.00 a
	// quarter are among the plan's prices, not in it.
	if rec, _ := v.ListPrice(); rec.Minor != 70000 {
		t.Errorf("list price = %v", rec)
	}
	if iv, tm := v.RecurringInterval(); iv != Year || tm != Advance {
		t.Errorf("the base bills per %s in %s", iv, tm)
	}
	if iv, tm := (&Version{}).RecurringInterval(); iv != Month || tm != Arrears {
		t.Errorf("by default the base bills per %s in %s", iv, tm)
	}
}
