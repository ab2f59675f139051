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
