package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/steward-itaas/steward/internal/errs"
)

// Calendar is a service's hours: when it is provided and supported, in its
// own time zone. Weekly hours repeat every week; holidays are whole local
// days without service; a season replaces the weekly hours between two
// dates (tax season's extended hours); maintenance windows recur by an RFC
// 5545 rule and are excluded from agreed service time only when announced
// with their notice (service level management decides that).
type Calendar struct {
	TimeZone    string        `json:"time_zone" yaml:"time_zone"`
	Weekly      []Hours       `json:"weekly" yaml:"weekly"`
	Holidays    []Holiday     `json:"holidays" yaml:"holidays,omitempty"`
	Seasons     []Season      `json:"seasons,omitempty" yaml:"seasons,omitempty"`
	Maintenance []Maintenance `json:"maintenance,omitempty" yaml:"maintenance,omitempty"`
}

// Season is a stretch of dates with their own weekly hours. From and To
// are inclusive local dates: "MM-DD" recurs every year (a season may run
// over the new year), "YYYY-MM-DD" is once. With ClosestWeekday each
// bound that falls on a weekend moves to the closest weekday (a Saturday
// to the Friday before, a Sunday to the Monday after): "the closest
// weekdays around April 7–21".
type Season struct {
	Name           string  `json:"name" yaml:"name"`
	From           string  `json:"from" yaml:"from"`
	To             string  `json:"to" yaml:"to"`
	ClosestWeekday bool    `json:"closest_weekday,omitempty" yaml:"closest_weekday,omitempty"`
	Weekly         []Hours `json:"weekly" yaml:"weekly"`
}

// Maintenance is a recurring maintenance window: an RFC 5545 recurrence
// rule ("FREQ=MONTHLY;BYDAY=1SU" is the first Sunday of each month) whose
// occurrences run from Start to End local time, announced NoticeDays ahead.
type Maintenance struct {
	Name       string `json:"name" yaml:"name"`
	Rule       string `json:"rule" yaml:"rule"`
	Start      string `json:"start" yaml:"start"`
	End        string `json:"end" yaml:"end"`
	NoticeDays int    `json:"notice_days" yaml:"notice_days"`
}

// Hours is one stretch of service on a weekday, in local time: Start from
// "00:00" to "23:59", End after Start up to "24:00".
type Hours struct {
	Day   string `json:"day" yaml:"day"` // monday … sunday
	Start string `json:"start" yaml:"start"`
	End   string `json:"end" yaml:"end"`
}

// Holiday is a local date without service: Date "YYYY-MM-DD" once or
// "MM-DD" every year, or a yearly Rule naming the nth weekday of a month
// ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH" is Thanksgiving, "BYDAY=-1MO" the
// last Monday). A date on a weekend may move: with ClosestWeekday to the
// closest weekday (a Saturday's to the Friday before, a Sunday's to the
// Monday after: the US rule), with Substitute to the next weekday that is
// not already a holiday (England's substitute days: Christmas on a
// Saturday is observed on Monday, Boxing Day on the Sunday on Tuesday).
type Holiday struct {
	Date           string `json:"date,omitempty" yaml:"date,omitempty"`
	Rule           string `json:"rule,omitempty" yaml:"rule,omitempty"`
	ClosestWeekday bool   `json:"closest_weekday,omitempty" yaml:"closest_weekday,omitempty"`
	Substitute     bool   `json:"substitute,omitempty" yaml:"substitute,omitempty"`
	Name           string `json:"name" yaml:"name"`
}

// A holiday given once (YYYY-MM-DD) falls in a year from MinHolidayYear
// to MaxHolidayYear: one in year 1 or 9999 is a typing mistake that would
// silently never close a day.
const (
	MinHolidayYear = 1970
	MaxHolidayYear = 2199
)

// When says when the holiday falls, as the portal's holiday lines write
// it: the date or the rule.
func (h *Holiday) When() string {
	if h.Rule != "" {
		return h.Rule
	}
	return h.Date
}

