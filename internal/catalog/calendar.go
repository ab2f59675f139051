package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
)

// Calendar is a service's hours: when it is provided and supported, in its
// own time zone. Weekly hours repeat every week; holidays are whole local
// days without service. The service-level work extends it with seasonal hours
// and maintenance windows.
type Calendar struct {
	TimeZone string    `json:"time_zone" yaml:"time_zone"`
	Weekly   []Hours   `json:"weekly" yaml:"weekly"`
	Holidays []Holiday `json:"holidays" yaml:"holidays,omitempty"`
}

// Hours is one stretch of service on a weekday, in local time: Start from
// "00:00" to "23:59", End after Start up to "24:00".
type Hours struct {
	Day   string `json:"day" yaml:"day"` // monday … sunday
	Start string `json:"start" yaml:"start"`
	End   string `json:"end" yaml:"end"`
}

// Holiday is a local date without service.
type Holiday struct {
	Date string `json:"date" yaml:"date"` // YYYY-MM-DD
	Name string `json:"name" yaml:"name"`
}

// Weekdays in the calendar's order.
var Weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func minutes(hhmm string) (int, bool) {
	var h, m int
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(hhmm, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

func (c *Calendar) validate(v *errs.Validator) {
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.Weekly == nil {
		c.Weekly = []Hours{}
	}
	if c.Holidays == nil {
		c.Holidays = []Holiday{}
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		v.Add("calendar.time_zone", "zone", "time_zone must be an IANA time zone such as Europe/London or America/New_York")
	}
	for i, h := range c.Weekly {
		h.Day = strings.ToLower(strings.TrimSpace(h.Day))
		c.Weekly[i].Day = h.Day
		start, ok1 := minutes(h.Start)
		end, ok2 := minutes(h.End)
		v.Check(slices.Contains(Weekdays, h.Day), "calendar.weekly", "day", fmt.Sprintf("weekly entry %d: day must be monday … sunday", i+1))
		v.Check(ok1 && ok2 && start < end && start < 24*60, "calendar.weekly", "hours",
			fmt.Sprintf("weekly entry %d: start and end are HH:MM with start before end (end may be 24:00)", i+1))
	}
	for i, h := range c.Holidays {
		_, err := time.Parse("2006-01-02", h.Date)
		v.Check(err == nil, "calendar.holidays", "date", fmt.Sprintf("holiday %d: date must be YYYY-MM-DD", i+1))
	}
}

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
	date := local.Format("2006-01-02")
	for _, h := range c.Holidays {
		if h.Date == date {
			return false
		}
	}
	day := strings.ToLower(local.Weekday().String())
	m := local.Hour()*60 + local.Minute()
	for _, h := range c.Weekly {
		start, _ := minutes(h.Start)
		end, _ := minutes(h.End)
		if h.Day == day && m >= start && m < end {
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
