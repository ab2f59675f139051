package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/catalog"
)

// calendarForm is the calendar editor that the agreement form and the
// service form share (templates/_calendar.html): the time zone, the
// weekly hours by day, the holidays one a line (holidayLine), the seasons
// and the maintenance windows as table rows, each table with a blank row
// to add one. readCalendar reads it back: a calendar saved unchanged
// through the editor is the calendar it was made from.
type calendarForm struct {
	TimeZone string
	Weekdays []string
	Hours    map[string][2]string
	Holidays string
	Seasons  []seasonRow
	Maint    []catalog.Maintenance
	Fields   map[string]string // the page's failing fields
	Optional bool              // an empty time zone is no calendar (a service's)
}

type seasonRow struct {
	Name, From, To, Hours string
	Closest               bool
}

// newCalendarForm is the editor of c on a page whose failing fields are
// fields.
func newCalendarForm(c catalog.Calendar, fields map[string]string) calendarForm {
	f := calendarForm{TimeZone: c.TimeZone, Weekdays: catalog.Weekdays, Hours: map[string][2]string{}, Fields: fields}
	for _, h := range c.Weekly {
		f.Hours[h.Day] = [2]string{h.Start, h.End}
	}
	var hs []string
	for _, h := range c.Holidays {
		hs = append(hs, holidayLine(h))
	}
	f.Holidays = strings.Join(hs, "\n")
	for _, s := range c.Seasons {
		f.Seasons = append(f.Seasons, seasonRow{Name: s.Name, From: s.From, To: s.To, Hours: formatHours(s.Weekly), Closest: s.ClosestWeekday})
	}
	f.Seasons = append(f.Seasons, seasonRow{})
	f.Maint = append(slices.Clone(c.Maintenance), catalog.Maintenance{})
	return f
}

// readCalendar reads the calendar editor of a posted form. Problems go to
// the calendar's validation as they are.
func readCalendar(f url.Values) catalog.Calendar {
	c := catalog.Calendar{TimeZone: f.Get("time_zone")}
	for _, day := range catalog.Weekdays {
		if start, end := f.Get("start."+day), f.Get("end."+day); start != "" || end != "" {
			c.Weekly = append(c.Weekly, catalog.Hours{Day: day, Start: start, End: end})
		}
	}
	for _, l := range lines(f.Get("holidays")) {
		c.Holidays = append(c.Holidays, parseHoliday(l))
	}
	for i := 0; f.Has("season.name." + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		if f.Get("season.name."+n) == "" && f.Get("season.from."+n) == "" {
			continue
		}
		c.Seasons = append(c.Seasons, catalog.Season{Name: f.Get("season.name." + n), From: f.Get("season.from." + n),
			To: f.Get("season.to." + n), ClosestWeekday: f.Get("season.closest."+n) != "", Weekly: parseHours(f.Get("season.hours." + n))})
	}
	for i := 0; f.Has("maint.rule." + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		if f.Get("maint.rule."+n) == "" && f.Get("maint.name."+n) == "" {
			continue
		}
		days, _ := strconv.Atoi(f.Get("maint.notice." + n))
		c.Maintenance = append(c.Maintenance, catalog.Maintenance{Name: f.Get("maint.name." + n), Rule: f.Get("maint.rule." + n),
			Start: f.Get("maint.start." + n), End: f.Get("maint.end." + n), NoticeDays: days})
	}
	return c
}

// closestMark ends a holiday line whose weekend date is observed on the
// closest weekday; substituteMark one observed on the next free weekday.
const (
	closestMark    = "[closest weekday]"
	substituteMark = "[substitute]"
)

// holidayLine writes a holiday as a line of the form: when (a date, MM-DD
// or a yearly rule), the name, and the mark of how a weekend date moves.
func holidayLine(h catalog.Holiday) string {
	l := h.When() + " " + h.Name
	if h.ClosestWeekday {
		l += " " + closestMark
	}
	if h.Substitute {
		l += " " + substituteMark
	}
	return l
}

// parseHoliday reads a line holidayLine wrote.
func parseHoliday(l string) catalog.Holiday {
	when, name, _ := strings.Cut(strings.TrimSpace(l), " ")
	name = strings.TrimSpace(name)
	h := catalog.Holiday{Date: when}
	if strings.HasPrefix(strings.ToUpper(when), "FREQ=") {
		h = catalog.Holiday{Rule: when}
	}
	if n, ok := strings.CutSuffix(name, substituteMark); ok {
		name, h.Substitute = strings.TrimSpace(n), true
	}
	if n, ok := strings.CutSuffix(name, closestMark); ok {
		name, h.ClosestWeekday = strings.TrimSpace(n), true
	}
	h.Name = name
	return h
}

// formatHours writes weekly hours as parseHours reads them: "monday
// 07:00-19:00, saturday 09:00-14:00".
func formatHours(hs []catalog.Hours) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Day+" "+h.Start+"-"+h.End)
	}
	return strings.Join(parts, ", ")
}

// parseHours reads "mon-fri 07:00-19:00, sat 09:00-14:00": day names or
// ranges (three letters or whole), then start-end. Problems go to the
// calendar's validation as they are (a bad day or time is reported there).
func parseHours(s string) []catalog.Hours {
	short := map[string]string{}
	for _, d := range catalog.Weekdays {
		short[d[:3]], short[d] = d, d
	}
	var out []catalog.Hours
	for _, part := range strings.Split(s, ",") {
		fs := strings.Fields(strings.TrimSpace(part))
		if len(fs) != 2 {
			if len(fs) > 0 {
				out = append(out, catalog.Hours{Day: part})
			}
			continue
		}
		start, end, _ := strings.Cut(fs[1], "-")
		days := []string{fs[0]}
		if a, b, ok := strings.Cut(strings.ToLower(fs[0]), "-"); ok {
			i, j := slices.Index(catalog.Weekdays, short[a]), slices.Index(catalog.Weekdays, short[b])
			if i >= 0 && j >= i {
				days = catalog.Weekdays[i : j+1]
			}
		}
		for _, d := range days {
			if full, ok := short[strings.ToLower(d)]; ok {
				d = full
			}
			out = append(out, catalog.Hours{Day: d, Start: start, End: end})
		}
	}
	return out
}
