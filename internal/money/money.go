// Package money is Steward's exact representation of an amount of money: an
// integer count of the currency's minor units (cents for EUR and USD, yen for
// JPY) with its ISO 4217 code. There is no floating point anywhere.
//
// Amounts on invoices, statements, payments and credit notes are Amounts.
// Rating works with exact decimal unit prices and rounds once per line, half
// away from zero, to the currency's minor unit (RoundMinor); totals are sums
// of rounded lines, so an invoice always adds up. docs/architecture.md has the
// full rules.
package money

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/errs"
)

// exponents holds the number of minor-unit digits of currencies that do not
// use two. Every other valid code uses two.
var exponents = map[string]int{
	"BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
	"OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}

// Exponent returns the number of minor-unit digits of a currency.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// ValidCurrency reports whether code is three upper-case ASCII letters.
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for _, c := range code {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// Amount is an exact amount of money in minor units.
type Amount struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// New returns an amount of minor units.
func New(minor int64, currency string) Amount { return Amount{Minor: minor, Currency: currency} }

// Parse reads a decimal string such as "1234.50" or "-0.5" in the currency:
// an optional sign, digits and an optional fraction, nothing else (no
// exponent, no hexadecimal, no fraction bar), in time linear in its length.
// More decimal places than the currency has is an error: use RoundMinor for
// computed values.
func Parse(s, currency string) (Amount, error) {
	if !ValidCurrency(currency) {
		return Amount{}, errs.Invalid("currency %q is not an ISO 4217 code such as EUR", currency)
	}
	shown := s
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	if neg || strings.HasPrefix(t, "+") {
		t = t[1:]
	}
	whole, frac, _ := strings.Cut(t, ".")
	if whole+frac == "" || !digits(whole) || !digits(frac) {
		return Amount{}, errs.Invalid("amount %q is not a decimal number such as 1234.50", shown)
	}
	e := Exponent(currency)
	frac = strings.TrimRight(frac, "0")
	if len(frac) > e {
		return Amount{}, errs.Invalid("amount %q has more than %d decimal places for %s", shown, e, currency)
	}
	frac += strings.Repeat("0", e-len(frac))
	ds := strings.TrimLeft(whole+frac, "0")
	if ds == "" {
		return Amount{Currency: currency}, nil
	}
	n, err := strconv.ParseUint(ds, 10, 64)
	switch {
	case err != nil, neg && n > math.MaxInt64+1, !neg && n > math.MaxInt64:
		return Amount{}, errs.Invalid("amount %q is too large", shown)
	case neg:
		return Amount{Minor: -int64(n-1) - 1, Currency: currency}, nil
	}
	return Amount{Minor: int64(n), Currency: currency}, nil
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

// RoundMinor rounds an exact rational amount of major units (for example
// quantity × decimal unit price) to minor units, half away from zero.
func RoundMinor(major *big.Rat, currency string) (Amount, error) {
	scaled := new(big.Rat).Mul(major, new(big.Rat).SetInt(pow10(Exponent(currency))))
	num, den := scaled.Num(), scaled.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// |r|*2 >= den rounds away from zero.
	if new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return Amount{}, errs.Invalid("amount is too large")
	}
	return Amount{Minor: q.Int64(), Currency: currency}, nil
}

// Add returns a+b. Adding different currencies or overflowing is an error.
func (a Amount) Add(b Amount) (Amount, error) {
	if a.Currency != b.Currency {
		return Amount{}, errs.Invalid("cannot add %s to %s: convert first", b.Currency, a.Currency)
	}
	s := a.Minor + b.Minor
	if (b.Minor > 0 && s < a.Minor) || (b.Minor < 0 && s > a.Minor) {
		return Amount{}, errs.Invalid("amount overflows")
	}
	return Amount{Minor: s, Currency: a.Currency}, nil
}

// Neg returns -a.
func (a Amount) Neg() Amount {
	if a.Minor == math.MinInt64 {
		return Amount{Minor: math.MaxInt64, Currency: a.Currency}
	}
	return Amount{Minor: -a.Minor, Currency: a.Currency}
}

// String formats the amount as "1234.50 EUR".
func (a Amount) String() string { return a.Decimal() + " " + a.Currency }

// Decimal formats the amount as a plain decimal string, "1234.50".
func (a Amount) Decimal() string {
	e := Exponent(a.Currency)
	r := new(big.Rat).SetFrac(big.NewInt(a.Minor), pow10(e))
	return r.FloatString(e)
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }
