package sla

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/steward-itaas/steward/internal/catalog"
)

// TargetKind is what a target measures.
type TargetKind string

// The target kinds.
const (
	// Availability: agreed service time minus downtime, over agreed service time, ≥ Objective %.
	Availability TargetKind = "availability"
	// Reliability: at most MaxBreaks breaks (outages in service time) per window.
	Reliability TargetKind = "reliability"
	// Response: Objective % of incidents of Priority (every priority when 0) responded to within Within service minutes.
	Response TargetKind = "response"
	// Resolution: Objective % of incidents of Priority (every priority when 0) resolved within Within service minutes.
	Resolution TargetKind = "resolution"
	// Fulfilment: Objective % of requests for the scope fulfilled within Within service minutes.
	Fulfilment TargetKind = "fulfilment"
	// Meter: the total of a meter over the window at most (or at least) Limit.
	Meter TargetKind = "meter"
)

// TargetKinds lists the target kinds.
var TargetKinds = []TargetKind{Availability, Reliability, Response, Resolution, Fulfilment, Meter}

// WindowKind is how a target's window is drawn.
type WindowKind string

// The window kinds. Calendar windows start at local midnight in the
// agreement's calendar zone; rolling windows end now.
const (
	Month         WindowKind = "month"
	Quarter       WindowKind = "quarter"
	Year          WindowKind = "year"
	RollingDays   WindowKind = "rolling_days"
	RollingMonths WindowKind = "rolling_months"
)

// WindowKinds lists the window kinds.
var WindowKinds = []WindowKind{Month, Quarter, Year, RollingDays, RollingMonths}

// Window is a target's measuring window: a calendar period, or the last N
// days or months.
type Window struct {
	Kind WindowKind `json:"kind" yaml:"kind"`
	N    int        `json:"n,omitempty" yaml:"n,omitempty"`
}

// Rolling reports whether the window ends now.
func (w Window) Rolling() bool { return w.Kind == RollingDays || w.Kind == RollingMonths }

// String names the window for people: "calendar month", "rolling 6 months".
func (w Window) String() string {
	switch w.Kind {
	case RollingDays:
		return fmt.Sprintf("rolling %d days", w.N)
	case RollingMonths:
		return fmt.Sprintf("rolling %d months", w.N)
	}
	return "calendar " + string(w.Kind)
}

// Bounds is the window that holds the instant at, in loc: for a calendar
// window the period containing at, for a rolling window the N days or
// months up to at.
func (w Window) Bounds(at time.Time, loc *time.Location) (time.Time, time.Time) {
	l := at.In(loc)
	y, m, _ := l.Date()
	switch w.Kind {
	case Month:
		s := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return s, s.AddDate(0, 1, 0)
	case Quarter:
		s := time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
		return s, s.AddDate(0, 3, 0)
	case Year:
		s := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return s, s.AddDate(1, 0, 0)
	case RollingDays:
		return l.AddDate(0, 0, -w.N), l
	default:
		return addMonths(l, -w.N), l
	}
}

// addMonths is the same wall-clock time n months after t (before, for n
// < 0), on the last day of that month when it is shorter (Aug 31 less six
// months is Feb 28, or 29 in a leap year): time.AddDate would overflow
// into March.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// Previous is the window before the current one: the last whole calendar
// period, or for a rolling window the one that ended at the start of the
// current local month (the month-end figure).
func (w Window) Previous(at time.Time, loc *time.Location) (time.Time, time.Time) {
	if w.Rolling() {
		l := at.In(loc)
		return w.Bounds(time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc), loc)
	}
	s, _ := w.Bounds(at, loc)
	return w.Bounds(s.Add(-time.Nanosecond), loc)
}

