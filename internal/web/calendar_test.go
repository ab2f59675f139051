package web

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/catalog"
)

// TestCalendarLinesRoundTrip: what the calendar editor writes it reads
// back the same, for every kind of holiday of docs/service-levels.md,
// "Service hours" (a date once or every year, a yearly nth-weekday rule,
// closest_weekday) and for seasons' weekly hours (issue 16, service
// levels 5, follow-up: the service form lost rule holidays and the
// closest-weekday flags).
func TestCalendarLinesRoundTrip(t *testing.T) {
	holidays := []catalog.Holiday{
		{Date: "2026-12-28", Name: "Boxing Day (substitute)"},
		{Date: "2027-07-04", Name: "Independence Day", ClosestWeekday: true},
		{Date: "01-01", Name: "New Year's Day"},
		{Date: "12-25", Name: "Christmas Day", ClosestWeekday: true},
		{Rule: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", Name: "Thanksgiving Day"},
		{Rule: "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO", Name: "Memorial Day", ClosestWeekday: true},
		{Date: "12-26", Name: "Boxing Day", Substitute: true},
	}
	for _, h := range holidays {
		if got := parseHoliday(holidayLine(h)); got != h {
			t.Errorf("holiday %+v comes back as %+v (line %q)", h, got, holidayLine(h))
		}
	}
	for _, tc := range []struct {
		hours []catalog.Hours
		line  string
	}{
		{append(catalog.Weekly(catalog.Weekdays[:2], "07:00", "19:00"), catalog.Hours{Day: "saturday", Start: "09:00", End: "14:00"}),
			"monday 07:00-19:00, tuesday 07:00-19:00, saturday 09:00-14:00"},
		{[]catalog.Hours{{Day: "monday", Start: "08:00", End: "12:00"}, {Day: "monday", Start: "13:00", End: "24:00"}},
			"monday 08:00-12:00, monday 13:00-24:00"},
		{nil, ""},
	} {
		line := formatHours(tc.hours)
		if line != tc.line {
			t.Errorf("formatHours(%v) = %q, want %q", tc.hours, line, tc.line)
		}
		if diff := cmp.Diff(tc.hours, parseHours(line)); diff != "" {
			t.Errorf("%q read back (-written +read):\n%s", line, diff)
		}
	}
}
