package sla

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Review is the service review report of an agreement for a period: each
// target measured over the period and over each of its own windows in it,
// the outages and incidents behind the figures, the breaches of windows in
// it, and the rebates credited in it.
type Review struct {
	Agreement   *Agreement     `json:"agreement"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	GeneratedAt time.Time      `json:"generated_at"`
	Targets     []ReviewTarget `json:"targets"`
	Outages     []ReviewOutage `json:"outages"`
	Incidents   []*Incident    `json:"incidents"`
	Breaches    []*Breach      `json:"breaches"`
	// Credited are the rebates credited (or claimed) in the period, each
	// once: a breach whose window spans several periods counts in the one
	// its rebate was credited in.
	Credited []ReviewRebate `json:"credited"`
	Rebates  string         `json:"rebates"` // total credited or claimed in the period
}

// ReviewTarget is a target measured over the review period (Result) and
// over each of its own windows in the period (Windows): the calendar
// months, quarters or years in the agreement's zone that overlap it, or
// for a rolling window the window ending at each local month end in the
// period (and now, while the period runs).
type ReviewTarget struct {
	Target      Target   `json:"target"`
	Description string   `json:"description"`
	Result      Result   `json:"result"`
	Windows     []Result `json:"windows"`
}

// ReviewRebate is a rebate credited to the customer (a share of a breach's
// credit, per org unit and invoice) or claimed from the supplier, when it
// was.
type ReviewRebate struct {
	Breach      string    `json:"breach"` // its ID
	Target      string    `json:"target"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Kind        string    `json:"kind"` // credit, claim
	At          time.Time `json:"at"`
	Amount      string    `json:"amount"`
	amountMinor int64
}

// ReviewOutage is an outage that touched the agreement's services in the
// period, directly or through what they stand on.
type ReviewOutage struct {
	*Outage
	Via string `json:"via,omitempty"` // the name of the service or CI it was recorded on, when not a service in scope
}

// ReviewPeriod is the period a review covers, as people give it: From and
// To are months ("2026-11": the agreement's calendar month, from local
// midnight on the 1st in its time zone) or RFC 3339 instants; the period
// runs from From up to the start of To. Both empty is the six months to
// the end of the current local month.
type ReviewPeriod struct {
	From string
	To   string
}

// MaxReviewMonths is the longest review period, in months.
const MaxReviewMonths = 36

// bounds turns the period into instants in loc, checking each field.
func (rp ReviewPeriod) bounds(loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	var v errs.Validator
	read := func(name, s string) time.Time {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
		t, err := time.ParseInLocation("2006-01", s, loc)
		v.Check(err == nil, name, "format", name+" is a month such as 2026-11 (the agreement's calendar month) or an RFC 3339 time")
		return t
	}
	if rp.From == "" && rp.To == "" {
		l := now.In(loc)
		to := time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc)
		return time.Date(l.Year(), l.Month()-5, 1, 0, 0, 0, 0, loc), to, nil
	}
	v.Check(rp.From != "", "from", "required", "from is required with to")
	v.Check(rp.To != "", "to", "required", "to is required with from")
	var from, to time.Time
	if rp.From != "" {
		from = read("from", rp.From)
	}
	if rp.To != "" {
		to = read("to", rp.To)
	}
	if err := v.Err("the review period is not valid"); err != nil {
		return from, to, err
	}
	v.Check(to.After(from), "to", "order", "the review period must end after it starts: to is the month (or instant) it ends at, after from")
	v.Check(!to.After(addMonths(from.In(loc), MaxReviewMonths)), "to", "max", fmt.Sprintf("a review period spans at most %d months", MaxReviewMonths))
	return from, to, v.Err("the review period is not valid")
}

