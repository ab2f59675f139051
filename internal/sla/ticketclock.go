package sla

import (
	"context"
	"slices"
	"time"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TicketTargets are the response and resolution times a ticket is held
// to: the strictest of the response and resolution targets of the active
// SLAs that cover its service and its org unit (a target of its priority,
// or of every priority), in the service hours of the agreement that sets
// each. A ticket no SLA covers has no due times; its clocks run in the
// service's own calendar, or around the clock.
type TicketTargets struct {
	Respond, Resolve *ClockTarget
	// Calendar is the service hours the ticket's clocks run in: the
	// resolution target's, else the response target's, else the service's.
	Calendar *catalog.Calendar
}

// ClockTarget is one target a ticket's clock is measured against.
type ClockTarget struct {
	Minutes   int
	Calendar  *catalog.Calendar
	Agreement Ref
	Target    string // the target's code
}

// ForTicket finds the targets a ticket of the priority on the service,
// raised for the org unit at path (empty: none), is held to at `at`.
// serviceCal is the service's own calendar (nil: none).
func ForTicket(ctx context.Context, q sqldb.Querier, serviceID, orgUnitPath string, priority int, serviceCal *catalog.Calendar, at time.Time) (*TicketTargets, error) {
	as, err := sqldb.QueryAll(ctx, q, "agreements", scanAgreement, `SELECT `+agreementColumns+` FROM agreements
		WHERE state = 'active' AND kind = 'sla' AND id IN (SELECT agreement_id FROM agreement_scope WHERE kind = 'service' AND ref_id = $1) ORDER BY code`, serviceID)
	if err != nil {
		return nil, err
	}
	out := &TicketTargets{}
	for _, a := range as {
		if a.EffectiveFrom.After(at) || (a.EffectiveTo != nil && !a.EffectiveTo.After(at)) {
			continue
		}
		if len(a.Scope.OrgUnits) > 0 && !slices.ContainsFunc(a.Scope.OrgUnits, func(r Ref) bool {
			return orgUnitPath != "" && r.path != "" && len(orgUnitPath) >= len(r.path) && orgUnitPath[:len(r.path)] == r.path
		}) {
			continue
		}
		for i := range a.Targets {
			t := &a.Targets[i]
			if (t.Kind != Response && t.Kind != Resolution) || (t.Priority != 0 && t.Priority != priority) || t.WithinMinutes <= 0 {
				continue
			}
			ct := &ClockTarget{Minutes: t.WithinMinutes, Calendar: &a.Calendar, Agreement: Ref{ID: a.ID, Code: a.Code, Name: a.Name}, Target: t.Code}
			slot := &out.Respond
			if t.Kind == Resolution {
				slot = &out.Resolve
			}
			if *slot == nil || ct.Minutes < (*slot).Minutes {
				*slot = ct
			}
		}
	}
	switch {
	case out.Resolve != nil:
		out.Calendar = out.Resolve.Calendar
	case out.Respond != nil:
		out.Calendar = out.Respond.Calendar
	default:
		out.Calendar = serviceCal
	}
	return out, nil
}

// around is the calendar of a clock with no service hours: every hour of
// every day, in UTC.
var around = &catalog.Calendar{TimeZone: "UTC", Weekly: catalog.Weekly(catalog.Weekdays, "00:00", "24:00")}

func calendarOr(cal *catalog.Calendar) *catalog.Calendar {
	if cal == nil {
		return around
	}
	return cal
}

// Elapsed is the service time in cal between from and to, less the spans
// the clock was held: what a ticket's clock shows.
func Elapsed(cal *catalog.Calendar, from, to time.Time, held []Span) time.Duration {
	if !to.After(from) {
		return 0
	}
	cal = calendarOr(cal)
	f, t := Micros(from), Micros(to)
	hours := serviceTime(cal, f, t)
	used := hours.Len()
	if len(held) > 0 {
		used -= hours.Intersect(normal(slices.Clone(held))).Len()
	}
	return time.Duration(used) * time.Microsecond
}

// dueHorizon bounds the search for a due time: a target that service
// hours cannot meet within it (a calendar with almost no hours) has none.
const dueHorizon = 400 * 24 * time.Hour

// Due is when a clock started at from, held for the spans, will have run
// for minutes of service time in cal; false when not within 400 days.
// Holds still running (End at or past the far future) hold the due time
// back indefinitely: none.
func Due(cal *catalog.Calendar, from time.Time, minutes int, held []Span) (time.Time, bool) {
	cal = calendarOr(cal)
	need := int64(minutes) * minute
	hs := normal(slices.Clone(held))
	start := Micros(from)
	for _, h := range hs {
		if h.End >= ongoing && h.Start <= start {
			return time.Time{}, false
		}
	}
	step := int64(7 * 24 * time.Hour / time.Microsecond)
	end := start + int64(dueHorizon/time.Microsecond)
	for lo := start; lo < end && need > 0; lo += step {
		hi := min(lo+step, end)
		avail := serviceTime(cal, lo, hi)
		if len(hs) > 0 {
			avail = avail.Minus(hs)
		}
		if l := avail.Len(); l < need {
			need -= l
			continue
		}
		for _, s := range avail {
			if s.Len() >= need {
				return Time(s.Start + need), true
			}
			need -= s.Len()
		}
	}
	if need <= 0 {
		return from, true
	}
	return time.Time{}, false
}

// Ongoing is the end of a span that has not ended (a hold still running).
const Ongoing = ongoing

// MaintenanceCalendars lists the calendars with maintenance windows of the
// active agreements (SLAs, OLAs and UCs) that cover the service: where a
// change to it may be made without hurting a target (the change calendar).
func MaintenanceCalendars(ctx context.Context, q sqldb.Querier, serviceID string) ([]*catalog.Calendar, error) {
	as, err := sqldb.QueryAll(ctx, q, "agreements", scanAgreement, `SELECT `+agreementColumns+` FROM agreements
		WHERE state = 'active' AND id IN (SELECT agreement_id FROM agreement_scope WHERE kind = 'service' AND ref_id = $1) ORDER BY code`, serviceID)
	if err != nil {
		return nil, err
	}
	var out []*catalog.Calendar
	for _, a := range as {
		if len(a.Calendar.Maintenance) > 0 {
			out = append(out, &a.Calendar)
		}
	}
	return out, nil
}