// Target is one promise of an agreement.
type Target struct {
	ID   string     `json:"id"`
	Code string     `json:"code" yaml:"code"`
	Kind TargetKind `json:"kind" yaml:"kind"`
	// Objective is a percentage as a decimal ("99.5"): availability, or the
	// share of incidents or requests within time.
	Objective string `json:"objective,omitempty" yaml:"objective,omitempty"`
	Window    Window `json:"window" yaml:"window"`
	// Priority (1 highest … 4) for response and resolution targets; none
	// (0) counts incidents of every priority.
	Priority int `json:"priority,omitempty" yaml:"priority,omitempty"`
	// WithinMinutes of service time for response, resolution and fulfilment.
	WithinMinutes int `json:"within_minutes,omitempty" yaml:"within_minutes,omitempty"`
	// MaxBreaks per window for reliability.
	MaxBreaks int `json:"max_breaks,omitempty" yaml:"max_breaks,omitempty"`
	// Meter, At most or at least Limit, for meter targets.
	Meter  string `json:"meter,omitempty" yaml:"meter,omitempty"`
	AtMost bool   `json:"at_most,omitempty" yaml:"at_most,omitempty"`
	Limit  string `json:"limit,omitempty" yaml:"limit,omitempty"`
	// AtRiskPercent of the budget spent raises an at-risk warning (default 75).
	AtRiskPercent int `json:"at_risk_percent,omitempty" yaml:"at_risk_percent,omitempty"`
}

// Describe says the target in words: "99.5 % availability, rolling 6 months".
func (t *Target) Describe() string {
	switch t.Kind {
	case Availability:
		return fmt.Sprintf("%s %% availability, %s", t.Objective, t.Window)
	case Reliability:
		return fmt.Sprintf("at most %d breaks, %s", t.MaxBreaks, t.Window)
	case Response, Resolution:
		verb := map[TargetKind]string{Response: "responded to", Resolution: "resolved"}[t.Kind]
		which := fmt.Sprintf("P%d incidents", t.Priority)
		if t.Priority == 0 {
			which = "all incidents"
		}
		return fmt.Sprintf("%s %% of %s %s within %s of service time, %s", t.Objective, which, verb, minutesText(t.WithinMinutes), t.Window)
	case Fulfilment:
		return fmt.Sprintf("%s %% of requests fulfilled within %s of service time, %s", t.Objective, minutesText(t.WithinMinutes), t.Window)
	case Meter:
		rel := "at least"
		if t.AtMost {
			rel = "at most"
		}
		return fmt.Sprintf("%s %s %s, %s", t.Meter, rel, t.Limit, t.Window)
	}
	return string(t.Kind)
}

func minutesText(m int) string {
	if m%60 == 0 {
		if m == 60 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", m/60)
	}
	return fmt.Sprintf("%d minutes", m)
}

// Impact is how badly an outage hurts.
type Impact string

// The impacts. Full and partial outages are downtime (partial weighted by
// the share affected); degraded service is recorded but is not downtime.
const (
	Full     Impact = "full"
	Partial  Impact = "partial"
	Degraded Impact = "degraded"
)

// Impacts lists the impacts.
var Impacts = []Impact{Full, Partial, Degraded}

// Loss is an outage as the engine sees it, on one service.
type Loss struct {
	Span
	Impact   Impact
	Permille int64 // share of users or units affected, 1000 for a full outage
	Planned  bool
	// Announced is when a planned outage was announced (0: never).
	Announced int64
	// Recorded is when the outage was last recorded or corrected: a
	// rolling window that ended before it is assessed again.
	Recorded int64
}

// Clock is something timed in service time: an incident or a request,
// opened, and done (responded, resolved, fulfilled) or 0 while running.
type Clock struct {
	Opened, Done int64
	// Recorded is when the incident was last recorded or corrected (0 for
	// requests, recorded as they happen).
	Recorded int64
	// Held is when the clock stood still: the ticket on hold (awaiting the
	// customer, a supplier or a change) or resolved until reopened.
	Held Set
	// OrgUnitPath is the org unit the incident was raised for ("": none):
	// an agreement made with org units counts only theirs.
	OrgUnitPath string
}

