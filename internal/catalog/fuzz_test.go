package catalog_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzMaintenanceRule: issue 15, finding 1 and the fuzzing defence. Any
// rule is refused with a field error or accepted; an accepted rule
// expands over a year to at most MaxMaintenanceOccurrences; and expanding
// any rule, accepted or not, ends in an error or at most one occurrence a
// day: never millions.
func FuzzMaintenanceRule(f *testing.F) {
	for _, s := range []string{"FREQ=MONTHLY;BYDAY=1SU", "FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=1", "FREQ=HOURLY;BYHOUR=1", "FREQ=DAILY",
		"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO", "FREQ=YEARLY;BYYEARDAY=-1,1,100",
		"FREQ=DAILY;COUNT=3", "FREQ=DAILY;UNTIL=20270101T000000Z", "FREQ=DAILY;INTERVAL=2000000000", "FREQ=YEARLY;BYEASTER=0",
		"DTSTART=20260101T000000Z;FREQ=DAILY", "FREQ=DAILY;WKST=SU;BYDAY=+5FR", "", ";;;", "FREQ=MONTHLY;BYMONTHDAY=-31"} {
		f.Add(s)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	f.Fuzz(func(t *testing.T, rule string) {
		defer fuzztest.Bound(t)()
		cal := catalog.Calendar{TimeZone: "Europe/London", Weekly: catalog.Weekly(catalog.Weekdays, "00:00", "24:00"),
			Maintenance: []catalog.Maintenance{{Name: "m", Rule: rule, Start: "02:00", End: "04:00"}}}
		var v errs.Validator
		cal.Validate(&v, "calendar.")
		err := v.Err("the calendar is not valid")
		if e := errs.As(err); err != nil && (e == nil || e.Code != errs.CodeInvalid || len(e.Fields) == 0) {
			t.Fatalf("%q: %v is not an invalid error with fields", rule, err)
		}
		m := cal.Maintenance[0]
		occ, oerr := m.Occurrences(cal.Location(), from, to)
		if len(occ) > catalog.MaxMaintenanceOccurrences {
			t.Fatalf("%q: %d occurrences in a year", rule, len(occ))
		}
		if err == nil && oerr != nil {
			t.Fatalf("%q: accepted, but expanding it fails: %v", rule, oerr)
		}
		if err == nil && cal.CheckMaintenance() != nil {
			t.Fatalf("%q: accepted when saved, refused by the pass", rule)
		}
	})
}

// FuzzHolidays: the fuzzing defence for holiday dates and yearly rules
// (issue 16, service levels 5). Any holiday is refused with a field error
// or accepted; service hours of any calendar, accepted or not, are
// computed for every day of a year without a panic or an endless move
// (substitute days move forward past weekends and other holidays only);
// and an accepted holiday closes at least one day in 29 years, a whole
// cycle of weekdays and leap years (a holiday that never falls would be a
// silent mistake; the fifth Saturday of February falls once in 28 years).
func FuzzHolidays(f *testing.F) {
	for _, h := range []struct {
		date, rule        string
		closest, substitu bool
	}{{"12-25", "", false, true}, {"12-26", "", false, true}, {"2026-11-27", "", false, false}, {"02-29", "", true, false},
		{"", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", false, false}, {"", "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO", true, false},
		{"", "FREQ=YEARLY;BYMONTH=6;BYDAY=1SA", false, true}, {"", "FREQ=YEARLY;BYMONTH=2;BYDAY=5SU", false, true}, {"13-01", "", false, false},
		{"", "FREQ=YEARLY;BYMONTH=11;BYDAY=-6TH", false, false}, {"", "FREQ=YEARLY;BYMONTH=2;BYDAY=5SA", false, false}, {"12-25", "FREQ=YEARLY;BYMONTH=12;BYDAY=1MO", true, true}, {"", "", false, false},
		{" 12-25 ", "", false, false}, {"0001-01-01", "", false, false}, {"2199-12-31", "", false, true}, {"", " freq=yearly;bymonth=1;byday=1mo", false, false}} {
		f.Add(h.date, h.rule, h.closest, h.substitu)
	}
	f.Fuzz(func(t *testing.T, date, rule string, closest, substitute bool) {
		defer fuzztest.Bound(t)()
		hs := []catalog.Holiday{{Date: date, Rule: rule, ClosestWeekday: closest, Substitute: substitute, Name: "h"}}
		// Beside England's Christmas, so substitutes have others to pass.
		cal := catalog.Calendar{TimeZone: "Europe/London", Weekly: catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00"),
			Holidays: append(hs, catalog.Holiday{Date: "12-25", Name: "Christmas", Substitute: true}, catalog.Holiday{Date: "12-26", Name: "Boxing Day", Substitute: true})}
		var v errs.Validator
		cal.Validate(&v, "calendar.")
		err := v.Err("the calendar is not valid")
		if e := errs.As(err); err != nil && (e == nil || e.Code != errs.CodeInvalid || len(e.Fields) == 0) {
			t.Fatalf("%q %q: %v is not an invalid error with fields", date, rule, err)
		}
		closedDays := 0
		for d := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2034; d = d.AddDate(0, 0, 1) {
			if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && len(cal.HoursOn(d.Date())) == 0 {
				closedDays++
			}
		}
		if closedDays < 16 { // Christmas and Boxing Day close two weekdays a year, whatever else the calendar holds
			t.Fatalf("%q %q: %d weekdays closed in eight years, want at least 16", date, rule, closedDays)
		}
		if err != nil {
			return
		}
		// The holiday as Validate left it (trimmed, upper case), alone.
		h := cal.Holidays[0]
		alone := catalog.Calendar{TimeZone: "UTC", Weekly: catalog.Weekly(catalog.Weekdays, "00:00", "24:00"), Holidays: []catalog.Holiday{h}}
		from, to := 2024, 2053
		if len(h.Date) == 10 { // once: in its own year (or the next day's, from 31 December on a weekend)
			y, _ := strconv.Atoi(h.Date[:4])
			if y < catalog.MinHolidayYear || y > catalog.MaxHolidayYear {
				t.Fatalf("%+v: accepted a holiday in %d, outside %d to %d", h, y, catalog.MinHolidayYear, catalog.MaxHolidayYear)
			}
			from, to = y, y+2
		}
		n := 0
		for d := time.Date(from, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() < to && n == 0; d = d.AddDate(0, 0, 1) {
			if len(alone.HoursOn(d.Date())) == 0 {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("%+v: accepted, but closes no day from %d to %d", h, from, to-1)
		}
	})
}

// FuzzOrderForm: the fuzzing defence for order parameters against the
// offering's JSON Schema. Compiling any schema ends in a form or an
// invalid error on form_schema, within MaxFormFields; validating any
// parameters against a compiled form ends in clean parameters or an
// invalid error naming parameters.<name> fields.
func FuzzOrderForm(f *testing.F) {
	schemas := []string{catalog.EmptyForm,
		`{"type":"object","required":["size"],"properties":{"size":{"type":"integer","minimum":1,"maximum":64,"default":4},` +
			`"site":{"type":"string","enum":["Seattle store","Portland store"]},"host":{"type":"string","pattern":"^[a-z][a-z0-9-]{0,62}$","maxLength":63},` +
			`"ssd":{"type":"boolean"},"ratio":{"type":"number","minimum":0.5}}}`,
		`{"type":"object","properties":{"x":{"type":"string","pattern":"((a{1000}){1000}){1000}"}}}`,
		`{"type":"object","properties":{"x":{"type":"string","pattern":"(a+)+$"}}}`,
		`{"type":"object","properties":{"x":{"type":"number","minimum":1e1000000}}}`,
		`{"type":"object","properties":{"x":{"type":"string","default":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}}}`,
		`{"type":"object","$schema":"http://example.com/remote","properties":{}}`,
		`{"type":"object","properties":{"x":{"$ref":"http://example.com/x"}}}`,
		`{"type":"array"}`, `[]`, `null`, `{`}
	params := []string{`{}`, `{"size":8,"site":"Seattle store","host":"web-1","ssd":true,"ratio":0.75}`, `{"size":"eight"}`, `{"size":1e400}`,
		`{"host":"` + strings.Repeat("a", 5000) + `!"}`, `{"unknown":1}`, `{"x":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}`, `null`, `{"x":[1,{"a":{}}]}`}
	for _, s := range schemas {
		for _, p := range params {
			f.Add([]byte(s), []byte(p))
		}
	}
	f.Fuzz(func(t *testing.T, schema, raw []byte) {
		defer fuzztest.Bound(t)()
		form, err := catalog.ParseForm(schema)
		if err != nil {
			e := errs.As(err)
			if e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "form_schema" {
				t.Fatalf("schema %q: %v is not an invalid error on form_schema", schema, err)
			}
			return
		}
		if len(form.Fields) > catalog.MaxFormFields {
			t.Fatalf("%d fields", len(form.Fields))
		}
		var params map[string]any
		if json.Unmarshal(raw, &params) != nil {
			return
		}
		clean, err := form.Validate(params)
		if err == nil {
			if clean == nil {
				t.Fatal("valid parameters came back nil")
			}
			return
		}
		e := errs.As(err)
		if e == nil || e.Code != errs.CodeInvalid || len(e.Fields) == 0 {
			t.Fatalf("schema %q, parameters %q: %v is not an invalid error with fields", schema, raw, err)
		}
		for _, fe := range e.Fields {
			if !strings.HasPrefix(fe.Field, "parameters.") {
				t.Fatalf("field %q does not name a parameter", fe.Field)
			}
		}
	})
}
