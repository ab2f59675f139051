package catalog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
)

func maintenanceCalendar(rule string) catalog.Calendar {
	return catalog.Calendar{TimeZone: "UTC", Weekly: catalog.Weekly(catalog.Weekdays, "00:00", "24:00"),
		Maintenance: []catalog.Maintenance{{Name: "Patch", Rule: rule, Start: "02:00", End: "04:00", NoticeDays: 7}}}
}

// fields validates the calendar and returns the fields of its errors.
func fields(cal *catalog.Calendar) map[string]string {
	var v errs.Validator
	cal.Validate(&v, "calendar.")
	out := map[string]string{}
	if e := errs.As(v.Err("the calendar is not valid")); e != nil {
		for _, f := range e.Fields {
			out[f.Field] = f.Message
		}
	}
	return out
}

// Issue 15, finding 1: a maintenance rule finer than a day (FREQ=SECONDLY
// expanded past 3 GB in the compliance pass) is refused when the calendar
// is saved, on the rule's own field, with a message that names the limit.
func TestMaintenanceRuleFinerThanADayRefused(t *testing.T) {
	for _, rule := range []string{"FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=5", "FREQ=HOURLY", "FREQ=DAILY;BYHOUR=1,2,3",
		"FREQ=WEEKLY;BYMINUTE=0,30", "FREQ=MONTHLY;BYSECOND=1", strings.Repeat("FREQ=DAILY;", 100)} {
		cal := maintenanceCalendar(rule)
		msg, ok := fields(&cal)["calendar.maintenance[0].rule"]
		if !ok {
			t.Errorf("%.40s: accepted, want calendar.maintenance[0].rule refused (fields %v)", rule, fields(&cal))
			continue
		}
		if !strings.Contains(msg, "day") && !strings.Contains(msg, "characters") {
			t.Errorf("%.40s: message %q does not name the limit", rule, msg)
		}
	}
	for _, rule := range []string{"FREQ=MONTHLY;BYDAY=1SU", "FREQ=DAILY", "FREQ=WEEKLY;BYDAY=SA,SU", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=DAILY;UNTIL=20270101T000000Z"} {
		cal := maintenanceCalendar(rule)
		if got := fields(&cal); len(got) > 0 {
			t.Errorf("%s: refused %v", rule, got)
		}
	}
}

// A numbered BYDAY outside its frame (RFC 5545 §3.3.10: the nth weekday
// of a month is 1..5 or -1..-5, of a year 1..53; only MONTHLY and YEARLY
// take a number) is refused on the rule's field. CI's fuzzing found that
// FREQ=MONTHLY;BYDAY=8WE,FR crashed the rrule library when the December
// occurrences were built.
func TestMaintenanceNumberedDayInFrame(t *testing.T) {
	for _, rule := range []string{"FREQ=MONTHLY;BYDAY=8WE,FR", "FREQ=MONTHLY;BYDAY=6MO", "FREQ=MONTHLY;BYDAY=-6MO",
		"FREQ=YEARLY;BYMONTH=12;BYDAY=-53MO", "FREQ=YEARLY;BYDAY=54MO", "FREQ=WEEKLY;BYDAY=2MO", "FREQ=DAILY;BYDAY=1MO",
		"FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO"} {
		cal := maintenanceCalendar(rule)
		msg, ok := fields(&cal)["calendar.maintenance[0].rule"]
		if !ok {
			t.Errorf("%s: accepted, want calendar.maintenance[0].rule refused (fields %v)", rule, fields(&cal))
			continue
		}
		if !strings.Contains(msg, "BYDAY") {
			t.Errorf("%s: message %q does not name BYDAY", rule, msg)
		}
		if _, err := cal.Maintenance[0].Occurrences(time.UTC, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
			t.Errorf("%s: a stored rule expands", rule)
		}
	}
	for _, rule := range []string{"FREQ=MONTHLY;BYDAY=5FR", "FREQ=MONTHLY;BYDAY=-5FR", "FREQ=YEARLY;BYMONTH=12;BYDAY=-1MO",
		"FREQ=YEARLY;BYDAY=53MO", "FREQ=YEARLY;BYDAY=-53MO", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"} {
		cal := maintenanceCalendar(rule)
		if got := fields(&cal); len(got) > 0 {
			t.Errorf("%s: refused %v", rule, got)
		}
	}
}