// Inputs is what one agreement's targets are measured on.
type Inputs struct {
	Calendar *catalog.Calendar
	Losses   []Loss
	// Incidents by priority: response clocks and resolution clocks.
	Responses   map[int][]Clock
	Resolutions map[int][]Clock
	Requests    []Clock
	// Metered is the meter total of a meter target's window.
	Metered *big.Rat
	// From bounds every window below (the agreement's effective date).
	From int64
	// Hours caches service time per calendar and window: agreements that
	// share a calendar (CalendarKey) share it within a pass.
	Hours       map[string]Set
	CalendarKey string
}

// clocks are what a response, resolution or fulfilment target times: the
// requests, or the incidents of its priority (of every priority when the
// target names none: "all Service Desk contacts").
func (in *Inputs) clocks(t *Target) []Clock {
	byPriority := in.Responses
	switch t.Kind {
	case Fulfilment:
		return in.Requests
	case Resolution:
		byPriority = in.Resolutions
	}
	if t.Priority != 0 {
		return byPriority[t.Priority]
	}
	var all []Clock
	for p := 1; p <= 4; p++ {
		all = append(all, byPriority[p]...)
	}
	return all
}

// Status is a target's standing in a window.
type Status string

// The statuses, best to worst.
const (
	NoData   Status = "no_data"
	Met      Status = "met"
	AtRisk   Status = "at_risk"
	Breached Status = "breached"
)

// Result is a target measured over one window.
type Result struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// Final is set when the window is over (a rolling window always is).
	Final  bool   `json:"final"`
	Status Status `json:"status"`
	// Measured is the figure compared with the objective: a percentage
	// with three decimals, a count of breaks, or a meter total.
	Measured string `json:"measured"`
	// AgreedMicros is the agreed service time of the window so far;
	// DowntimeMicros the downtime in it (partial outages weighted).
	AgreedMicros   int64 `json:"agreed_us"`
	DowntimeMicros int64 `json:"downtime_us"`
	// BudgetMicros is the downtime the whole window allows; ExcessMicros
	// the downtime beyond it.
	BudgetMicros int64 `json:"budget_us"`
	ExcessMicros int64 `json:"excess_us"`
	// BudgetUsed is the share of the error budget spent, percent.
	BudgetUsed string `json:"budget_used"`
	Breaks     int    `json:"breaks"`
	// Counted, Within and Late count incidents or requests (late: over
	// time, done or not); Running ones are still inside their time.
	Counted int `json:"counted"`
	Within  int `json:"within"`
	Late    int `json:"late"`
	Running int `json:"running"`
}

// minute is one minute in microseconds.
const minute = int64(time.Minute / time.Microsecond)

func (in *Inputs) serviceTime(from, to int64) Set {
	if in.Hours == nil {
		in.Hours = map[string]Set{}
	}
	k := in.CalendarKey + "|" + strconv.FormatInt(from, 10) + "|" + strconv.FormatInt(to, 10)
	if s, ok := in.Hours[k]; ok {
		return s
	}
	s := serviceTime(in.Calendar, from, to)
	in.Hours[k] = s
	return s
}

// Measure computes target t over the window [start, end) as of now.
func Measure(t *Target, in *Inputs, start, end, now time.Time) Result {
	from, to, at := max(Micros(start), in.From), Micros(end), Micros(now)
	r := Result{WindowStart: start.UTC(), WindowEnd: end.UTC(), Final: !end.After(now) || t.Window.Rolling()}
	upTo := min(to, at)
	if upTo <= from {
		r.Status = NoData
		r.Measured = "—"
		return r
	}
	switch t.Kind {
	case Availability, Reliability:
		measureDowntime(t, in, &r, from, to, upTo)
	case Response, Resolution, Fulfilment:
		measureClocks(t, in, &r, in.clocks(t), from, upTo)
	case Meter:
		measureMeter(t, in, &r)
	}
	return r
}

