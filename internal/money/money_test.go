package money

import (
	"math/big"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

func TestParseAndFormat(t *testing.T) {
	tests := []struct {
		in, cur string
		minor   int64
		out     string
		wantErr bool
	}{
		{"1234.50", "EUR", 123450, "1234.50 EUR", false},
		{"0.1", "USD", 10, "0.10 USD", false},
		{"-0.05", "EUR", -5, "-0.05 EUR", false},
		{"100", "JPY", 100, "100 JPY", false},
		{"1.234", "KWD", 1234, "1.234 KWD", false},
		{"0.001", "EUR", 0, "", true}, // too many places
		{"1.5", "JPY", 0, "", true},   // JPY has no minor unit
		{"1e3", "EUR", 0, "", true},   // no exponents
		{"abc", "EUR", 0, "", true},   // not a number
		{"1.00", "eur", 0, "", true},  // bad currency
		{"99999999999999999999", "EUR", 0, "", true},
		// Issue 15, defences (found by FuzzParse): big.Rat's other
		// spellings are not amounts.
		{"0x10", "EUR", 0, "", true},
		{"0b11", "EUR", 0, "", true},
		{"0o17", "EUR", 0, "", true},
		{"0x1p4", "EUR", 0, "", true},
		{"1_000", "EUR", 0, "", true},
		{"1/2", "EUR", 0, "", true},
		{"", "EUR", 0, "", true},
		{".", "EUR", 0, "", true},
		{" 12.5 ", "EUR", 1250, "12.50 EUR", false},
		{"+3", "EUR", 300, "3.00 EUR", false},
		{"-92233720368547758.08", "EUR", -9223372036854775808, "-92233720368547758.08 EUR", false},
		{"92233720368547758.08", "EUR", 0, "", true},
		{"1.50", "JPY", 0, "", true},
		{"1.000", "JPY", 1, "1 JPY", false},
	}
	for _, tt := range tests {
		a, err := Parse(tt.in, tt.cur)
		if tt.wantErr {
			if !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("Parse(%q, %q) = %v, %v; want invalid error", tt.in, tt.cur, a, err)
			}
			continue
		}
		if err != nil || a.Minor != tt.minor || a.String() != tt.out {
			t.Errorf("Parse(%q, %q) = %v (%d), %v; want %s (%d)", tt.in, tt.cur, a, a.Minor, err, tt.out, tt.minor)
		}
	}
}

func TestRoundMinorHalfAwayFromZero(t *testing.T) {
	tests := []struct {
		num, den int64
		cur      string
		want     int64
	}{
		{1, 200, "EUR", 1},         // 0.005 → 0.01
		{-1, 200, "EUR", -1},       // -0.005 → -0.01
		{1, 300, "EUR", 0},         // 0.00333 → 0.00
		{2, 3, "EUR", 67},          // 0.666… → 0.67
		{-2, 3, "EUR", -67},        // -0.666… → -0.67
		{5, 2, "JPY", 3},           // 2.5 → 3
		{12345, 1000, "EUR", 1235}, // 12.345 → 12.35
	}
	for _, tt := range tests {
		got, err := RoundMinor(big.NewRat(tt.num, tt.den), tt.cur)
		if err != nil || got.Minor != tt.want {
			t.Errorf("RoundMinor(%d/%d %s) = %d, %v; want %d", tt.num, tt.den, tt.cur, got.Minor, err, tt.want)
		}
	}
}

func TestAdd(t *testing.T) {
	a, err := New(150, "EUR").Add(New(-200, "EUR"))
	if err != nil || a.Minor != -50 {
		t.Fatalf("Add = %v, %v; want -0.50 EUR", a, err)
	}
	if _, err := New(1, "EUR").Add(New(1, "USD")); err == nil {
		t.Error("adding EUR to USD succeeded; want error")
	}
	if _, err := New(1<<62, "EUR").Add(New(1<<62, "EUR")); err == nil {
		t.Error("overflowing add succeeded; want error")
	}
}

// FuzzParse checks that Parse reads an amount exactly or refuses it with an
// invalid error, in bounded time: what it accepts is the decimal it was
// sent, and its decimal form reads back to the same amount. Issue 15,
// defences: money parsing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1234.50", "0.1", "-0.05", "100", "1.234", "0.001", "1e3", "abc", "0x10", "0b11", "0x1p4", "+5", ".5", "5.",
		"-92233720368547758.08", "92233720368547758.07", strings.Repeat("9", 5000), "0." + strings.Repeat("0", 5000), " 1 ", "1/3"} {
		for _, cur := range []string{"EUR", "JPY", "KWD"} {
			f.Add(s, cur)
		}
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		defer fuzztest.Bound(t)()
		if len(s) > 1<<16 {
			t.Skip()
		}
		a, err := Parse(s, cur)
		if err != nil {
			if !errs.Is(err, errs.CodeInvalid) {
				t.Fatalf("Parse(%q, %q): %v, want an invalid error", s, cur, err)
			}
			return
		}
		want, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		got := new(big.Rat).SetFrac(big.NewInt(a.Minor), pow10(Exponent(cur)))
		if !ok || want.Cmp(got) != 0 || strings.ContainsAny(s, "xXbBoOpPeE_/") {
			t.Fatalf("Parse(%q, %q) = %s, want %v", s, cur, a, want)
		}
		if back, err := Parse(a.Decimal(), cur); err != nil || back != a {
			t.Fatalf("Parse(%q, %q) = %s, which reads back as %s, %v", s, cur, a, back, err)
		}
	})
}