// Issue 15, finding 1: expanding a rule stored before rules were checked
// is bounded: an error, not millions of occurrences. (The test cannot
// allocate much if it fails: Occurrences stops at its cap.)
func TestMaintenanceOccurrencesBounded(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	for _, rule := range []string{"FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=HOURLY", "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12"} {
		m := catalog.Maintenance{Rule: rule, Start: "02:00", End: "04:00"}
		occ, err := m.Occurrences(time.UTC, from, to)
		if err == nil || len(occ) != 0 {
			t.Errorf("%s: %d occurrences, err %v; want an error and none", rule, len(occ), err)
		}
	}
	m := catalog.Maintenance{Rule: "FREQ=DAILY", Start: "02:00", End: "04:00"}
	occ, err := m.Occurrences(time.UTC, from, to)
	if err != nil || len(occ) != 365 || len(occ) > catalog.MaxMaintenanceOccurrences {
		t.Errorf("daily over 2026: %d occurrences, err %v; want 365", len(occ), err)
	}
	m = catalog.Maintenance{Rule: "FREQ=MONTHLY;BYDAY=1SU", Start: "02:00", End: "04:00"}
	if occ, err = m.Occurrences(time.UTC, from, to); err != nil || len(occ) != 12 || !occ[0].Equal(time.Date(2026, 1, 4, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("first Sundays of 2026: %v, err %v", occ, err)
	}
}

// closed reports whether the calendar gives no hours on the date.
func closed(c *catalog.Calendar, date string) bool {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		panic(err)
	}
	return len(c.HoursOn(d.Date())) == 0
}