// excused is the part of planned outages that fell in a maintenance
// window announced with its notice: taken out of agreed service time.
func excused(cal *catalog.Calendar, losses []Loss, from, to int64) Set {
	var out []Span
	var occs []occurrence
	loaded := false
	for _, l := range losses {
		if !l.Planned || l.Announced == 0 || l.End <= from || l.Start >= to {
			continue
		}
		if !loaded {
			occs, loaded = maintenance(cal, from, to), true
		}
		for _, o := range occs {
			if l.Announced <= o.Start-o.notice {
				if s, e := max(l.Start, o.Start), min(l.End, o.End); s < e {
					out = append(out, Span{s, e})
				}
			}
		}
	}
	return normal(out)
}

func measureDowntime(t *Target, in *Inputs, r *Result, from, to, upTo int64) {
	ex := excused(in.Calendar, in.Losses, from, to)
	agreedAll := in.serviceTime(from, to).Minus(ex)
	agreed := agreedAll.Clip(from, upTo)
	var losses []weighted
	var spans []Span
	for _, l := range in.Losses {
		if l.Impact == Degraded {
			continue
		}
		s := Span{l.Start, min(l.End, upTo)}
		if s.End <= from || s.Start >= upTo {
			continue
		}
		losses = append(losses, weighted{s, l.Permille})
		spans = append(spans, s)
	}
	r.AgreedMicros = agreed.Len()
	lossPM := lossIn(losses, agreed)
	r.DowntimeMicros = lossPM / 1000
	// Breaks: episodes of loss (overlapping outages are one) that touch agreed time.
	for _, ep := range normal(spans) {
		if len(Set{ep}.Intersect(agreed)) > 0 {
			r.Breaks++
		}
	}
	atRisk := int64(t.AtRiskPercent)
	if atRisk == 0 {
		atRisk = 75
	}
	if t.Kind == Reliability {
		r.Measured = fmt.Sprint(r.Breaks)
		r.BudgetUsed = percent(big.NewRat(int64(r.Breaks), int64(max(t.MaxBreaks, 1))))
		switch {
		case r.Breaks > t.MaxBreaks:
			r.Status = Breached
		case r.Breaks == t.MaxBreaks || int64(r.Breaks)*100 >= atRisk*int64(t.MaxBreaks) && r.Breaks > 0:
			r.Status = AtRisk
		default:
			r.Status = Met
		}
		return
	}
	if r.AgreedMicros == 0 {
		r.Status, r.Measured = NoData, "—"
		return
	}
	obj := rat(t.Objective)
	// availability = (agreed − downtime) / agreed, exact in permille-µs.
	avail := new(big.Rat).SetFrac64(r.AgreedMicros*1000-lossPM, r.AgreedMicros*1000)
	r.Measured = shownPercent(new(big.Rat).Mul(avail, big.NewRat(100, 1)), obj)
	// budget = (100 − objective)% of the whole window's agreed time, in permille-µs.
	budget := new(big.Rat).Mul(new(big.Rat).Sub(big.NewRat(100, 1), obj), big.NewRat(agreedAll.Len()*10, 1))
	loss := new(big.Rat).SetInt64(lossPM)
	r.BudgetMicros = floorDiv(budget, 1000)
	if budget.Sign() > 0 {
		r.BudgetUsed = percent(new(big.Rat).Quo(loss, budget))
	} else {
		r.BudgetUsed = "0.000"
		if lossPM > 0 {
			r.BudgetUsed = "100.000"
		}
	}
	switch c := loss.Cmp(budget); {
	case c > 0:
		r.Status = Breached
		r.ExcessMicros = floorDiv(new(big.Rat).Sub(loss, budget), 1000)
	case new(big.Rat).Mul(loss, big.NewRat(100, 1)).Cmp(new(big.Rat).Mul(budget, big.NewRat(atRisk, 1))) >= 0 && lossPM > 0:
		r.Status = AtRisk
	default:
		r.Status = Met
	}
}

