// Package rating is Steward's price plans and the engine that turns
// quantities into money, used alike by the catalog's binding quote and by
// billing.
//
// A catalog plan has price versions: numbered, effective-dated, immutable
// once written. A version is a list of components:
//
//   - flat: a recurring fee per unit ordered for each billing interval
//     (month, quarter or year; Interval), billed in arrears or in advance
//     (Timing), prorated by the time of the interval the instance held the
//     plan;
//   - one_time: charged once per unit ordered, when the instance starts;
//   - per_unit: every unit of a meter at one price;
//   - graduated: tiers, each part of the quantity at its own tier's price;
//   - volume: the whole quantity at the price of the tier it reaches;
//   - package: per started package of N units;
//   - minimum: a monthly minimum commitment on the version's usage
//     charges, topped up when usage falls short (prorated like flat fees).
//
// Tiers may carry a flat price charged once when the quantity reaches
// them. Prices are exact decimals (up to 9 places below the currency's
// minor unit, so 0.0004 per request is fine); every charge is computed as
// an exact fraction and rounded once, half away from zero, to the
// currency's minor unit (money.RoundMinor). Totals are sums of rounded
// lines.
package rating

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
)

// Kind is how a component charges.
type Kind string

// The component kinds.
const (
	Flat      Kind = "flat"
	OneTime   Kind = "one_time"
	PerUnit   Kind = "per_unit"
	Graduated Kind = "graduated"
	Volume    Kind = "volume"
	Package   Kind = "package"
	Minimum   Kind = "minimum"
)

// Kinds lists the component kinds.
var Kinds = []Kind{Flat, OneTime, PerUnit, Graduated, Volume, Package, Minimum}

// Usage reports whether the kind charges a meter's usage.
func (k Kind) Usage() bool { return k == PerUnit || k == Graduated || k == Volume || k == Package }

// The codes of the components the catalog's plan prices (recurring and
// one-time) become.
const (
	BaseCode  = "base"
	SetupCode = "setup"
)

// Interval is how often a flat component bills.
type Interval string

// The billing intervals. Intervals follow the billing account's periods:
// a quarter is the three periods from the anchor day of January, April,
// July or October, a year the twelve from the anchor day of January.
const (
	Month   Interval = "month"
	Quarter Interval = "quarter"
	Year    Interval = "year"
)

// Months is the interval's length in months; an empty interval is a month.
func (i Interval) Months() int {
	switch i {
	case Quarter:
		return 3
	case Year:
		return 12
	}
	return 1
}

// Unit is what a flat fee of the interval charges for: "unit-month".
func (i Interval) Unit() string {
	if i == "" {
		i = Month
	}
	return "unit-" + string(i)
}

// Timing is when an interval's fee is billed.
type Timing string

// The timings. In arrears, the fee is on the document of the period in
// which the interval (or the instance's segment, if sooner) ends, for the
// time held; in advance, on the document of the period in which the
// interval (or the segment, if later) starts, for the rest of the
// interval, with a credit for the unused part on the document of the
// period in which the segment ends early.
const (
	Arrears Timing = "arrears"
	Advance Timing = "advance"
)

// Tier is one step of graduated or volume pricing. UpTo is the tier's
// upper bound (inclusive) in the meter's units; empty means no bound and
// is only allowed on the last tier.
type Tier struct {
	UpTo      string `json:"up_to,omitempty" yaml:"up_to,omitempty"`
	UnitPrice string `json:"unit_price" yaml:"unit_price"`
	FlatPrice string `json:"flat_price,omitempty" yaml:"flat_price,omitempty"`
}

