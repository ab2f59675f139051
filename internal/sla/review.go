package sla

import (
	"context"
	"slices"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Review is the service review report of an agreement for a period: each
// target measured over the period, the outages and incidents behind the
// figures, and the breaches and rebates of windows in it.
type Review struct {
	Agreement   *Agreement     `json:"agreement"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	GeneratedAt time.Time      `json:"generated_at"`
	Targets     []ReviewTarget `json:"targets"`
	Outages     []ReviewOutage `json:"outages"`
	Incidents   []*Incident    `json:"incidents"`
	Breaches    []*Breach      `json:"breaches"`
	Rebates     string         `json:"rebates"` // total credited or claimed
}

// ReviewTarget is a target measured over the review period.
type ReviewTarget struct {
	Target      Target `json:"target"`
	Description string `json:"description"`
	Result      Result `json:"result"`
}

// ReviewOutage is an outage that touched the agreement's services in the
// period, directly or through what they stand on.
type ReviewOutage struct {
	*Outage
	Via string `json:"via,omitempty"` // the name of the service or CI it was recorded on, when not a service in scope
}

// Review reports on the agreement over [from, to).
func (s *Service) Review(ctx context.Context, p *access.Principal, ref string, from, to time.Time) (*Review, error) {
	a, err := s.Agreement(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	if !to.After(from) || to.Sub(from) > 3*366*24*time.Hour {
		return nil, errs.Invalid("the review period must end after it starts and span at most three years")
	}
	now := s.now()
	w, err := s.loadWorld(ctx, s.db.Read(), from, now)
	if err != nil {
		return nil, err
	}
	r := &Review{Agreement: a, From: from.UTC(), To: to.UTC(), GeneratedAt: now.UTC(), Targets: []ReviewTarget{}, Outages: []ReviewOutage{}}
	in := s.inputs(a, w)
	for i := range a.Targets {
		t := &a.Targets[i]
		if err := s.inputsFor(ctx, a, t, in, from, now); err != nil {
			return nil, err
		}
		if t.Kind == Meter {
			in.Metered = s.meterTotal(ctx, a, t, from, minTime(to, now))
		}
		// The period is the window here: a one-off, not the target's own.
		res := Measure(&Target{Kind: t.Kind, Objective: t.Objective, Priority: t.Priority, WithinMinutes: t.WithinMinutes, MaxBreaks: t.MaxBreaks,
			Meter: t.Meter, AtMost: t.AtMost, Limit: t.Limit, AtRiskPercent: t.AtRiskPercent, Window: Window{Kind: Month}}, in, from, to, now)
		r.Targets = append(r.Targets, ReviewTarget{Target: *t, Description: t.Describe(), Result: res})
	}
	// Outages on the services in scope and on what they stand on.
	m, err := s.cat.ServiceMap(ctx, access.System())
	if err != nil {
		return nil, err
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
		return nil, err
	}
	for _, o := range outs {
		if via, ok := nodes[o.node()]; ok {
			r.Outages = append(r.Outages, ReviewOutage{Outage: o, Via: via})
		}
	}
	r.Incidents = []*Incident{}
	incidents, err := sqldb.QueryAll(ctx, s.db.Read(), "incidents", scanIncident, `SELECT `+incidentColumns+` FROM incidents i JOIN services s ON s.id = i.service_id
		WHERE i.opened_at >= $1 AND i.opened_at < $2 ORDER BY i.opened_at`, sqldb.Time(from), sqldb.Time(to))
	if err != nil {
		return nil, err
	}
	for _, i := range incidents {
		if slices.ContainsFunc(a.Scope.Services, func(r Ref) bool { return r.ID == i.Service.ID }) {
			r.Incidents = append(r.Incidents, i)
		}
	}
	r.Breaches, err = sqldb.QueryAll(ctx, s.db.Read(), "sla breaches", scanBreach, `SELECT `+breachColumns+` FROM sla_breaches b JOIN agreements a ON a.id = b.agreement_id
		WHERE b.agreement_id = $1 AND b.state <> 'withdrawn' AND b.window_start < $2 AND b.window_end > $3 ORDER BY b.window_start`, a.ID, sqldb.Time(to), sqldb.Time(from))
	if err != nil {
		return nil, err
	}
	var total int64
	for _, b := range r.Breaches {
		if err := s.fillBreach(ctx, a, b); err != nil {
			return nil, err
		}
		total += b.RebateMinor
	}
	r.Rebates = money.New(total, a.Currency).Decimal()
	return r, nil
}

// inputs gathers an agreement's losses and incident clocks from the world.
func (s *Service) inputs(a *Agreement, w *world) *Inputs {
	in := &Inputs{Calendar: &a.Calendar, From: Micros(a.EffectiveFrom), Responses: map[int][]Clock{}, Resolutions: map[int][]Clock{},
		Hours: w.hours, CalendarKey: jsonText(a.Calendar)}
	for _, svc := range a.Scope.Services {
		in.Losses = append(in.Losses, w.losses[svc.ID]...)
		for p, cs := range w.responses[svc.ID] {
			in.Responses[p] = append(in.Responses[p], cs...)
		}
		for p, cs := range w.resolves[svc.ID] {
			in.Resolutions[p] = append(in.Resolutions[p], cs...)
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
// now. Availability and reliability targets only.
func (s *Service) Burn(ctx context.Context, p *access.Principal, ref, target string) ([]BurnPoint, error) {
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
	now := s.now()
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
