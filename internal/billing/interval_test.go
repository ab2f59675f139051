package billing

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/rating"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestIntervalFee: issue 16, billing 3: "plans can only bill monthly. Add
// billing intervals (month, quarter, year) per plan with proration, in
// advance or in arrears". The rule (docs/billing.md, "Billing
// intervals"): intervals follow the account's periods (a year from the
// anchor day of January, a quarter from that of January, April, July,
// October); a fee is price × units × time held / length of the interval,
// rounded once; in arrears on the period in which the time held in the
// interval ends, in advance on the period in which it starts (for the rest
// of the interval) with the unused part credited on the period in which
// the segment ends. Every figure is worked by hand in its comment.
func TestIntervalFee(t *testing.T) {
	year := func(tm rating.Timing) rating.Component {
		return rating.Component{Code: "desk", Kind: rating.Flat, Price: "700.00", Interval: rating.Year, Timing: tm}
	}
	quarter := func(tm rating.Timing) rating.Component {
		return rating.Component{Code: "desk", Kind: rating.Flat, Price: "700.00", Interval: rating.Quarter, Timing: tm}
	}
	for _, c := range []struct {
		name   string
		anchor int
		c      rating.Component
		gs, ge string // segment; ge "" while held
		month  string // the period billed
		now    string // the run's now ("" : long after)
		want   string // "from to amount to-date" per part
	}{
		// Leap year: 2028 has 366 days; from 29 Feb to 1 Jan 2029 is 1 + 306 = 307 days.
		// 700 × 307/366 = 587.158… → 587.16, billed in advance on February's document.
		{"advance from the leap day", 1, year(rating.Advance), "2028-02-29", "", "2028-02", "", "2028-02-29 2029-01-01 587.16 587.16"},
		{"advance: nothing in the next month", 1, year(rating.Advance), "2028-02-29", "", "2028-03", "", ""},
		// The next year starts on 1 Jan 2029: 365/365 of 700.
		{"advance: the next year whole", 1, year(rating.Advance), "2028-02-29", "", "2029-01", "", "2029-01-01 2030-01-01 700.00 700.00"},
		// Ended on 31 Aug 2028 (a month end): held 29 Feb → 31 Aug = 184 days, 700 × 184/366 = 351.912… → 351.91;
		// credited 351.91 − 587.16 = −235.25 on August's document.
		{"advance: ended early, the unused part credited", 1, year(rating.Advance), "2028-02-29", "2028-08-31", "2028-08", "", "2028-08-31 2029-01-01 -235.25 -235.25"},
		// Started and ended in one month (10 → 20 Feb 2028): the charge to the year's end,
		// 10 Feb → 1 Jan 2029 = 366 − 40 = 326 days, 700 × 326/366 = 623.497… → 623.50, and the credit on
		// the same document, the fee for the 10 days held (700 × 10/366 = 19.125… → 19.13) less the
		// charge: 19.13 − 623.50 = −604.37; the two add up to 19.13.
		{"advance: started and ended in one month", 1, year(rating.Advance), "2028-02-10", "2028-02-20", "2028-02", "",
			"2028-02-10 2029-01-01 623.50 623.50\n2028-02-20 2029-01-01 -604.37 -604.37"},
		// In arrears, on the period in which the year ends (December):
		// 1 Mar 2027 → 1 Jan 2028 = 306 of 365 days, 700 × 306/365 = 586.849… → 586.85.
		// To date on 16 Dec 2027: 1 Mar → 16 Dec = 290 days, 700 × 290/365 = 556.164… → 556.16.
		{"arrears at the year's end", 1, year(rating.Arrears), "2027-03-01", "", "2027-12", "2027-12-16", "2027-03-01 2028-01-01 586.85 556.16"},
		{"arrears: nothing before", 1, year(rating.Arrears), "2027-03-01", "", "2027-11", "", ""},
		// Quarter of 2027 Q1 = 31 + 28 + 31 = 90 days; held 31 Jan → 28 Feb (month ends) = 28 days:
		// 700 × 28/90 = 217.777… → 217.78, in arrears on February's document, when the segment ended.
		{"quarter in arrears, month end to month end", 1, quarter(rating.Arrears), "2027-01-31", "2027-02-28", "2027-02", "", "2027-01-31 2027-02-28 217.78 217.78"},
		// 2028 Q1 = 31 + 29 + 31 = 91 days; from 31 Mar 2028 one day: 700/91 = 7.692… → 7.69.
		{"quarter in advance, leap year, last day", 1, quarter(rating.Advance), "2028-03-31", "", "2028-03", "", "2028-03-31 2028-04-01 7.69 7.69"},
		// Then the second quarter whole, on April's document.
		{"quarter in advance, the next quarter", 1, quarter(rating.Advance), "2028-03-31", "", "2028-04", "", "2028-04-01 2028-07-01 700.00 700.00"},
		// Anchor day 15: the year runs 15 Jan 2027 → 15 Jan 2028 (365 days); from 15 Jun 2027 it is
		// 30+31+31+30+31+30+31 = 214 days: 700 × 214/365 = 410.410… → 410.41, on the period 15 Dec → 15 Jan.
		{"anchor day 15, arrears", 15, year(rating.Arrears), "2027-06-15", "", "2027-12", "", "2027-06-15 2028-01-15 410.41 410.41"},
		// A month (the default) in arrears is the old rule: 30.00 × 20/30 days of November = 20.00.
		{"month in arrears", 1, rating.Component{Code: "base", Kind: rating.Flat, Price: "30.00"}, "2026-11-11", "", "2026-11", "", "2026-11-11 2026-12-01 20.00 20.00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &Account{AnchorDay: c.anchor}
			m, _ := time.Parse("2006-01", c.month)
			ps, pe := a.Period(m)
			var ge time.Time
			if c.ge != "" {
				ge = day(c.ge)
			}
			now := day("2100-01-01")
			if c.now != "" {
				now = day(c.now)
			}
			round := func(r *big.Rat) (int64, error) {
				amt, err := rating.Round(r, "EUR")
				return amt.Minor, err
			}
			parts, err := intervalFee(a, c.c, 1, day(c.gs), ge, ps, pe, now, round)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range parts {
				got = append(got, fmt.Sprintf("%s %s %s %s", p.from.Format("2006-01-02"), p.to.Format("2006-01-02"), cents(p.minor), cents(p.toDate)))
			}
			if g := strings.Join(got, "\n"); g != c.want {
				t.Errorf("got\n%s\nwant\n%s", g, c.want)
			}
		})
	}
}

func cents(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}