func measureClocks(t *Target, in *Inputs, r *Result, clocks []Clock, from, upTo int64) {
	limit := int64(t.WithinMinutes) * minute
	hours := in.serviceTime(from, upTo) // every clock counted runs inside it
	for _, c := range clocks {
		if c.Opened < from || c.Opened >= upTo {
			continue
		}
		end := upTo
		if c.Done != 0 && c.Done < upTo {
			end = c.Done
		}
		used := hours.lenWithin(c.Opened, end)
		if len(c.Held) > 0 {
			used -= hours.Clip(c.Opened, end).Intersect(c.Held).Len()
		}
		switch {
		case used > limit:
			r.Late++
		case c.Done != 0 && c.Done <= upTo:
			r.Within++
		default:
			r.Running++
		}
	}
	r.Counted = r.Within + r.Late
	if r.Counted == 0 {
		r.Status, r.Measured = NoData, "—"
		return
	}
	obj := new(big.Rat).Quo(rat(t.Objective), big.NewRat(100, 1))
	share := big.NewRat(int64(r.Within), int64(r.Counted))
	r.Measured = shownPercent(new(big.Rat).Mul(share, big.NewRat(100, 1)), rat(t.Objective))
	// The budget is the late ones the objective allows among those counted.
	allowed := new(big.Rat).Mul(new(big.Rat).Sub(big.NewRat(1, 1), obj), big.NewRat(int64(r.Counted), 1))
	if allowed.Sign() > 0 {
		r.BudgetUsed = percent(new(big.Rat).Quo(big.NewRat(int64(r.Late), 1), allowed))
	} else if r.Late > 0 {
		r.BudgetUsed = "100.000"
	}
	// While the window runs, below the objective or one late one away
	// from it is at risk; a finished window met it or breached it.
	next := big.NewRat(int64(r.Within), int64(r.Counted+1))
	switch {
	case share.Cmp(obj) < 0 && r.Final:
		r.Status = Breached
	case !r.Final && (share.Cmp(obj) < 0 || next.Cmp(obj) < 0):
		r.Status = AtRisk
	default:
		r.Status = Met
	}
}

func measureMeter(t *Target, in *Inputs, r *Result) {
	total := in.Metered
	if total == nil {
		total = new(big.Rat)
	}
	limit := rat(t.Limit)
	// Toward failing: a total at most the limit is rounded up, one at
	// least the limit down.
	r.Measured = decimals(total, 3, t.AtMost)
	c := total.Cmp(limit)
	switch {
	case t.AtMost && c > 0:
		r.Status = Breached
	case !t.AtMost && c < 0 && r.Final:
		r.Status = Breached
	case !t.AtMost && c < 0:
		r.Status = AtRisk
	default:
		r.Status = Met
	}
	if limit.Sign() > 0 {
		r.BudgetUsed = percent(new(big.Rat).Quo(total, limit))
	}
}

// rat reads a validated decimal; bad input reads as zero.
func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// percent formats a share of a budget as a percentage with three
// decimals, rounded up: a budget overspent by a hair never shows 100.000.
func percent(r *big.Rat) string {
	return decimals(new(big.Rat).Mul(r, big.NewRat(100, 1)), 3, true)
}

// shownPercent formats a measured percentage (availability, a share within
// time) cut toward failing, so it never shows a met objective it missed:
// three decimals truncated (99.9995 shows 99.999, not 100.000), and more
// when the objective has them and is met (99.9995 of 99.9995).
func shownPercent(v, objective *big.Rat) string {
	met := v.Cmp(objective) >= 0
	for d := 3; ; d++ {
		s := decimals(v, d, false)
		if !met || d >= 12 || rat(s).Cmp(objective) >= 0 {
			return s
		}
	}
}

// decimals writes r ≥ 0 with d decimals, rounded down (up when up is set)
// rather than to nearest.
func decimals(r *big.Rat, d int, up bool) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)
	n := new(big.Int).Mul(r.Num(), scale)
	q, m := new(big.Int).QuoRem(n, r.Denom(), new(big.Int))
	if up && m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(q, scale).FloatString(d)
}

// floorDiv is ⌊r / d⌋ for r ≥ 0.
func floorDiv(r *big.Rat, d int64) int64 {
	q := new(big.Int).Quo(r.Num(), new(big.Int).Mul(r.Denom(), big.NewInt(d)))
	return q.Int64()
}