// docs/service-levels.md, "Service hours": holidays are "YYYY-MM-DD once,
// MM-DD every year, or a yearly rule naming the nth weekday of a month",
// and "closest_weekday moves a date on a weekend to the closest weekday (a
// Saturday's to the Friday before, a Sunday's to the Monday after)"
// (issue 16, service levels 5: the sample's holidays recur, not one-off
// dates that end after a year; one-off dates keep working).
func TestRecurringHolidays(t *testing.T) {
	cal := &catalog.Calendar{TimeZone: "America/Los_Angeles", Weekly: catalog.Weekly(catalog.Weekdays[:5], "08:00", "17:00"),
		Holidays: []catalog.Holiday{
			{Date: "2026-11-27", Name: "Day after Thanksgiving (this year only)"},
			{Date: "12-25", Name: "Christmas Day", ClosestWeekday: true},
			{Date: "07-04", Name: "Independence Day", ClosestWeekday: true},
			{Date: "01-01", Name: "New Year's Day", ClosestWeekday: true},
			{Date: "02-14", Name: "Valentine's Day"},
			{Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", Name: "Thanksgiving"},
			{Rule: "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO", Name: "Memorial Day"},
		}}
	if f := fields(cal); len(f) > 0 {
		t.Fatalf("refused: %v", f)
	}
	for date, want := range map[string]bool{
		"2026-11-27": true, "2027-11-26": false, // once
		"2026-12-25": true, "2027-12-24": true, "2027-12-27": false, "2030-12-25": true, // Christmas: 2027's Saturday on Friday the 24th
		"2026-07-03": true, "2027-07-05": true, "2028-07-04": true, "2028-07-03": false, // Saturday → Friday, Sunday → Monday
		"2021-12-31": true, "2027-01-01": true, // 1 January 2022 is a Saturday: observed on Friday 31 December 2021
		"2027-02-15": false, "2029-02-14": true, // every year, as it falls (no closest_weekday)
		"2026-11-26": true, "2027-11-25": true, "2028-11-23": true, "2028-11-30": false, // the fourth Thursday of November
		"2026-05-25": true, "2027-05-31": true, "2027-05-24": false, // the last Monday of May
		"2026-11-25": false, "2026-12-28": false,
	} {
		if got := closed(cal, date); got != want {
			t.Errorf("%s: closed %v, want %v", date, got, want)
		}
	}
	for i, want := range []string{"27 November 2026", "25 December every year", "4 July every year", "1 January every year", "14 February every year",
		"the fourth Thursday of November every year", "the last Monday of May every year"} {
		if got := cal.Holidays[i].Describe(); got != want {
			t.Errorf("holiday %d: %q, want %q", i+1, got, want)
		}
	}
	for _, h := range []catalog.Holiday{{Date: "13-01"}, {Date: "2026-02-30"}, {Rule: "FREQ=MONTHLY;BYDAY=1MO"}, {Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=TH"},
		{Rule: "FREQ=YEARLY;BYMONTH=13;BYDAY=1MO"}, {Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=6TH"}, {Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;BYHOUR=1"},
		{Date: "11-26", Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"}, {}} {
		c := &catalog.Calendar{TimeZone: "UTC", Holidays: []catalog.Holiday{h}}
		if msg := fields(c)["calendar.holidays"]; !strings.Contains(msg, "MM-DD") && !strings.Contains(msg, "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH") {
			t.Errorf("%+v: message %q, want it refused naming the forms", h, msg)
		}
	}
}

// docs/service-levels.md, "Service hours": a season with closest_weekday
// runs from the weekday closest to its first date to the weekday closest
// to its last: the sample SLA's "tax season (closest weekdays around April
// 7-21)" (issue 16, service levels 5).
func TestSeasonOnClosestWeekdays(t *testing.T) {
	tax := catalog.Season{Name: "Tax season", From: "04-07", To: "04-21", ClosestWeekday: true,
		Weekly: catalog.Weekly(catalog.Weekdays[:6], "07:00", "19:00")}
	cal := &catalog.Calendar{TimeZone: "America/Los_Angeles", Weekly: catalog.Weekly(catalog.Weekdays[:5], "08:00", "17:00"), Seasons: []catalog.Season{tax}}
	if f := fields(cal); len(f) > 0 {
		t.Fatalf("refused: %v", f)
	}
	extended := func(date string) bool {
		d, _ := time.Parse("2006-01-02", date)
		hs := cal.HoursOn(d.Date())
		return len(hs) == 1 && hs[0].Start == 7*60
	}
	for date, want := range map[string]bool{
		"2026-04-06": false, "2026-04-07": true, "2026-04-21": true, "2026-04-22": false, // Tuesdays: as written
		"2029-04-05": false, "2029-04-06": true, "2029-04-20": true, "2029-04-21": false, // Saturdays: from and to the Friday before
		"2030-04-05": false, "2030-04-08": true, "2030-04-22": true, "2030-04-23": false, // Sundays: from and to the Monday after
	} {
		if got := extended(date); got != want {
			t.Errorf("%s: tax season hours %v, want %v", date, got, want)
		}
	}
	// Over the new year (1 January 2022 is a Saturday: the season starts on
	// Friday 31 December 2021), and once.
	cal.Seasons = []catalog.Season{{Name: "New year", From: "01-01", To: "01-04", ClosestWeekday: true, Weekly: tax.Weekly}}
	for date, want := range map[string]bool{"2021-12-30": false, "2021-12-31": true, "2022-01-04": true, "2022-01-05": false, "2026-12-31": false, "2027-01-01": true} {
		if got := extended(date); got != want {
			t.Errorf("year end %s: %v, want %v", date, got, want)
		}
	}
	cal.Seasons = []catalog.Season{{Name: "Audit", From: "2029-04-07", To: "2029-04-09", ClosestWeekday: true, Weekly: tax.Weekly}}
	for date, want := range map[string]bool{"2029-04-06": true, "2029-04-09": true, "2030-04-08": false} {
		if got := extended(date); got != want {
			t.Errorf("audit %s: %v, want %v", date, got, want)
		}
	}
}

// TestSubstituteHolidays: England's rule for bank holidays ("when a bank
// holiday falls on a weekend, a 'substitute' weekday becomes a bank
// holiday, normally the following Monday"): a weekend date with Substitute
// is observed on the next weekday that is not already a holiday, so
// Christmas on a Saturday moves to Monday and Boxing Day on the Sunday to
// Tuesday (docs/service-levels.md, "Calendars"; issue 16, service levels 5:
// recurring holidays). A rule on a weekend day moves the same way, and
// ClosestWeekday moves a rule's date too.
func TestSubstituteHolidays(t *testing.T) {
	cal := &catalog.Calendar{TimeZone: "Europe/London", Weekly: catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00"),
		Holidays: []catalog.Holiday{
			{Date: "12-26", Name: "Boxing Day", Substitute: true}, // listed first: the order of the list does not matter
			{Date: "12-25", Name: "Christmas Day", Substitute: true},
			{Date: "01-01", Name: "New Year's Day", Substitute: true},
			{Rule: "FREQ=YEARLY;BYMONTH=6;BYDAY=1SA", Name: "Staff day", Substitute: true},
			{Rule: "FREQ=YEARLY;BYMONTH=9;BYDAY=1SU", Name: "Open day", ClosestWeekday: true},
		}}
	if f := fields(cal); len(f) > 0 {
		t.Fatalf("refused: %v", f)
	}
	for date, want := range map[string]bool{
		"2026-12-25": true, "2026-12-28": true, "2026-12-29": false, // Fri 25, Sat 26 → Mon 28
		"2027-12-27": true, "2027-12-28": true, "2027-12-24": false, "2027-12-29": false, // Sat 25 → Mon 27, Sun 26 → Tue 28
		"2028-01-03": true, "2027-12-31": false, // Sat 1 January 2028 → Mon 3
		"2021-12-27": true, "2021-12-28": true, // Sat 25, Sun 26 December 2021
		"2026-06-08": true, "2026-06-05": false, // the first Saturday of June 2026 (the 6th) → Mon 8
		"2026-09-07": true, // the first Sunday of September 2026 (the 6th), closest weekday → Mon 7
	} {
		if got := closed(cal, date); got != want {
			t.Errorf("%s: closed %v, want %v", date, got, want)
		}
	}
	both := &catalog.Calendar{TimeZone: "UTC", Holidays: []catalog.Holiday{{Date: "12-25", Name: "Christmas", ClosestWeekday: true, Substitute: true}}}
	if msg := fields(both)["calendar.holidays"]; !strings.Contains(msg, "closest_weekday or substitute") {
		t.Errorf("both moves: %q, want it refused", msg)
	}
}
