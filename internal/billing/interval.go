package billing

import (
	"math/big"
	"time"

	"github.com/steward-itaas/steward/internal/rating"
)

// interval returns the billing interval of the account holding t: its
// period (anchor day to anchor day) for a month, the three periods from
// the anchor day of January, April, July or October for a quarter, the
// twelve from the anchor day of January for a year.
func (a *Account) interval(iv rating.Interval, t time.Time) (start, end time.Time) {
	t = t.UTC()
	m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	if t.Day() < a.AnchorDay {
		m = m.AddDate(0, -1, 0) // before its anchor day: the period of the month before
	}
	n := iv.Months()
	first := time.Month((int(m.Month())-1)/n*n + 1)
	start = time.Date(m.Year(), first, a.AnchorDay, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, n, 0)
}

// feePart is what a flat fee of a segment bills on one period's document:
// a charge for the time from..to of the interval, or (credit) the unused
// part of a fee billed in advance.
type feePart struct {
	from, to     time.Time // the time charged (or credited)
	ivFrom, ivTo time.Time // the interval
	exact        *big.Rat  // before rounding; a credit is the rounded difference, so 0
	minor        int64     // the rounded amount (negative for a credit)
	toDate       int64     // what of it was incurred up to the run's now
	held, length int64     // microseconds charged and in the interval
	credit       bool
}

func micros(d time.Duration) int64 { return int64(d / time.Microsecond) }

// intervalFee computes what a flat fee (price per unit per interval) of a
// segment [gs, ge) (ge zero: still held) bills on the document of the
// period [ps, pe), and what of that was incurred up to now. Periods nest
// in intervals, so one interval is concerned: the one holding ps.
//
//   - In arrears, the interval's fee is billed on the period in which the
//     segment's time in the interval ends (the interval's end, or the
//     segment's if sooner): price × units × held / interval length.
//   - In advance, it is billed on the period in which the segment's time
//     in the interval starts, for the rest of the interval; if the
//     segment ends before the interval does, the period in which it ends
//     credits the difference between that charge and the fee for the time
//     held, each rounded once, so the two lines add up to the fee for the
//     time held exactly.
func intervalFee(a *Account, c rating.Component, units int64, gs, ge, ps, pe, now time.Time, round func(*big.Rat) (int64, error)) ([]feePart, error) {
	is, ie := a.interval(c.Interval, ps)
	length := micros(ie.Sub(is))
	os, oe := maxTime(gs, is), ie
	if !ge.IsZero() && ge.Before(ie) {
		oe = ge
	}
	if !os.Before(oe) {
		return nil, nil
	}
	fee := func(from, to time.Time) *big.Rat { return rating.Prorate(c.Price, units, micros(to.Sub(from)), length) }
	var out []feePart
	if c.Timing != rating.Advance {
		if !oe.After(ps) || oe.After(pe) {
			return nil, nil // billed on another period's document
		}
		exact := fee(os, oe)
		minor, err := round(exact)
		if err != nil {
			return nil, err
		}
		part := feePart{from: os, to: oe, ivFrom: is, ivTo: ie, exact: exact, minor: minor, held: micros(oe.Sub(os)), length: length}
		if cut := minTime(oe, now); cut.After(os) {
			if part.toDate, err = round(fee(os, cut)); err != nil {
				return nil, err
			}
		}
		return append(out, part), nil
	}
	whole, err := round(fee(os, ie))
	if err != nil {
		return nil, err
	}
	if !os.Before(ps) && os.Before(pe) {
		part := feePart{from: os, to: ie, ivFrom: is, ivTo: ie, exact: fee(os, ie), minor: whole, held: micros(ie.Sub(os)), length: length}
		if !now.Before(os) {
			part.toDate = whole // billed in advance: owed from its start
		}
		out = append(out, part)
	}
	if oe.Before(ie) && oe.After(ps) && !oe.After(pe) {
		held, err := round(fee(os, oe))
		if err != nil {
			return nil, err
		}
		part := feePart{from: oe, to: ie, ivFrom: is, ivTo: ie, exact: new(big.Rat), minor: held - whole, held: micros(ie.Sub(oe)), length: length, credit: true}
		if !now.Before(oe) {
			part.toDate = part.minor
		}
		out = append(out, part)
	}
	return out, nil
}