// Describe says when the holiday falls in words: "26 November 2026",
// "25 December every year", "the fourth Thursday of November every year".
func (h *Holiday) Describe() string {
	if h.Rule != "" {
		m, wd, n, ok := yearlyRule(h.Rule)
		if !ok {
			return h.Rule
		}
		nth := map[int]string{1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second last", -3: "third last", -4: "fourth last", -5: "fifth last"}[n]
		return fmt.Sprintf("the %s %s of %s every year", nth, wd, m)
	}
	once, md, ok := seasonDate(h.Date)
	if !ok {
		return h.Date
	}
	d, _ := dateIn(2000, md) // a leap year: 02-29 reads
	if once != 0 {
		return fmt.Sprintf("%d %s %d", d.Day(), d.Month(), once)
	}
	return fmt.Sprintf("%d %s every year", d.Day(), d.Month())
}

// date is when the holiday falls in the year before any move (noon UTC).
func (h *Holiday) date(year int) (time.Time, bool) {
	if h.Rule != "" {
		m, wd, n, ok := yearlyRule(h.Rule)
		if !ok {
			return time.Time{}, false
		}
		t := nthWeekday(year, m, wd, n)
		return t, !t.IsZero()
	}
	once, md, ok := seasonDate(h.Date)
	if !ok || once != 0 && once != year {
		return time.Time{}, false
	}
	return dateIn(year, md)
}

// on says whether a holiday that is not a Substitute one falls on the
// local date d (noon UTC): on its date, or on the closest weekday (which
// may be in the year before, for 1 January on a Saturday).
func (h *Holiday) on(d time.Time) bool {
	for _, y := range []int{d.Year() - 1, d.Year(), d.Year() + 1} {
		t, ok := h.date(y)
		if !ok {
			continue
		}
		if h.ClosestWeekday {
			t = closestWeekday(t)
		}
		if sameDay(t, d) {
			return true
		}
	}
	return false
}

// substituteOn says whether one of the calendar's Substitute holidays is
// observed on the local date d: those of a year are placed in date order,
// each on its date, or from a weekend on the next weekday that is not
// already a holiday (another holiday's date, or an earlier substitute's).
// A move is a few days at most, so d's year and the one before decide.
func (c *Calendar) substituteOn(d time.Time) bool {
	weekend := func(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }
	for _, y := range []int{d.Year() - 1, d.Year()} {
		var nominal, placed []time.Time
		for i := range c.Holidays {
			if h := &c.Holidays[i]; h.Substitute {
				if t, ok := h.date(y); ok {
					nominal = append(nominal, t)
				}
			}
		}
		slices.SortFunc(nominal, func(a, b time.Time) int { return a.Compare(b) })
		same := func(t time.Time) func(time.Time) bool { return func(o time.Time) bool { return sameDay(o, t) } }
		taken := func(t time.Time) bool {
			if weekend(t) || slices.ContainsFunc(placed, same(t)) || slices.ContainsFunc(nominal, func(n time.Time) bool { return !weekend(n) && sameDay(n, t) }) {
				return true
			}
			return slices.ContainsFunc(c.Holidays, func(h Holiday) bool { return !h.Substitute && h.on(t) })
		}
		for _, t := range nominal {
			if weekend(t) {
				for taken(t) {
					t = t.AddDate(0, 0, 1)
				}
			}
			placed = append(placed, t)
		}
		if slices.ContainsFunc(placed, same(d)) {
			return true
		}
	}
	return false
}

// dateIn is the date MM-DD in the year (noon UTC); 02-29 only in leap years.
func dateIn(year int, md string) (time.Time, bool) {
	if len(md) != 5 {
		return time.Time{}, false
	}
	m, d := time.Month(int(md[0]-'0')*10+int(md[1]-'0')), int(md[3]-'0')*10+int(md[4]-'0')
	t := time.Date(year, m, d, 12, 0, 0, 0, time.UTC)
	return t, t.Month() == m && t.Day() == d
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// closestWeekday moves a Saturday to the Friday before and a Sunday to the
// Monday after.
func closestWeekday(t time.Time) time.Time {
	switch t.Weekday() {
	case time.Saturday:
		return t.AddDate(0, 0, -1)
	case time.Sunday:
		return t.AddDate(0, 0, 1)
	}
	return t
}

// nthWeekday is the nth weekday of the month (n < 0 counts from the end),
// at noon UTC; the zero time when the month has no such day.
func nthWeekday(year int, month time.Month, wd time.Weekday, n int) time.Time {
	if n > 0 {
		first := time.Date(year, month, 1, 12, 0, 0, 0, time.UTC)
		t := first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
		if t.Month() != month {
			return time.Time{}
		}
		return t
	}
	last := time.Date(year, month+1, 0, 12, 0, 0, 0, time.UTC)
	t := last.AddDate(0, 0, -((int(last.Weekday())-int(wd)+7)%7)+7*(n+1))
	if t.Month() != month {
		return time.Time{}
	}
	return t
}

var ruleDays = map[string]time.Weekday{"MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday, "TH": time.Thursday,
	"FR": time.Friday, "SA": time.Saturday, "SU": time.Sunday}

// maxHolidayRule bounds a holiday's rule: the longest there is,
// "FREQ=YEARLY;BYMONTH=11;BYDAY=-5SU", with room for spaces. A longer one
// is refused before it is read (HoursOn reads it for every day it is
// asked about: a 2 KB rule cost the fuzz test 0.9 s over its forty years
// of days, and failed CI on a loaded machine).
const maxHolidayRule = 64

// yearlyRule reads a holiday rule: FREQ=YEARLY, one BYMONTH and one BYDAY
// with its ordinal (1 to 5, or -1 to -5 from the month's end), in any
// order, nothing else.
func yearlyRule(rule string) (time.Month, time.Weekday, int, bool) {
	if len(rule) > maxHolidayRule {
		return 0, 0, 0, false
	}
	var month, n int
	var wd time.Weekday
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.ToUpper(strings.TrimSpace(rule)), ";") {
		k, v, _ := strings.Cut(part, "=")
		if seen[k] {
			return 0, 0, 0, false
		}
		seen[k] = true
		switch k {
		case "FREQ":
			if v != "YEARLY" {
				return 0, 0, 0, false
			}
		case "BYMONTH":
			m, err := strconv.Atoi(v)
			if err != nil || m < 1 || m > 12 {
				return 0, 0, 0, false
			}
			month = m
		case "BYDAY":
			if len(v) < 3 {
				return 0, 0, 0, false
			}
			d, ok := ruleDays[v[len(v)-2:]]
			k, err := strconv.Atoi(v[:len(v)-2])
			if !ok || err != nil || k == 0 || k < -5 || k > 5 {
				return 0, 0, 0, false
			}
			wd, n = d, k
		default:
			return 0, 0, 0, false
		}
	}
	return time.Month(month), wd, n, seen["FREQ"] && month != 0 && n != 0
}

// Weekdays in the calendar's order.
var Weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// Weekly is the same hours on each of the days: Weekly(Weekdays[:5],
// "08:00", "17:00") is business hours, Weekly(Weekdays, "00:00", "24:00")
// is 24 × 7.
func Weekly(days []string, start, end string) []Hours {
	out := make([]Hours, len(days))
	for i, d := range days {
		out[i] = Hours{Day: d, Start: start, End: end}
	}
	return out
}

func minutes(hhmm string) (int, bool) {
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if hhmm[i] < '0' || hhmm[i] > '9' {
			return 0, false
		}
	}
	h, m := int(hhmm[0]-'0')*10+int(hhmm[1]-'0'), int(hhmm[3]-'0')*10+int(hhmm[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// Validate checks the calendar, naming fields under prefix ("calendar.").
func (c *Calendar) Validate(v *errs.Validator, prefix string) {
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.Weekly == nil {
		c.Weekly = []Hours{}
	}
	if c.Holidays == nil {
		c.Holidays = []Holiday{}
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		v.Add(prefix+"time_zone", "zone", "time_zone must be an IANA time zone such as Europe/London or America/New_York")
	}
	validHours(v, prefix+"weekly", "weekly entry", c.Weekly)
	for i := range c.Holidays {
		h := &c.Holidays[i]
		h.Date, h.Rule = strings.TrimSpace(h.Date), strings.ToUpper(strings.TrimSpace(h.Rule))
		v.Check(!h.ClosestWeekday || !h.Substitute, prefix+"holidays", "move", fmt.Sprintf("holiday %d: a weekend date moves to the closest weekday or substitute's next free weekday, not both "+
			"(give closest_weekday or substitute)", i+1))
		if h.Rule != "" {
			_, _, _, ok := yearlyRule(h.Rule)
			v.Check(ok && h.Date == "", prefix+"holidays", "rule", fmt.Sprintf("holiday %d: rule is a yearly RRULE naming a month and the nth weekday, "+
				"such as FREQ=YEARLY;BYMONTH=11;BYDAY=4TH (the fourth Thursday of November) or BYDAY=-1MO (the last Monday), instead of a date", i+1))
			continue
		}
		once, _, ok := seasonDate(h.Date)
		v.Check(ok, prefix+"holidays", "date", fmt.Sprintf("holiday %d: date must be YYYY-MM-DD (once) or MM-DD (every year), or give a yearly rule", i+1))
		v.Check(!ok || len(h.Date) != 10 || once >= MinHolidayYear && once <= MaxHolidayYear, prefix+"holidays", "year",
			fmt.Sprintf("holiday %d: a holiday once is in a year from %d to %d", i+1, MinHolidayYear, MaxHolidayYear))
	}
	for i := range c.Seasons {
		s := &c.Seasons[i]
		s.Name = strings.TrimSpace(s.Name)
		_, _, ok1 := seasonDate(s.From)
		_, _, ok2 := seasonDate(s.To)
		v.Check(ok1 && ok2 && (len(s.From) == len(s.To)), prefix+"seasons", "dates",
			fmt.Sprintf("season %d: from and to are both MM-DD (every year) or both YYYY-MM-DD (once)", i+1))
		validHours(v, prefix+"seasons", fmt.Sprintf("season %d: weekly entry", i+1), s.Weekly)
	}
	v.Check(len(c.Maintenance) <= MaxMaintenanceWindows, prefix+"maintenance", "count",
		fmt.Sprintf("a calendar has at most %d maintenance windows", MaxMaintenanceWindows))
	for i := range c.Maintenance {
		m := &c.Maintenance[i]
		field := fmt.Sprintf("%smaintenance[%d].", prefix, i)
		m.Name, m.Rule = strings.TrimSpace(m.Name), strings.ToUpper(strings.TrimSpace(m.Rule))
		if _, err := checkRule(m.Rule); err != nil {
			v.Add(field+"rule", "rule", fmt.Sprintf("maintenance %d: %s", i+1, err))
		} else if _, err := m.Occurrences(time.UTC, ruleCheckFrom, ruleCheckFrom.AddDate(1, 0, 0)); err != nil {
			v.Add(field+"rule", "occurrences", fmt.Sprintf("maintenance %d: %s", i+1, err))
		}
		start, ok1 := minutes(m.Start)
		end, ok2 := minutes(m.End)
		v.Check(ok1 && ok2 && start < end && start < 24*60, field+"start", "hours",
			fmt.Sprintf("maintenance %d: start and end are HH:MM on the same day with start before end", i+1))
		v.Check(m.NoticeDays >= 0 && m.NoticeDays <= 365, field+"notice_days", "notice", fmt.Sprintf("maintenance %d: notice_days is 0 to 365", i+1))
	}
}

func validHours(v *errs.Validator, field, what string, hs []Hours) {
	for i, h := range hs {
		h.Day = strings.ToLower(strings.TrimSpace(h.Day))
		hs[i].Day = h.Day
		start, ok1 := minutes(h.Start)
		end, ok2 := minutes(h.End)
		v.Check(slices.Contains(Weekdays, h.Day), field, "day", fmt.Sprintf("%s %d: day must be monday … sunday", what, i+1))
		v.Check(ok1 && ok2 && start < end && start < 24*60, field, "hours",
			fmt.Sprintf("%s %d: start and end are HH:MM with start before end (end may be 24:00)", what, i+1))
	}
}

// seasonDate reads "MM-DD" (year 0) or "YYYY-MM-DD".
func seasonDate(s string) (year int, md string, ok bool) {
	switch len(s) {
	case 5:
		_, err := time.Parse("01-02", s)
		return 0, s, err == nil
	case 10:
		t, err := time.Parse("2006-01-02", s)
		return t.Year(), s[5:], err == nil
	}
	return 0, "", false
}

// in reports whether the local date (YYYY-MM-DD; d at noon UTC) falls
// in the season.
func (s *Season) in(date string, d time.Time) bool {
	if s.ClosestWeekday {
		return s.inClosest(d)
	}
	if len(s.From) == 10 {
		return date >= s.From && date <= s.To
	}
	md := date[5:]
	if s.From <= s.To {
		return md >= s.From && md <= s.To
	}
	return md >= s.From || md <= s.To // over the new year
}

// inClosest is in for a season whose bounds move to the closest weekday:
// the season of the year before, this year and the next (a bound may move
// over the new year) are tried.
func (s *Season) inClosest(d time.Time) bool {
	fy, fmd, ok1 := seasonDate(s.From)
	ty, tmd, ok2 := seasonDate(s.To)
	if !ok1 || !ok2 {
		return false
	}
	y := d.Year()
	for _, yy := range []int{y - 1, y, y + 1} {
		fromYear, toYear := yy, yy
		if fy != 0 {
			if yy != y {
				continue
			}
			fromYear, toYear = fy, ty
		} else if fmd > tmd {
			toYear = yy + 1 // over the new year
		}
		from, ok1 := dateIn(fromYear, fmd)
		to, ok2 := dateIn(toYear, tmd)
		if !ok1 || !ok2 {
			continue
		}
		from, to = closestWeekday(from), closestWeekday(to)
		if !d.Before(from) && !d.After(to) {
			return true
		}
	}
	return false
}

// Stretch is a span of service on one local day, in minutes from midnight.
type Stretch struct{ Start, End int }

// HoursOn returns the stretches of service on a local date: none on a
// holiday, a season's hours when one covers the date, else the weekly
// hours.
func (c *Calendar) HoursOn(year int, month time.Month, day int) []Stretch {
	d := time.Date(year, month, day, 12, 0, 0, 0, time.UTC)
	date := d.Format("2006-01-02")
	for i := range c.Holidays {
		if h := &c.Holidays[i]; !h.Substitute && h.on(d) {
			return nil
		}
	}
	if c.substituteOn(d) {
		return nil
	}
	weekly := c.Weekly
	for i := range c.Seasons {
		if c.Seasons[i].in(date, d) {
			weekly = c.Seasons[i].Weekly
			break
		}
	}
	name := strings.ToLower(d.Weekday().String())
	var out []Stretch
	for _, h := range weekly {
		if h.Day != name {
			continue
		}
		start, _ := minutes(h.Start)
		end, _ := minutes(h.End)
		out = append(out, Stretch{start, end})
	}
	return out
}

// The limits of maintenance windows. A window's hours are its Start and
// End on each day its rule occurs, so a rule recurs at most daily: FREQ is
// YEARLY, MONTHLY, WEEKLY or DAILY, without BYHOUR, BYMINUTE or BYSECOND
// (a finer rule would only repeat the same hours, and expanding
// FREQ=SECONDLY over a year is 31 million occurrences).
const (
	// MaxMaintenanceOccurrences is the most occurrences a maintenance
	// rule has in a year (one a day); expansion stops with an error beyond
	// one a day of the span expanded.
	MaxMaintenanceOccurrences = 366
	// MaxMaintenanceWindows is the most maintenance windows a calendar has.
	MaxMaintenanceWindows = 20
	// MaxMaintenanceRuleLength is the longest rule, in bytes.
	MaxMaintenanceRuleLength = 200
)

// ruleCheckFrom is where a rule is expanded for a year when saved, to
// count its occurrences.
var ruleCheckFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// checkRule parses a maintenance rule and refuses what a window cannot
// use: a rule of more than MaxMaintenanceRuleLength bytes, one with its
// own DTSTART, one that recurs more often than daily.
func checkRule(rule string) (opt *rrule.ROption, err error) {
	if len(rule) > MaxMaintenanceRuleLength {
		return nil, fmt.Errorf("rule is at most %d characters", MaxMaintenanceRuleLength)
	}
	defer func() {
		if recover() != nil { // the parser's own bugs are a refused rule, not a crash
			opt, err = nil, errors.New("rule must be an RFC 5545 RRULE such as FREQ=MONTHLY;BYDAY=1SU")
		}
	}()
	opt, err = rrule.StrToROption(rule)
	if err != nil || rule == "" || strings.Contains(rule, "DTSTART") {
		return nil, errors.New("rule must be an RFC 5545 RRULE such as FREQ=MONTHLY;BYDAY=1SU (no DTSTART)")
	}
	if opt.Freq > rrule.DAILY || len(opt.Byhour) > 0 || len(opt.Byminute) > 0 || len(opt.Bysecond) > 0 {
		return nil, fmt.Errorf("a maintenance window recurs at most once a day (%d a year): FREQ is YEARLY, MONTHLY, WEEKLY or DAILY, "+
			"without BYHOUR, BYMINUTE or BYSECOND (start and end give the window's hours)", MaxMaintenanceOccurrences)
	}
	if len(opt.Byeaster) > 0 {
		return nil, errors.New("BYEASTER is not RFC 5545; name the dates with BYMONTH and BYMONTHDAY")
	}
	// RFC 5545 §3.3.10: a numbered BYDAY (1SU, -1FR) counts within the
	// month under FREQ=MONTHLY or FREQ=YEARLY with BYMONTH, within the
	// year under FREQ=YEARLY, and is not allowed with other frequencies or
	// with BYWEEKNO. The rrule library indexes past its arrays on a number
	// outside the frame (BYDAY=8WE in December), so the frame is checked
	// here.
	for _, wd := range opt.Byweekday {
		n := wd.N()
		if n == 0 {
			continue
		}
		most := 5
		switch {
		case opt.Freq == rrule.YEARLY && len(opt.Byweekno) > 0, opt.Freq != rrule.YEARLY && opt.Freq != rrule.MONTHLY:
			return nil, errors.New("a numbered BYDAY (1SU, -1FR) needs FREQ=MONTHLY or FREQ=YEARLY without BYWEEKNO (RFC 5545)")
		case opt.Freq == rrule.YEARLY && len(opt.Bymonth) == 0:
			most = 53
		}
		if n < -most || n > most {
			return nil, fmt.Errorf("a numbered BYDAY counts from 1 to %d or from -1 to -%d here (a month has at most 5 of a weekday, a year 53)", most, most)
		}
	}
	return opt, nil
}

// Occurrences returns the local start of each of the window's occurrences
// in [from, to]. It stops with an error rather than return more than one
// a day of the span (MaxMaintenanceOccurrences a year), and a rule that
// recurs more often than daily (stored before rules were checked) is an
// error, not an expansion.
//
// A rule with no occurrence after the span (FREQ=DAILY;BYMONTH=2;
// BYMONTHDAY=30) makes the rrule library search on to the year 9999. The
// Gregorian calendar repeats every 400 years (146,097 days, a whole number
// of weeks), so the rule is expanded 400·k years later, as near 9999 as the
// span allows, and the dates brought back: that search is at most 400
// years, not 8,000.
func (m *Maintenance) Occurrences(loc *time.Location, from, to time.Time) (out []time.Time, err error) {
	opt, err := checkRule(m.Rule)
	if err != nil {
		return nil, err
	}
	defer func() {
		if recover() != nil { // the library's own bugs are an error, not a crash of the compliance pass
			out, err = nil, fmt.Errorf("rule %q cannot be expanded", m.Rule)
		}
	}()
	shift := 0
	if y := to.In(loc).Year(); y >= 0 && y < 9999 {
		shift = (9999 - y) / 400 * 400
	}
	// Dates only matter (no BYHOUR and finer), so the rule runs on wall
	// clocks in UTC, where no daylight saving shifts them.
	wall := func(t time.Time) time.Time {
		l := t.In(loc)
		return time.Date(l.Year()+shift, l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	}
	start, _ := minutes(m.Start)
	f, e := wall(from), wall(to)
	opt.Dtstart = time.Date(f.Year(), f.Month(), f.Day(), start/60, start%60, 0, 0, time.UTC)
	if !opt.Until.IsZero() {
		opt.Until = wall(opt.Until)
	}
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, err
	}
	limit := 2
	if to.After(from) {
		limit += int(to.Sub(from) / (24 * time.Hour))
	}
	next := r.Iterator()
	for at, ok := next(); ok && !at.After(e); at, ok = next() {
		if at.Before(f) {
			continue
		}
		if len(out) == limit {
			return nil, fmt.Errorf("rule occurs more than once a day (at most %d a year)", MaxMaintenanceOccurrences)
		}
		out = append(out, time.Date(at.Year()-shift, at.Month(), at.Day(), start/60, start%60, 0, 0, loc))
	}
	return out, nil
}

// CheckMaintenance reports the first maintenance window whose rule a
// window cannot use (one stored before rules were checked): the
// compliance pass measures no agreement with such a calendar.
func (c *Calendar) CheckMaintenance() error {
	if len(c.Maintenance) > MaxMaintenanceWindows {
		return fmt.Errorf("the calendar has %d maintenance windows, more than %d", len(c.Maintenance), MaxMaintenanceWindows)
	}
	for i := range c.Maintenance {
		if _, err := checkRule(c.Maintenance[i].Rule); err != nil {
			return fmt.Errorf("maintenance %d: %w", i+1, err)
		}
	}
	return nil
}

// Span returns the window's local start and end on the occurrence's date.
func (m *Maintenance) Span(occurrence time.Time) (time.Time, time.Time) {
	start, _ := minutes(m.Start)
	end, _ := minutes(m.End)
	y, mo, d := occurrence.Date()
	loc := occurrence.Location()
	return time.Date(y, mo, d, start/60, start%60, 0, 0, loc), time.Date(y, mo, d, end/60, end%60, 0, 0, loc)
}

func (c *Calendar) validate(v *errs.Validator) { c.Validate(v, "calendar.") }

// Location is the calendar's time zone (UTC if it cannot be loaded).
func (c *Calendar) Location() *time.Location {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Open reports whether the service is in its hours at t. The wall clock of
// t in the calendar's zone decides, so hours follow daylight saving time.
func (c *Calendar) Open(t time.Time) bool {
	local := t.In(c.Location())
	m := local.Hour()*60 + local.Minute()
	for _, h := range c.HoursOn(local.Date()) {
		if m >= h.Start && m < h.End {
			return true
		}
	}
	return false
}

// Summary describes the weekly hours for people: "monday 08:00–18:00, …"
// or "24 × 7".
func (c *Calendar) Summary() string {
	if len(c.Weekly) == 7 {
		all := true
		for _, h := range c.Weekly {
			all = all && h.Start == "00:00" && h.End == "24:00"
		}
		if all {
			return "24 × 7 (" + c.TimeZone + ")"
		}
	}
	var parts []string
	for _, h := range c.Weekly {
		parts = append(parts, fmt.Sprintf("%s %s–%s", strings.ToUpper(h.Day[:1])+h.Day[1:3], h.Start, h.End))
	}
	return strings.Join(parts, ", ") + " (" + c.TimeZone + ")"
}