// Review reports on the agreement over the period, in the agreement's
// time zone. Callers need agreement.read on it; returns not_found as
// Agreement does, and invalid (naming from or to) for a period that is
// not one.
func (s *Service) Review(ctx context.Context, p *access.Principal, ref string, period ReviewPeriod) (*Review, error) {
	a, err := s.Agreement(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	now := s.now()
	loc := a.Calendar.Location()
	from, to, err := period.bounds(loc, now)
	if err != nil {
		return nil, err
	}
	horizon := from
	for i := range a.Targets {
		for _, w := range reviewWindows(&a.Targets[i], loc, from, to, now) {
			horizon = minTime(horizon, w[0])
		}
	}
	w, err := s.loadWorld(ctx, s.db.Read(), horizon, now)
	if err != nil {
		return nil, err
	}
	r := &Review{Agreement: a, From: from.UTC(), To: to.UTC(), GeneratedAt: now.UTC(), Targets: []ReviewTarget{}, Outages: []ReviewOutage{}}
	in := s.inputs(a, w)
	for i := range a.Targets {
		t := &a.Targets[i]
		if err := s.inputsFor(ctx, a, t, in, horizon, now); err != nil {
			return nil, err
		}
		if t.Kind == Meter {
			in.Metered = s.meterTotal(ctx, a, t, from, minTime(to, now))
		}
		// The period is the window here: a one-off, not the target's own.
		once := *t
		once.Window = Window{Kind: Month}
		rt := ReviewTarget{Target: *t, Description: t.Describe(), Result: Measure(&once, in, from, to, now), Windows: []Result{}}
		for _, win := range reviewWindows(t, loc, from, to, now) {
			if t.Kind == Meter {
				in.Metered = s.meterTotal(ctx, a, t, win[0], minTime(win[1], now))
			}
			rt.Windows = append(rt.Windows, Measure(t, in, win[0], win[1], now))
		}
		r.Targets = append(r.Targets, rt)
	}
	if err := s.reviewEvents(ctx, a, r, from, to); err != nil {
		return nil, err
	}
	// The service desk's incidents are people's tickets: their words are
	// for those who may read them (ticket.read on the ticket's org unit or
	// service); the others see the incident's number and times only.
	for _, inc := range r.Incidents {
		if inc.raised && !p.Can(access.TicketRead, access.Resource{OrgUnitPath: inc.orgUnitPath, ServiceID: inc.Service.ID}) {
			inc.Summary = "(a ticket of the service desk)"
		}
	}
	r.Breaches, err = sqldb.QueryAll(ctx, s.db.Read(), "sla breaches", scanBreach, `SELECT `+breachColumns+` FROM sla_breaches b JOIN agreements a ON a.id = b.agreement_id
		WHERE b.agreement_id = $1 AND b.state <> 'withdrawn' AND b.window_start < $2 AND b.window_end > $3 ORDER BY b.window_start`, a.ID, sqldb.Time(to), sqldb.Time(from))
	if err != nil {
		return nil, err
	}
	for _, b := range r.Breaches {
		if err := s.fillBreach(ctx, a, b); err != nil {
			return nil, err
		}
	}
	if r.Credited, err = s.credited(ctx, a, from, to); err != nil {
		return nil, err
	}
	var total int64
	for _, c := range r.Credited {
		total += c.amountMinor
	}
	r.Rebates = money.New(total, a.Currency).Decimal()
	return r, nil
}

// reviewWindows are the target's own windows that a review of [from, to)
// shows: each calendar window overlapping the period that has begun by
// now, or for a rolling window the one ending at each local month end in
// the period that has come, and the one ending now while the period runs.
// They are the reporting points the compliance pass assesses too.
func reviewWindows(t *Target, loc *time.Location, from, to, now time.Time) [][2]time.Time {
	var out [][2]time.Time
	if !t.Window.Rolling() {
		for ws, we := t.Window.Bounds(from, loc); ws.Before(to) && ws.Before(now); ws, we = t.Window.Bounds(we, loc) {
			out = append(out, [2]time.Time{ws, we})
		}
		return out
	}
	for _, end := range monthEnds(loc, from, minTime(to, now)) {
		s, e := t.Window.Bounds(end, loc)
		out = append(out, [2]time.Time{s, e})
	}
	if now.After(from) && now.Before(to) {
		if l := now.In(loc); l.Day() != 1 || l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 || l.Nanosecond() != 0 {
			s, e := t.Window.Bounds(now, loc)
			out = append(out, [2]time.Time{s, e})
		}
	}
	return out
}

// monthEnds are the local month ends (midnight on the 1st in loc) in
// (from, to].
func monthEnds(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	l := from.In(loc)
	for m := time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc); !m.After(to); m = time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, loc) {
		out = append(out, m)
	}
	return out
}

