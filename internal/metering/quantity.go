package metering

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Quantity is an exact amount of usage in micro-units (10⁻⁶ of the meter's
// unit): 2.5 GB is 2_500_000. Usage values with more than six decimal
// places are refused rather than rounded, so what is billed is what was sent.
type Quantity int64

// Scale is the number of micro-units in one unit.
const Scale = 1_000_000

// Limits of usage values (docs/metering.md). Together they keep every sum
// Steward makes in int64: a month (744 hours) of a subject at the hourly
// maximum is 7.44 × 10¹⁷ micro-units, a twelfth of int64's range.
const (
	// MaxValue is the largest value one event may carry, in micro-units
	// (1,000,000,000 of the meter's unit). Negative values are refused.
	MaxValue Quantity = 1_000_000_000 * Scale
	// MaxHourQuantity is the most a sum, count or unique-count meter holds
	// for one subject in one hour, all group-by values together
	// (1,000,000,000 of the meter's unit); an event that would take the hour
	// past it is refused.
	MaxHourQuantity Quantity = 1_000_000_000 * Scale
)

var errQuantity = errors.New("not a number with at most 6 decimal places")

// ParseQuantity reads a decimal ("12", "-0.25", "1.5e3") exactly, in time
// linear in its length: the exponent is at most three digits, and nothing
// larger than a Quantity is ever computed.
func ParseQuantity(s string) (Quantity, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	if whole+frac == "" || !digits(whole) || !digits(frac) {
		return 0, errQuantity
	}
	e := 0
	if hasExp {
		expNeg := strings.HasPrefix(exp, "-")
		if expNeg || strings.HasPrefix(exp, "+") {
			exp = exp[1:]
		}
		if exp == "" || !digits(exp) {
			return 0, errQuantity
		}
		exp = strings.TrimLeft(exp, "0")
		if len(exp) > 3 {
			return 0, errQuantity
		}
		if exp != "" {
			e, _ = strconv.Atoi(exp)
		}
		if expNeg {
			e = -e
		}
	}
	// The value is digits × 10^shift micro-units.
	ds := strings.TrimLeft(whole+frac, "0")
	shift := e - len(frac) + 6
	t := strings.TrimRight(ds, "0")
	shift += len(ds) - len(t)
	if t == "" {
		return 0, nil
	}
	if shift < 0 || len(t)+shift > 19 {
		return 0, errQuantity // finer than a micro-unit, or too large
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, errQuantity
	}
	for range shift {
		if n > math.MaxUint64/10 {
			return 0, errQuantity
		}
		n *= 10
	}
	switch {
	case neg && n <= math.MaxInt64+1:
		return Quantity(-int64(n-1) - 1), nil
	case !neg && n <= math.MaxInt64:
		return Quantity(n), nil
	}
	return 0, errQuantity
}

// digits reports whether s is only ASCII digits (or empty).
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the quantity as a decimal without trailing zeros.
func (q Quantity) String() string {
	if q == math.MinInt64 {
		return "-9223372036854.775808"
	}
	neg := q < 0
	if neg {
		q = -q
	}
	s := strconv.FormatInt(int64(q/Scale), 10)
	if f := int64(q % Scale); f != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(Scale+f, 10)[1:], "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes a quantity as a decimal string: exact, whatever the reader.
func (q Quantity) MarshalJSON() ([]byte, error) { return json.Marshal(q.String()) }

// Rat is the quantity in units as an exact rational.
func (q Quantity) Rat() *big.Rat { return big.NewRat(int64(q), Scale) }

// add is a + b, and false when the sum does not fit a Quantity.
func (q Quantity) add(b Quantity) (Quantity, bool) {
	s := q + b
	if (b > 0 && s < q) || (b < 0 && s > q) {
		return q, false
	}
	return s, true
}

// quantityOf rounds a rational number of units to micro-units, half away
// from zero; false when it does not fit a Quantity.
func quantityOf(r *big.Rat) (Quantity, bool) {
	m := new(big.Rat).Mul(r, big.NewRat(Scale, 1))
	n, d := m.Num(), m.Denom()
	qt, rem := new(big.Int).QuoRem(n, d, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(d) >= 0 {
		if n.Sign() < 0 {
			qt.Sub(qt, big.NewInt(1))
		} else {
			qt.Add(qt, big.NewInt(1))
		}
	}
	if !qt.IsInt64() {
		return 0, false
	}
	return Quantity(qt.Int64()), true
}