// Component is one charge of a price version.
type Component struct {
	Code string `json:"code" yaml:"code"`
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind" yaml:"kind"`
	// Meter is the code of the meter a usage component charges.
	Meter string `json:"meter,omitempty" yaml:"meter,omitempty"`
	// Price is the amount of flat, one_time and minimum components, the
	// unit price of per_unit and the package price of package.
	Price       string `json:"price,omitempty" yaml:"price,omitempty"`
	PackageSize string `json:"package_size,omitempty" yaml:"package_size,omitempty"`
	Tiers       []Tier `json:"tiers,omitempty" yaml:"tiers,omitempty"`
	// Interval is how often a flat component bills: month (the default),
	// quarter or year; Price is per unit per interval.
	Interval Interval `json:"interval,omitempty" yaml:"interval,omitempty"`
	// Timing is when a flat component bills: arrears (the default) or
	// advance.
	Timing Timing `json:"timing,omitempty" yaml:"timing,omitempty"`
}

// maxPriceDecimals is how many decimals a unit price may have beyond
// nothing: 0.000000001 per unit is the finest price.
const maxPriceDecimals = 9

// decimal parses a non-negative decimal string exactly.
func decimal(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "eE/+-") {
		return nil, false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > maxPriceDecimals {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// mustDecimal reads a decimal already validated; empty is zero.
func mustDecimal(s string) *big.Rat {
	if strings.TrimSpace(s) == "" {
		return new(big.Rat)
	}
	r, ok := decimal(s)
	if !ok {
		panic("rating: unvalidated decimal " + s)
	}
	return r
}

// Validate checks components for a currency; field names are prefixed
// with prefix. meters, when not nil, are the meter codes that exist.
func Validate(v *errs.Validator, prefix string, currency string, cs []Component, meters map[string]bool) {
	codes := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		c.Code, c.Name, c.Meter = strings.TrimSpace(c.Code), strings.TrimSpace(c.Name), strings.TrimSpace(c.Meter)
		f := fmt.Sprintf("%s[%d]", prefix, i)
		v.Check(c.Code != "" && len(c.Code) <= 63 && !strings.ContainsAny(c.Code, " \t"), f+".code", "format", "every component needs a code (letters, digits and dashes)")
		v.Check(!codes[c.Code], f+".code", "unique", "component code "+c.Code+" is listed twice")
		codes[c.Code] = true
		if c.Name == "" {
			c.Name = c.Code
		}
		if !v.Check(slices.Contains(Kinds, c.Kind), f+".kind", "enum", "kind must be flat, one_time, per_unit, graduated, volume, package or minimum") {
			continue
		}
		if c.Kind.Usage() {
			if v.Check(c.Meter != "", f+".meter", "required", "a "+string(c.Kind)+" component charges a meter: name its code") && meters != nil {
				v.Check(meters[c.Meter], f+".meter", "exists", "there is no meter "+c.Meter+"; define it first (PUT /api/v1/meters/"+c.Meter+")")
			}
		} else {
			v.Check(c.Meter == "", f+".meter", "unexpected", "only usage components (per_unit, graduated, volume, package) name a meter")
		}
		priced := func(s, field string) {
			_, ok := decimal(s)
			v.Check(ok, f+"."+field, "decimal", "prices are non-negative decimals such as 0.02, with at most 9 decimals")
		}
		switch c.Kind {
		case Flat, OneTime, Minimum:
			if _, err := money.Parse(c.Price, currency); err != nil || strings.HasPrefix(strings.TrimSpace(c.Price), "-") {
				v.Add(f+".price", "money", fmt.Sprintf("price is an amount such as 25.00 in %s, not negative, with at most %d decimals", currency, money.Exponent(currency)))
			}
		case PerUnit:
			priced(c.Price, "price")
		case Package:
			priced(c.Price, "price")
			size, ok := decimal(c.PackageSize)
			v.Check(ok && size.Sign() > 0, f+".package_size", "decimal", "package_size is the number of units in a package, more than 0")
		case Graduated, Volume:
			if !v.Check(len(c.Tiers) > 0, f+".tiers", "required", "a "+string(c.Kind)+" component needs tiers") {
				continue
			}
			var prev *big.Rat
			for j, t := range c.Tiers {
				tf := fmt.Sprintf("%s.tiers[%d]", f, j)
				priced(t.UnitPrice, "tiers["+fmt.Sprint(j)+"].unit_price")
				if strings.TrimSpace(t.FlatPrice) != "" {
					priced(t.FlatPrice, "tiers["+fmt.Sprint(j)+"].flat_price")
				}
				if strings.TrimSpace(t.UpTo) == "" {
					v.Check(j == len(c.Tiers)-1, tf+".up_to", "required", "only the last tier is unbounded; give every other tier an up_to")
					continue
				}
				up, ok := decimal(t.UpTo)
				if v.Check(ok && up.Sign() > 0, tf+".up_to", "decimal", "up_to is a quantity such as 1000") {
					v.Check(prev == nil || up.Cmp(prev) > 0, tf+".up_to", "order", "tiers go up: each up_to is above the one before")
					prev = up
				}
			}
		}
		if c.Kind != Graduated && c.Kind != Volume {
			v.Check(len(c.Tiers) == 0, f+".tiers", "unexpected", "only graduated and volume components have tiers")
		}
		if c.Kind == Flat {
			v.Check(c.Interval == "" || c.Interval == Month || c.Interval == Quarter || c.Interval == Year, f+".interval", "enum",
				"interval is month, quarter or year (how often the fee bills)")
			v.Check(c.Timing == "" || c.Timing == Arrears || c.Timing == Advance, f+".timing", "enum",
				"timing is arrears (billed when the interval ends) or advance (billed when it starts)")
		} else {
			v.Check(c.Interval == "", f+".interval", "unexpected", "only flat components have a billing interval; usage and minimums bill monthly")
			v.Check(c.Timing == "", f+".timing", "unexpected", "only flat components bill in advance or in arrears")
		}
	}
}

// TierCharge is the part of a usage charge one tier makes.
type TierCharge struct {
	Tier      int    `json:"tier"`
	From      string `json:"from"`
	To        string `json:"to,omitempty"`
	Quantity  string `json:"quantity"`
	UnitPrice string `json:"unit_price"`
	FlatPrice string `json:"flat_price,omitempty"`
}

// Charge is what a component charges for a quantity: the exact amount in
// major units before rounding, and how it was reached.
type Charge struct {
	Exact    *big.Rat
	Tiers    []TierCharge
	Packages int64
}

// RateUsage charges a usage component for a quantity (in the meter's units).
func RateUsage(c Component, qty *big.Rat) Charge {
	out := Charge{Exact: new(big.Rat)}
	if qty.Sign() <= 0 {
		return out
	}
	switch c.Kind {
	case PerUnit:
		out.Exact.Mul(qty, mustDecimal(c.Price))
	case Package:
		size := mustDecimal(c.PackageSize)
		n := new(big.Rat).Quo(qty, size)
		packages := new(big.Int).Quo(n.Num(), n.Denom())
		if !n.IsInt() {
			packages.Add(packages, big.NewInt(1))
		}
		out.Packages = packages.Int64()
		out.Exact.Mul(new(big.Rat).SetInt(packages), mustDecimal(c.Price))
	case Graduated:
		from := new(big.Rat)
		for i, t := range c.Tiers {
			if qty.Cmp(from) <= 0 && i > 0 {
				break
			}
			to := qty
			bounded := strings.TrimSpace(t.UpTo) != ""
			if bounded {
				if up := mustDecimal(t.UpTo); up.Cmp(qty) < 0 {
					to = up
				}
			}
			part := new(big.Rat).Sub(to, from)
			if part.Sign() <= 0 {
				from = to
				continue
			}
			out.Exact.Add(out.Exact, new(big.Rat).Mul(part, mustDecimal(t.UnitPrice)))
			out.Exact.Add(out.Exact, mustDecimal(t.FlatPrice))
			tc := TierCharge{Tier: i + 1, From: ratString(from), Quantity: ratString(part), UnitPrice: t.UnitPrice, FlatPrice: t.FlatPrice}
			if bounded {
				tc.To = t.UpTo
			}
			out.Tiers = append(out.Tiers, tc)
			from = new(big.Rat).Set(to)
		}
	case Volume:
		from := new(big.Rat)
		for i, t := range c.Tiers {
			last := i == len(c.Tiers)-1 || strings.TrimSpace(t.UpTo) == ""
			if last || qty.Cmp(mustDecimal(t.UpTo)) <= 0 {
				out.Exact.Mul(qty, mustDecimal(t.UnitPrice))
				out.Exact.Add(out.Exact, mustDecimal(t.FlatPrice))
				out.Tiers = []TierCharge{{Tier: i + 1, From: ratString(from), To: t.UpTo, Quantity: ratString(qty), UnitPrice: t.UnitPrice, FlatPrice: t.FlatPrice}}
				break
			}
			from = mustDecimal(t.UpTo)
		}
	}
	return out
}

// Prorate is a monthly amount per unit for units held over held of a
// period's length: amount × units × held / period, exact.
func Prorate(amount string, units int64, held, period int64) *big.Rat {
	r := new(big.Rat).Mul(mustDecimal(amount), big.NewRat(units, 1))
	if held >= period || period <= 0 {
		return r
	}
	return r.Mul(r, big.NewRat(held, period))
}

// Round rounds an exact amount of major units to the currency's minor unit.
func Round(exact *big.Rat, currency string) (money.Amount, error) {
	return money.RoundMinor(exact, currency)
}

// ratString formats an exact quantity as a decimal with at most 6 places
// (quantities are micro-units), trailing zeros dropped.
func ratString(r *big.Rat) string {
	s := r.FloatString(6)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Quote is what a price version charges for units of a plan before usage:
// the binding part of an order's quote.
type Quote struct {
	Currency string `json:"currency"`
	// Monthly is the flat recurring fees billed monthly; Quarterly and
	// Yearly those billed per quarter and per year; OneTime the one-time
	// fees; all for the units quoted, in minor units.
	Monthly   money.Amount `json:"-"`
	Quarterly money.Amount `json:"-"`
	Yearly    money.Amount `json:"-"`
	OneTime   money.Amount `json:"-"`
	// Minimum is the monthly minimum commitment on usage charges.
	Minimum money.Amount `json:"-"`
	// Usage lists the usage components, charged as used.
	Usage []Component `json:"usage,omitempty"`
}

// QuoteUnits quotes units of a version: flat and one-time fees times units,
// each component rounded once.
func (v *Version) QuoteUnits(units int64) (Quote, error) {
	zero := money.New(0, v.Currency)
	q := Quote{Currency: v.Currency, Monthly: zero, Quarterly: zero, Yearly: zero, OneTime: zero, Minimum: zero}
	for _, c := range v.Components {
		var into *money.Amount
		n := units
		switch c.Kind {
		case Flat:
			into = map[Interval]*money.Amount{Quarter: &q.Quarterly, Year: &q.Yearly}[c.Interval]
			if into == nil {
				into = &q.Monthly
			}
		case OneTime:
			into = &q.OneTime
		case Minimum:
			into, n = &q.Minimum, 1
		default:
			q.Usage = append(q.Usage, c)
			continue
		}
		a, err := Round(Prorate(c.Price, n, 1, 1), v.Currency)
		if err != nil {
			return q, err
		}
		if *into, err = into.Add(a); err != nil {
			return q, err
		}
	}
	return q, nil
}

// Describe says in words how a usage component charges, for quotes and
// line explanations: "0.02 per GB-month", "first 1000 at 0, then 0.001".
func (c Component) Describe(unit string) string {
	per := ""
	if unit != "" {
		per = " per " + unit
	}
	switch c.Kind {
	case PerUnit:
		return c.Price + per
	case Package:
		return c.Price + " per " + c.PackageSize + " " + strings.TrimSpace(unit) + " (or part)"
	case Graduated, Volume:
		var parts []string
		for _, t := range c.Tiers {
			s := t.UnitPrice + per
			if t.UpTo != "" {
				s += " up to " + t.UpTo
			} else {
				s += " above"
			}
			if t.FlatPrice != "" {
				s += " + " + t.FlatPrice
			}
			parts = append(parts, s)
		}
		prefix := "graduated: "
		if c.Kind == Volume {
			prefix = "volume: all units at "
		}
		return prefix + strings.Join(parts, "; ")
	}
	return c.Price
}