// reviewEvents fills the outages and incidents behind a review's figures:
// outages on the services in scope and on what they stand on, incidents
// of the services in scope.
func (s *Service) reviewEvents(ctx context.Context, a *Agreement, r *Review, from, to time.Time) error {
	m, err := s.cat.ServiceMap(ctx, access.System())
	if err != nil {
		return err
	}
	nodes := map[string]string{}
	for _, svc := range a.Scope.Services {
		key := "service:" + svc.ID
		nodes[key] = ""
		for _, d := range m.Supports(key) {
			nodes[d.To.Key()] = d.To.Name
		}
	}
	outs, err := sqldb.QueryAll(ctx, s.db.Read(), "outages", scanOutage, `SELECT `+outageColumns+outageFrom+`
		WHERE (o.ended_at IS NULL OR o.ended_at > $1) AND o.started_at < $2 ORDER BY o.started_at`, sqldb.Time(from), sqldb.Time(to))
	if err != nil {
		return err
	}
	for _, o := range outs {
		if via, ok := nodes[o.node()]; ok {
			r.Outages = append(r.Outages, ReviewOutage{Outage: o, Via: via})
		}
	}
	r.Incidents = []*Incident{}
	incidents, err := sqldb.QueryAll(ctx, s.db.Read(), "incidents", scanIncident, `SELECT `+incidentColumns+incidentFrom+`
		AND i.opened_at >= $1 AND i.opened_at < $2 ORDER BY i.opened_at`, sqldb.Time(from), sqldb.Time(to))
	if err != nil {
		return err
	}
	for _, i := range incidents {
		if i.inScope(a) {
			r.Incidents = append(r.Incidents, i)
		}
	}
	return nil
}

// credited lists the rebates of the agreement's breaches credited in
// [from, to): for an SLA the customer's credits (billing_credits, each
// when it was raised: a breach that grows after its credit was invoiced
// raises the difference later), for a UC each breach's claim when the
// breach was opened. Each rebate is in exactly one period.
func (s *Service) credited(ctx context.Context, a *Agreement, from, to time.Time) ([]ReviewRebate, error) {
	scan := func(row sqldb.Scanner) (ReviewRebate, error) {
		var c ReviewRebate
		err := row.Scan(&c.Breach, &c.Target, &c.WindowStart, &c.WindowEnd, &c.Kind, &c.At, &c.amountMinor)
		c.WindowStart, c.WindowEnd, c.At = c.WindowStart.UTC(), c.WindowEnd.UTC(), c.At.UTC()
		c.Amount = money.New(c.amountMinor, a.Currency).Decimal()
		return c, err
	}
	out, err := sqldb.QueryAll(ctx, s.db.Read(), "sla rebates", scan, `SELECT b.id, b.target, b.window_start, b.window_end, 'credit', c.created_at, c.amount_minor
		FROM billing_credits c JOIN sla_breaches b ON c.source_id LIKE b.id || '/%'
		WHERE b.agreement_id = $1 AND c.source = 'sla_breach' AND c.created_at >= $2 AND c.created_at < $3
		UNION ALL
		SELECT b.id, b.target, b.window_start, b.window_end, 'claim', b.opened_at, b.rebate_minor FROM sla_breaches b
		WHERE b.agreement_id = $1 AND b.rebate_kind = 'claim' AND b.rebate_minor > 0 AND b.state <> 'withdrawn' AND b.opened_at >= $2 AND b.opened_at < $3
		ORDER BY 6, 1`, a.ID, sqldb.Time(from), sqldb.Time(to))
	if out == nil {
		out = []ReviewRebate{}
	}
	return out, err
}

// inputs gathers an agreement's losses and incident clocks from the world.
// ofOrgUnits keeps the clocks that count for the agreement: an
// agreement made with org units is measured on their incidents (and on
// those recorded without one), not on other customers' of the same
// service.
func ofOrgUnits(a *Agreement, cs []Clock) []Clock {
	if len(a.Scope.OrgUnits) == 0 {
		return cs
	}
	out := make([]Clock, 0, len(cs))
	for _, c := range cs {
		if forOrgUnits(a, c.OrgUnitPath) {
			out = append(out, c)
		}
	}
	return out
}

func (s *Service) inputs(a *Agreement, w *world) *Inputs {
	in := &Inputs{Calendar: &a.Calendar, From: Micros(a.EffectiveFrom), Responses: map[int][]Clock{}, Resolutions: map[int][]Clock{},
		Hours: w.hours, CalendarKey: jsonText(a.Calendar)}
	for _, svc := range a.Scope.Services {
		in.Losses = append(in.Losses, w.losses[svc.ID]...)
		for p, cs := range w.responses[svc.ID] {
			in.Responses[p] = append(in.Responses[p], ofOrgUnits(a, cs)...)
		}
		for p, cs := range w.resolves[svc.ID] {
			in.Resolutions[p] = append(in.Resolutions[p], ofOrgUnits(a, cs)...)
		}
	}
	return in
}

