package sla

import (
	"time"

	"github.com/steward-itaas/steward/internal/catalog"
)

// serviceTime is the calendar's service hours within [from, to): each
// local day's stretches turned into instants in the calendar's zone, so
// the hours follow daylight saving time (a 08:00–17:00 day is nine hours
// of wall clock whatever the offset).
func serviceTime(cal *catalog.Calendar, from, to int64) Set {
	if from >= to {
		return nil
	}
	loc := cal.Location()
	first := Time(from).In(loc)
	last := Time(to).In(loc)
	lastDay := time.Date(last.Year(), last.Month(), last.Day(), 12, 0, 0, 0, loc)
	var out []Span
	for d := time.Date(first.Year(), first.Month(), first.Day()-1, 12, 0, 0, 0, loc); !d.After(lastDay); d = d.AddDate(0, 0, 1) {
		y, m, day := d.Date()
		for _, h := range cal.HoursOn(y, m, day) {
			s := Micros(time.Date(y, m, day, h.Start/60, h.Start%60, 0, 0, loc))
			e := Micros(time.Date(y, m, day, h.End/60, h.End%60, 0, 0, loc))
			if s, e = max(s, from), min(e, to); s < e {
				out = append(out, Span{s, e})
			}
		}
	}
	return normal(out)
}

// occurrence is one maintenance window with the notice it needs.
type occurrence struct {
	Span
	notice int64 // microseconds
	name   string
}

// maintenance lists the calendar's maintenance windows overlapping
// [from, to), in the calendar's zone (16:00 local stays 16:00 across DST).
// Expansion is bounded by the span: a rule that recurs more than daily
// (stored before rules were checked) excuses nothing, and the compliance
// pass does not measure its agreement (catalog.Calendar.CheckMaintenance).
func maintenance(cal *catalog.Calendar, from, to int64) []occurrence {
	if from >= to {
		return nil
	}
	loc := cal.Location()
	var out []occurrence
	since := Time(from).In(loc).AddDate(0, 0, -1)
	for i := range cal.Maintenance {
		m := &cal.Maintenance[i]
		starts, err := m.Occurrences(loc, since, Time(to).In(loc))
		if err != nil {
			continue
		}
		for _, at := range starts {
			s, e := m.Span(at.In(loc))
			sp := Span{Micros(s), Micros(e)}
			if sp.End > from && sp.Start < to {
				out = append(out, occurrence{Span: sp, notice: int64(m.NoticeDays) * 24 * int64(time.Hour/time.Microsecond), name: m.Name})
			}
		}
	}
	return out
}