// BurnPoint is the error budget spent by a moment of the window.
type BurnPoint struct {
	At         time.Time `json:"at"`
	BudgetUsed string    `json:"budget_used"` // percent
	Downtime   int64     `json:"downtime_us"`
	Breaks     int       `json:"breaks"`
}

// Burn is how a target's current window spent its error budget: one point
// per day (per week for windows over 100 days) from the window's start to
// now (to the minute). Availability and reliability targets only.
func (s *Service) Burn(ctx context.Context, p *access.Principal, ref, target string) ([]BurnPoint, error) {
	return s.burnAt(ctx, p, ref, target, s.now().Truncate(time.Minute))
}

// burnOrder pages the burn's points by position in the reading the first
// page made: its cursor keeps the instant measured at, so that every page
// of one reading holds the same points however long the reader takes.
var burnOrder = sqldb.Order{Name: "burn", Columns: []string{"as_of", "point"}}

// BurnPage is one page of Burn. The first page measures now (to the
// minute); the next pages measure at the same instant.
func (s *Service) BurnPage(ctx context.Context, p *access.Principal, ref, target string, pg sqldb.Page) (sqldb.Paged[BurnPoint], error) {
	var none sqldb.Paged[BurnPoint]
	now := s.now().Truncate(time.Minute)
	asOf, from := now, 0
	if _, err := burnOrder.Seek(&sqldb.Args{}, pg, &asOf, &from); err != nil {
		return none, err
	}
	if asOf.After(now) {
		asOf = now
	}
	pts, err := s.burnAt(ctx, p, ref, target, asOf)
	if err != nil {
		return none, err
	}
	from = min(max(from, 0), len(pts))
	rest := pts[from:]
	if len(rest) <= pg.Size() {
		return sqldb.Paged[BurnPoint]{Items: rest}, nil
	}
	return sqldb.Paged[BurnPoint]{Items: rest[:pg.Size()], Next: burnOrder.Cursor(asOf, from+pg.Size())}, nil
}

func (s *Service) burnAt(ctx context.Context, p *access.Principal, ref, target string, now time.Time) ([]BurnPoint, error) {
	a, err := s.Agreement(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	t := a.Target(target)
	if t == nil {
		return nil, errs.NotFound("agreement %s has no target %q", a.Code, target)
	}
	if t.Kind != Availability && t.Kind != Reliability {
		return []BurnPoint{}, nil
	}
	start, _ := t.Window.Bounds(now, a.Calendar.Location())
	w, err := s.loadWorld(ctx, s.db.Read(), start, now)
	if err != nil {
		return nil, err
	}
	return s.burn(a, t, w, now), nil
}

// burn measures the target's current window at each day (each week for a
// window over 100 days) from its start to now.
func (s *Service) burn(a *Agreement, t *Target, w *world, now time.Time) []BurnPoint {
	start, end := t.Window.Bounds(now, a.Calendar.Location())
	in := s.inputs(a, w)
	step := 1
	if end.Sub(start) > 100*24*time.Hour {
		step = 7
	}
	out := []BurnPoint{}
	for at := start.AddDate(0, 0, step); ; at = at.AddDate(0, 0, step) {
		if at.After(now) {
			at = now
		}
		// A rolling window burns over the window ending now: each point is
		// what had been spent of today's budget by then.
		r := Measure(t, in, start, end, at)
		out = append(out, BurnPoint{At: at.UTC(), BudgetUsed: r.BudgetUsed, Downtime: r.DowntimeMicros, Breaks: r.Breaks})
		if !at.Before(now) || len(out) > 400 {
			break
		}
	}
	return out
}

// Burns is the burn of each agreement's first availability target, for
// the dashboard: one read of outages and incidents for all of them.
func (s *Service) Burns(ctx context.Context, as []*Agreement) (map[string][]BurnPoint, error) {
	now := s.now()
	horizon := now
	for _, a := range as {
		if t := firstAvailability(a); t != nil {
			start, _ := t.Window.Bounds(now, a.Calendar.Location())
			horizon = minTime(horizon, start)
		}
	}
	out := map[string][]BurnPoint{}
	if !horizon.Before(now) {
		return out, nil
	}
	w, err := s.loadWorld(ctx, s.db.Read(), horizon, now)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if t := firstAvailability(a); t != nil {
			out[a.Code] = s.burn(a, t, w, now)
		}
	}
	return out, nil
}

func firstAvailability(a *Agreement) *Target {
	for i := range a.Targets {
		if a.Targets[i].Kind == Availability {
			return &a.Targets[i]
		}
	}
	return nil
}
