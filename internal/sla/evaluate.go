package sla

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Pass is what one evaluation did.
type Pass struct {
	Agreements int `json:"agreements"`
	Targets    int `json:"targets"`
	Outages    int `json:"outages"`
	Breaches   int `json:"breaches"` // open or closed breaches touched
	Notices    int `json:"notices"`
	// Skipped is set when another pass was running: it measures the same.
	Skipped bool `json:"skipped,omitempty"`
	// Unmeasured are the agreements the pass could not measure, with why
	// (a maintenance rule stored before rules were checked).
	Unmeasured []Unmeasured  `json:"unmeasured,omitempty"`
	Took       time.Duration `json:"-"`
	TookMillis float64       `json:"took_ms"`
}

// Unmeasured is an agreement a pass left unmeasured, and why.
type Unmeasured struct {
	Agreement string `json:"agreement"` // its code
	Reason    string `json:"reason"`
}

func (p *Pass) done(began time.Time) *Pass {
	p.Took = time.Since(began)
	p.TookMillis = float64(p.Took.Microseconds()) / 1000
	return p
}

// ongoing stands for the end of an outage that has not ended.
const ongoing = math.MaxInt64 / 4

// world is what a pass reads once for every agreement.
type world struct {
	now       time.Time
	losses    map[string][]Loss // by service ID, after propagation
	responses map[string]map[int][]Clock
	resolves  map[string]map[int][]Clock
	outages   int
	hours     map[string]Set // service time by calendar and window, shared
}

// EvaluateNow runs a pass for a person (the job runs them unasked). A pass
// measures every agreement and writes breaches and credits for all of
// them, so callers need agreement.manage on the whole provider (a grant on
// one org unit or service is not enough); returns forbidden otherwise.
func (s *Service) EvaluateNow(ctx context.Context, p *access.Principal) (*Pass, error) {
	if err := p.Require(access.AgreementManage, access.Resource{}); err != nil {
		return nil, err
	}
	return s.Evaluate(ctx)
}

// Evaluate measures every active agreement's targets over their current
// and previous windows, stores the figures, opens, updates and closes
// breaches with their rebates (credits for the customer's next invoice,
// claims against suppliers) and raises notices when a target turns at
// risk or breached (with sla.at_risk and sla.breached events for the
// people concerned). It is the sla.evaluate job's body and safe to run
// again at any time.
func (s *Service) Evaluate(ctx context.Context) (*Pass, error) {
	began := time.Now()
	now := s.now().UTC().Truncate(time.Microsecond)
	holder, ok, err := s.lease(ctx, now)
	if err != nil || !ok {
		return (&Pass{Skipped: true}).done(began), err
	}
	defer s.release(holder)
	db := s.db.Read()
	agreements, err := sqldb.QueryAll(ctx, db, "agreements", scanAgreement, `SELECT `+agreementColumns+` FROM agreements
		WHERE state = 'active' AND effective_from <= $1 ORDER BY code`, sqldb.Time(now))
	if err != nil {
		return nil, err
	}
	pass := &Pass{Agreements: len(agreements)}
	if len(agreements) == 0 {
		return pass.done(began), nil
	}
	// The earliest instant any window reaches back to.
	horizon := now
	for _, a := range agreements {
		loc := a.Calendar.Location()
		for i := range a.Targets {
			ps, _ := a.Targets[i].Window.Previous(now, loc)
			horizon = minTime(horizon, ps)
			// Calendar windows of the last year, and the rolling windows
			// ending at its month ends (reporting points).
			ys, _ := a.Targets[i].Window.Bounds(now.AddDate(-1, 0, 0), loc)
			horizon = minTime(horizon, ys)
		}
	}
	w, err := s.loadWorld(ctx, db, horizon, now)
	if err != nil {
		return nil, err
	}
	pass.Outages = w.outages
	known, err := loadKnown(ctx, db, horizon)
	if err != nil {
		return nil, err
	}
	const chunk = 500
	workers := newMeasurers(known)
	for start := 0; start < len(agreements); start += chunk {
		part := agreements[start:min(start+chunk, len(agreements))]
		var results []stored
		var changes []breachChange
		for i, m := range s.measureAll(ctx, part, w, workers) {
			// A calendar the pass cannot expand within bounds is left
			// unmeasured (its figures cleared) and reported, every pass,
			// rather than expanded.
			if m.invalid != nil {
				s.log.Error("agreement not measured: its calendar is not valid; save it again with a valid rule", "agreement", part[i].Code, "err", m.invalid)
				pass.Unmeasured = append(pass.Unmeasured, Unmeasured{Agreement: part[i].Code, Reason: m.invalid.Error()})
				continue
			}
			if m.err != nil {
				return nil, m.err
			}
			results = append(results, m.results...)
			changes = append(changes, m.changes...)
		}
		pass.Targets += len(results) / 2
		err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			n, err := s.write(ctx, tx, part, results, changes, known, now)
			pass.Notices += n
			return err
		})
		if err != nil {
			return nil, err
		}
		pass.Breaches += len(changes)
	}
	return pass.done(began), nil
}

// passLease is how long a pass may hold the lease: far longer than a pass
// takes, short enough that a crashed one delays the next only minutes.
const passLease = 2 * time.Minute

// lease takes the one-pass-at-a-time lease, unless another pass holds it.
func (s *Service) lease(ctx context.Context, now time.Time) (string, bool, error) {
	holder := sqldb.NewID()
	var n int64
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO sla_pass (id, holder, until) VALUES (1, $1, $2)
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until = excluded.until WHERE sla_pass.until < $3`,
			holder, sqldb.Time(now.Add(passLease)), sqldb.Time(now))
		if err != nil {
			return sqldb.Err(err, "compliance pass lease")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return holder, n == 1, err
}

// release gives the lease back, even when the pass's context has ended.
func (s *Service) release(holder string) {
	err := s.db.Tx(context.Background(), func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(context.Background(), `UPDATE sla_pass SET until = $1 WHERE id = 1 AND holder = $2`, sqldb.Time(time.Unix(0, 0)), holder)
		return err
	})
	if err != nil {
		s.log.Warn("releasing the compliance pass lease", "err", err)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// loadWorld reads the outages and incidents since the horizon and
// propagates outages along the service map.
func (s *Service) loadWorld(ctx context.Context, db sqldb.Querier, horizon, now time.Time) (*world, error) {
	w := &world{now: now, losses: map[string][]Loss{}, responses: map[string]map[int][]Clock{}, resolves: map[string]map[int][]Clock{}, hours: map[string]Set{}}
	outs, err := sqldb.QueryAll(ctx, db, "outages", scanOutage, `SELECT `+outageColumns+outageFrom+`
		WHERE o.ended_at IS NULL OR o.ended_at > $1 ORDER BY o.started_at`, sqldb.Time(horizon))
	if err != nil {
		return nil, err
	}
	w.outages = len(outs)
	m, err := s.cat.ServiceMap(ctx, access.System())
	if err != nil {
		return nil, err
	}
	w.losses = effectiveLosses(outs, m)
	incidents, err := sqldb.QueryAll(ctx, db, "incidents", scanIncident, `SELECT `+incidentColumns+incidentFrom+` AND i.opened_at >= $1 AND `+measuredServices, sqldb.Time(horizon))
	if err != nil {
		return nil, err
	}
	held, err := heldSince(ctx, db, horizon)
	if err != nil {
		return nil, err
	}
	for _, i := range incidents {
		if w.responses[i.Service.ID] == nil {
			w.responses[i.Service.ID], w.resolves[i.Service.ID] = map[int][]Clock{}, map[int][]Clock{}
		}
		done := func(t *time.Time) int64 {
			if t == nil {
				return 0
			}
			return Micros(*t)
		}
		h := held[i.ID]
		w.responses[i.Service.ID][i.Priority] = append(w.responses[i.Service.ID][i.Priority], Clock{Micros(i.OpenedAt), done(i.RespondedAt), Micros(i.UpdatedAt), h, i.orgUnitPath})
		w.resolves[i.Service.ID][i.Priority] = append(w.resolves[i.Service.ID][i.Priority], Clock{Micros(i.OpenedAt), done(i.ResolvedAt), Micros(i.UpdatedAt), h, i.orgUnitPath})
	}
	return w, nil
}

// measuredServices keeps the incidents of the services an agreement (of
// any state: reviews measure retired ones too) covers: a pass reads no
// others (the service desk's tickets of services without agreements are
// most of them).
const measuredServices = `i.service_id IN (SELECT sc.ref_id FROM agreement_scope sc WHERE sc.kind = 'service')`

// heldSince reads when the clocks of incidents opened since the horizon
// stood still (ticket_holds), per ticket; a hold still running lasts.
func heldSince(ctx context.Context, db sqldb.Querier, horizon time.Time) (map[string]Set, error) {
	type hold struct {
		ticket string
		span   Span
	}
	rows, err := sqldb.QueryAll(ctx, db, "ticket holds", func(row sqldb.Scanner) (hold, error) {
		var h hold
		var start time.Time
		var end sql.NullTime
		if err := row.Scan(&h.ticket, &start, &end); err != nil {
			return h, err
		}
		h.span = Span{Micros(start), ongoing}
		if end.Valid {
			h.span.End = Micros(end.Time)
		}
		return h, nil
	}, `SELECT h.ticket_id, h.started_at, h.ended_at FROM ticket_holds h JOIN tickets i ON i.id = h.ticket_id
		WHERE i.kind = 'incident' AND i.opened_at >= $1 AND `+measuredServices, sqldb.Time(horizon))
	if err != nil {
		return nil, err
	}
	spans := map[string][]Span{}
	for _, h := range rows {
		spans[h.ticket] = append(spans[h.ticket], h.span)
	}
	out := make(map[string]Set, len(spans))
	for id, s := range spans {
		out[id] = normal(s)
	}
	return out, nil
}

func lossOf(o *Outage) Loss {
	l := Loss{Span: Span{Micros(o.Started), ongoing}, Impact: o.Impact, Permille: o.permille, Planned: o.Planned, Recorded: Micros(o.UpdatedAt)}
	if o.Ended != nil {
		l.End = Micros(*o.Ended)
	}
	if o.AnnouncedAt != nil {
		l.Announced = Micros(*o.AnnouncedAt)
	}
	return l
}

// effectiveLosses turns outages into losses per service: a service's own
// outages, and full outages of what it stands on (services and
// configuration items) carried along the map while they last, honouring
// redundancy groups (a service in a group loses service only while fewer
// than the group needs still work). Partial and degraded outages stay
// where they were recorded.
func effectiveLosses(outs []*Outage, m *catalog.Map) map[string][]Loss {
	out := map[string][]Loss{}
	type root struct {
		key  string
		loss Loss
	}
	stoodOn := map[string]bool{} // nodes something depends on or runs on
	for _, d := range m.Dependencies {
		if d.Kind.Acyclic() {
			stoodOn[d.To.Key()] = true
		}
	}
	var roots []root
	for _, o := range outs {
		l := lossOf(o)
		if o.Service != nil {
			out[o.Service.ID] = append(out[o.Service.ID], l)
		}
		if o.Impact == Full && stoodOn[o.node()] {
			roots = append(roots, root{o.node(), l})
		}
	}
	if len(roots) == 0 {
		return out
	}
	var edges []int64
	for _, r := range roots {
		edges = append(edges, r.loss.Start, r.loss.End)
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	cache := map[string]map[string]string{}
	for i := 0; i+1 < len(edges); i++ {
		seg := Span{edges[i], edges[i+1]}
		failed := map[string]bool{}
		var keys []string
		planned, announced, recorded := true, int64(0), int64(0)
		for _, r := range roots {
			if r.loss.Start <= seg.Start && r.loss.End >= seg.End {
				failed[r.key] = true
				keys = append(keys, r.key)
				planned = planned && r.loss.Planned && r.loss.Announced != 0
				announced = max(announced, r.loss.Announced)
				recorded = max(recorded, r.loss.Recorded)
			}
		}
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		ck := strings.Join(slices.Compact(keys), ",")
		via, ok := cache[ck]
		if !ok {
			via = m.Propagate(failed)
			cache[ck] = via
		}
		for key := range via {
			if n := m.Nodes[key]; n.Type == "service" {
				l := Loss{Span: seg, Impact: Full, Permille: 1000, Planned: planned, Recorded: recorded}
				if planned {
					l.Announced = announced
				}
				out[n.ID] = append(out[n.ID], l)
			}
		}
	}
	return out
}

// stored is a result as written, with its target.
type stored struct {
	agreement *Agreement
	target    *Target
	current   bool
	Result
}

// breachKey finds a breach: by window start for calendar windows; the
// open breach of a rolling window is found under the zero time.
type breachKey struct {
	agreement, target string
	start             time.Time
}

type knownBreach struct {
	id       string
	state    string
	excess   int64
	measured string
	start    time.Time
	end      time.Time
	// raised is set when a reporting point raised what an open breach owes
	// in this pass: the pass writes it even if the window now owes less.
	raised bool
	// change is 1 + the index of this pass's change to the breach among
	// the agreement's changes (0: none yet), so that later reporting points
	// and the window ending now amend it rather than write it twice.
	change int
}

// same reports whether a change would write nothing new: the same state
// and figures, and a rebate that cannot have moved (a share of a charge
// may, as invoices arrive).
func (b *knownBreach) same(state string, r Result, a *Agreement, t *Target) bool {
	if b.state != state || b.measured != r.Measured || b.excess != r.ExcessMicros {
		return false
	}
	for _, rb := range a.Rebates {
		if rb.Target == t.Code && rb.Kind == PercentOfCharge {
			return false
		}
	}
	return true
}

// known is what a pass compares against: the last statuses (for notices)
// and the breaches already raised.
type known struct {
	status   map[[2]string]lastStatus // agreement ID, target → the current window's status at the last pass
	breaches map[breachKey]*knownBreach
	// rolling lists the breaches of each rolling target (agreement ID,
	// target), withdrawn ones aside, oldest first.
	rolling map[[2]string][]*knownBreach
}

// lastStatus is a target's current window as the last pass left it.
type lastStatus struct {
	status Status
	start  time.Time // the window's start
}

func loadKnown(ctx context.Context, db sqldb.Querier, horizon time.Time) (*known, error) {
	k := &known{status: map[[2]string]lastStatus{}, breaches: map[breachKey]*knownBreach{}, rolling: map[[2]string][]*knownBreach{}}
	type status struct {
		key [2]string
		lastStatus
	}
	statuses, err := sqldb.QueryAll(ctx, db, "sla results", func(row sqldb.Scanner) (status, error) {
		var s status
		err := row.Scan(&s.key[0], &s.key[1], &s.status, &s.start)
		s.start = s.start.UTC()
		return s, err
	}, `SELECT agreement_id, target, status, window_start FROM sla_results WHERE current = 1`)
	if err != nil {
		return nil, err
	}
	for _, s := range statuses {
		k.status[s.key] = s.lastStatus
	}
	type breach struct {
		*knownBreach
		key [2]string
	}
	breaches, err := sqldb.QueryAll(ctx, db, "sla breaches", func(row sqldb.Scanner) (breach, error) {
		b := breach{knownBreach: &knownBreach{}}
		err := row.Scan(&b.id, &b.key[0], &b.key[1], &b.start, &b.end, &b.state, &b.excess, &b.measured)
		b.start, b.end = b.start.UTC(), b.end.UTC()
		return b, err
	}, `SELECT id, agreement_id, target, window_start, window_end, state, excess_us, measured FROM sla_breaches
		WHERE window_end >= $1 OR state = 'open' ORDER BY window_start`, sqldb.Time(horizon))
	if err != nil {
		return nil, err
	}
	for _, b := range breaches {
		a, t := b.key[0], b.key[1]
		k.breaches[breachKey{a, t, b.start}] = b.knownBreach
		if b.state != "withdrawn" {
			k.rolling[b.key] = append(k.rolling[b.key], b.knownBreach)
		}
		if b.state == "open" {
			k.breaches[breachKey{a, t, time.Time{}}] = b.knownBreach
		}
	}
	return k, nil
}

// breachChange is a breach to write: opened, updated, closed or withdrawn.
type breachChange struct {
	agreement *Agreement
	target    *Target
	id        string // existing breach, or "" to open one
	state     string // open, closed, withdrawn
	start     time.Time
	Result
}

// measured is what measuring one agreement found.
type measured struct {
	results []stored
	changes []breachChange
	invalid error // its calendar cannot be expanded within bounds
	err     error
}

// measurers are the pass's workers, one a CPU: each keeps its own cache
// of service time, and each agreement's known breaches are its own (no
// two agreements share a key), so agreements are measured side by side
// without locks and found the same as one by one.
type measurers struct {
	hours []map[string]Set
	of    map[string]*known // by agreement ID
}

func newMeasurers(k *known) *measurers {
	m := &measurers{of: map[string]*known{}}
	for range runtime.GOMAXPROCS(0) {
		m.hours = append(m.hours, map[string]Set{})
	}
	view := func(id string) *known {
		v := m.of[id]
		if v == nil {
			v = &known{breaches: map[breachKey]*knownBreach{}, rolling: map[[2]string][]*knownBreach{}}
			m.of[id] = v
		}
		return v
	}
	for key, b := range k.breaches {
		view(key.agreement).breaches[key] = b
	}
	for key, bs := range k.rolling {
		view(key[0]).rolling[key] = bs
	}
	return m
}

// measureAll measures the agreements on the workers and returns what each
// found, in their order.
func (s *Service) measureAll(ctx context.Context, part []*Agreement, w *world, m *measurers) []measured {
	out := make([]measured, len(part))
	views := make([]*known, len(part))
	for i, a := range part {
		if views[i] = m.of[a.ID]; views[i] == nil {
			views[i] = &known{breaches: map[breachKey]*knownBreach{}, rolling: map[[2]string][]*knownBreach{}}
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, hours := range m.hours {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(part); i = int(next.Add(1) - 1) {
				a := part[i]
				if err := a.Calendar.CheckMaintenance(); err != nil {
					out[i].invalid = err
					continue
				}
				out[i].results, out[i].changes, out[i].err = s.measureAgreement(ctx, a, w, views[i], hours)
			}
		})
	}
	wg.Wait()
	return out
}

// measureAgreement measures an agreement's targets and works out what
// becomes of its breaches, with the worker's cache of service time.
func (s *Service) measureAgreement(ctx context.Context, a *Agreement, w *world, k *known, hours map[string]Set) ([]stored, []breachChange, error) {
	in := s.inputs(a, w)
	in.Hours = hours
	now := w.now
	if a.EffectiveTo != nil && a.EffectiveTo.Before(now) {
		now = *a.EffectiveTo
	}
	loc := a.Calendar.Location()
	var out []stored
	var changes []breachChange
	for i := range a.Targets {
		t := &a.Targets[i]
		cs, ce := t.Window.Bounds(now, loc)
		ps, pe := t.Window.Previous(now, loc)
		if err := s.inputsFor(ctx, a, t, in, minTime(cs, ps), now); err != nil {
			return nil, nil, err
		}
		if t.Kind == Meter {
			in.Metered = s.meterTotal(ctx, a, t, cs, minTime(ce, now))
		}
		cur := Measure(t, in, cs, ce, now)
		if t.Kind == Meter {
			in.Metered = s.meterTotal(ctx, a, t, ps, minTime(pe, now))
		}
		prev := Measure(t, in, ps, pe, now)
		out = append(out, stored{a, t, true, cur}, stored{a, t, false, prev})
		if t.Window.Rolling() {
			s.reportingPoints(a, t, in, k, now, w.now.AddDate(-1, 0, 0), &changes)
			open := k.breaches[breachKey{a.ID, t.Code, time.Time{}}]
			if open == nil && cur.Status == Breached {
				// Breached at the last month end too (a late outage found at
				// that reporting point): the same breach, going on.
				_, lastEnd := t.Window.Previous(now, loc)
				if b := k.overlapping(a, t, cur.WindowStart, cur.WindowEnd); b != nil && !b.end.Before(lastEnd.UTC()) {
					if b.change > 0 {
						c := &changes[b.change-1]
						cur.ExcessMicros = max(cur.ExcessMicros, b.excess)
						c.state, c.Result = "open", cur
						continue
					}
					open = b
				}
			}
			switch {
			case cur.Status == Breached && open != nil:
				cur.ExcessMicros = max(cur.ExcessMicros, open.excess) // what was owed stays owed
				if !open.same("open", cur, a, t) || open.raised {
					changes = append(changes, breachChange{a, t, open.id, "open", open.start, cur})
				}
			case cur.Status == Breached:
				changes = append(changes, breachChange{a, t, "", "open", cur.WindowStart, cur})
			case open != nil:
				r := cur
				r.ExcessMicros = open.excess
				changes = append(changes, breachChange{a, t, open.id, "closed", open.start, r})
			}
			continue
		}
		// Calendar windows: the current and previous ones, and the earlier
		// ones of the last year that outages or incidents touch (an outage
		// recorded late still breaches the window it fell in).
		floor := w.now.AddDate(-1, 0, 0)
		ws, we := cs, ce
		for n := 0; we.After(floor) && we.After(a.EffectiveFrom); n++ {
			r, measured := cur, true
			switch {
			case n == 1:
				r = prev
			case n > 1 && (touches(t, in, ws, we) || k.breaches[breachKey{a.ID, t.Code, ws.UTC()}] != nil):
				r = Measure(t, in, ws, we, now)
			case n > 1:
				measured = false
			}
			ws, we = t.Window.Previous(ws, loc)
			if !measured {
				continue
			}
			b := k.breaches[breachKey{a.ID, t.Code, r.WindowStart}]
			state := "open"
			if r.Final {
				state = "closed"
			}
			switch {
			case r.Status == Breached && b == nil:
				changes = append(changes, breachChange{a, t, "", state, r.WindowStart, r})
			case r.Status == Breached:
				if !b.same(state, r, a, t) {
					changes = append(changes, breachChange{a, t, b.id, state, r.WindowStart, r})
				}
			case b != nil && b.state != "withdrawn":
				// Corrected figures no longer breach: withdraw it and its rebate.
				r.ExcessMicros = 0
				changes = append(changes, breachChange{a, t, b.id, "withdrawn", r.WindowStart, r})
			}
		}
	}
	return out, changes, nil
}

// reportingPoints assesses a rolling target at each local month end
// after floor (a year ago) whose window something recorded after that
// month end touches (an outage recorded late, or corrected): a window
// breached there opens a breach, closed, or raises what the breach its
// window overlaps owes (never lowers it: one breach per stretch of
// overlapping windows, so the same downtime is not paid twice). The
// window ending now is the pass's own.
func (s *Service) reportingPoints(a *Agreement, t *Target, in *Inputs, k *known, now, floor time.Time, changes *[]breachChange) {
	loc := a.Calendar.Location()
	key := [2]string{a.ID, t.Code}
	for _, p := range monthEnds(loc, maxTime(floor, a.EffectiveFrom), now) {
		if !p.Before(now) {
			break
		}
		ws, we := t.Window.Bounds(p, loc)
		if !touchedSince(t, in, ws, we, Micros(p)) {
			continue
		}
		r := Measure(t, in, ws, we, now)
		if r.Status != Breached {
			continue
		}
		b := k.overlapping(a, t, r.WindowStart, r.WindowEnd)
		switch {
		case b == nil:
			*changes = append(*changes, breachChange{a, t, "", "closed", r.WindowStart, r})
			k.rolling[key] = append(k.rolling[key], &knownBreach{state: "closed", excess: r.ExcessMicros, measured: r.Measured,
				start: r.WindowStart, end: r.WindowEnd, change: len(*changes)})
		case b.state == "open":
			if r.ExcessMicros > b.excess {
				b.excess, b.raised = r.ExcessMicros, true
			}
		case r.ExcessMicros > b.excess || r.WindowEnd.After(b.end):
			if r.ExcessMicros <= b.excess {
				r.ExcessMicros, r.Measured = b.excess, b.measured // the window that owed the most says what was measured
			}
			r.WindowEnd = maxTime(r.WindowEnd, b.end)
			b.excess, b.end, b.measured = r.ExcessMicros, r.WindowEnd, r.Measured
			c := breachChange{a, t, b.id, "closed", b.start, r}
			if b.change > 0 {
				c.id = (*changes)[b.change-1].id
				(*changes)[b.change-1] = c
			} else {
				*changes = append(*changes, c)
				b.change = len(*changes)
			}
		}
	}
}

// overlapping is the latest breach of the rolling target whose stretch
// overlaps [start, end), or nil.
func (k *known) overlapping(a *Agreement, t *Target, start, end time.Time) *knownBreach {
	bs := k.rolling[[2]string{a.ID, t.Code}]
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].start.Before(end) && bs[i].end.After(start) {
			return bs[i]
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// touchedSince reports whether something the target counts in the window
// was recorded (or corrected) after the instant: an outage or incident a
// pass at that instant did not see.
func touchedSince(t *Target, in *Inputs, from, to time.Time, since int64) bool {
	f, e := Micros(from), Micros(to)
	switch t.Kind {
	case Availability, Reliability:
		for _, l := range in.Losses {
			if l.Recorded > since && l.Start < e && l.End > f && l.Impact != Degraded {
				return true
			}
		}
	case Response, Resolution:
		for _, c := range in.clocks(t) {
			if c.Recorded > since && c.Opened >= f && c.Opened < e {
				return true
			}
		}
	}
	return false
}

// touches reports whether anything the target counts happened in the
// window: for older windows, nothing there means nothing to breach.
func touches(t *Target, in *Inputs, from, to time.Time) bool {
	f, e := Micros(from), Micros(to)
	switch t.Kind {
	case Availability, Reliability:
		for _, l := range in.Losses {
			if l.Start < e && l.End > f && l.Impact != Degraded {
				return true
			}
		}
	case Response, Resolution, Fulfilment:
		for _, c := range in.clocks(t) {
			if c.Opened >= f && c.Opened < e {
				return true
			}
		}
	}
	return false
}

// inputsFor loads what a fulfilment target needs beyond outages and
// incidents: the orders for the scope since from. (A meter target's total
// is read per window: meterTotal.)
func (s *Service) inputsFor(ctx context.Context, a *Agreement, t *Target, in *Inputs, from, now time.Time) error {
	switch t.Kind {
	case Fulfilment:
		if in.Requests != nil {
			return nil
		}
		in.Requests = []Clock{}
		args := sqldb.Args{sqldb.Time(from)}
		svc := sqldb.In(&args, "f.service_id", refIDs(a.Scope.Services))
		var units []string
		for _, r := range a.Scope.OrgUnits {
			units = append(units, "u.path LIKE "+args.Add(r.path+"%"))
		}
		cond := ""
		if len(units) > 0 {
			cond = " AND (" + strings.Join(units, " OR ") + ")"
		}
		// An order completes once; its completed event is when it was fulfilled.
		requests, err := sqldb.QueryAll(ctx, s.db.Read(), "orders", func(row sqldb.Scanner) (Clock, error) {
			var opened time.Time
			var done sql.NullTime
			err := row.Scan(&opened, &done)
			c := Clock{Opened: Micros(opened)}
			if done.Valid {
				c.Done = Micros(done.Time)
			}
			return c, err
		}, `SELECT o.submitted_at, e.at
			FROM orders o JOIN org_units u ON u.id = o.org_unit_id LEFT JOIN order_events e ON e.order_id = o.id AND e.to_state = 'completed'
			WHERE o.submitted_at >= $1`+cond+`
			AND EXISTS (SELECT 1 FROM order_items i JOIN offerings f ON f.id = i.offering_id WHERE i.order_id = o.id AND `+svc+`)`, args...)
		if err != nil {
			return err
		}
		in.Requests = requests
		return nil
	}
	return nil
}

// meterTotal is the meter's total for the agreement's customer over
// [from, to), in whole hours (usage is rolled up by the hour).
func (s *Service) meterTotal(ctx context.Context, a *Agreement, t *Target, from, to time.Time) *big.Rat {
	q := metering.UsageQuery{Meter: t.Meter, From: from.UTC().Truncate(time.Hour), To: to.UTC().Add(time.Hour - 1).Truncate(time.Hour), Granularity: metering.Total}
	if len(a.Scope.OrgUnits) > 0 {
		q.OrgUnitID = a.Scope.OrgUnits[0].ID
	}
	total := new(big.Rat)
	u, err := s.metering.Usage(ctx, access.System(), q)
	if err != nil {
		s.log.Warn("meter target unreadable", "agreement", a.Code, "target", t.Code, "err", err)
		return total
	}
	for _, r := range u.Rows {
		total.Add(total, r.Quantity.Rat())
	}
	return total
}

// write stores a chunk's figures and breach changes with their rebates
// and notices, in one transaction and in few statements: the figures, the
// notices and the new breaches (nearly all of a first pass's writes) go in
// bulk; a breach that changes is updated on its own.
func (s *Service) write(ctx context.Context, tx *sqldb.Tx, part []*Agreement, results []stored, changes []breachChange, k *known, now time.Time) (int, error) {
	ids := make([]string, len(part))
	for i, a := range part {
		ids[i] = a.ID
	}
	var args sqldb.Args
	if _, err := tx.ExecContext(ctx, `DELETE FROM sla_results WHERE `+sqldb.In(&args, "agreement_id", ids), args...); err != nil {
		return 0, sqldb.Err(err, "sla results")
	}
	at := sqldb.Time(now)
	err := sqldb.Bulk{
		Object: "sla results",
		Head: `INSERT INTO sla_results (agreement_id, target, current, window_start, window_end, final, status, measured, agreed_us, downtime_us,
			budget_us, excess_us, budget_used, breaks, counted, within_count, late_count, running_count, computed_at)`,
		Cols: 19, Rows: len(results),
		Args: func(i int, args []any) []any {
			r := &results[i]
			cur := 0
			if r.current {
				cur = 1
			}
			return append(args, r.agreement.ID, r.target.Code, cur, sqldb.Time(r.WindowStart), sqldb.Time(r.WindowEnd), r.Final, r.Status, r.Measured,
				r.AgreedMicros, r.DowntimeMicros, r.BudgetMicros, r.ExcessMicros, r.BudgetUsed, r.Breaks, r.Counted, r.Within, r.Late, r.Running, at)
		},
	}.Insert(ctx, tx)
	if err != nil {
		return 0, err
	}
	notices, err := writeNotices(ctx, tx, results, k, now)
	if err != nil {
		return 0, err
	}
	var fresh []breachChange
	for _, c := range changes {
		if c.id == "" {
			fresh = append(fresh, c)
			continue
		}
		if err := s.updateBreach(ctx, tx, c, now); err != nil {
			return 0, err
		}
	}
	return notices, s.openBreaches(ctx, tx, fresh, k, now)
}

// writeNotices raises a notice for each target whose current window
// turned at risk or breached, in one statement, and returns how many. A
// window is told it is at risk once, with an sla.at_risk event, and not
// once it was breached; a rolling window, which moves with every pass, is
// told when it turns at risk (not as it comes back from breached), at most
// once a month (the period it is reported in). The at-risk notices
// already raised are the record of who was told (read in the pass's own
// transaction, so a pass that overlapped another tells nothing twice).
func writeNotices(ctx context.Context, tx *sqldb.Tx, results []stored, k *known, now time.Time) (int, error) {
	var notices []*stored
	var atRisk []*stored
	for i := range results {
		r := &results[i]
		if !r.current || r.Status != AtRisk && r.Status != Breached {
			continue
		}
		key := [2]string{r.agreement.ID, r.target.Code}
		last := k.status[key]
		before := last.status
		if !r.target.Window.Rolling() && !last.start.Equal(r.WindowStart) {
			before = NoData // a new calendar window starts afresh
		}
		if before == r.Status || before == Breached {
			continue
		}
		k.status[key] = lastStatus{r.Status, r.WindowStart}
		if r.Status == AtRisk {
			// A calendar window once breached (the breach withdrawn since:
			// corrected figures) was told more than a warning.
			if r.target.Window.Rolling() || k.breaches[breachKey{r.agreement.ID, r.target.Code, r.WindowStart}] == nil {
				atRisk = append(atRisk, r)
			}
			continue
		}
		notices = append(notices, r)
	}
	told, err := toldAtRisk(ctx, tx, atRisk)
	if err != nil {
		return 0, err
	}
	var events []outbox.Event
	for _, r := range atRisk {
		if !told[[2]string{r.agreement.ID, r.target.Code}].Before(reportedFrom(r)) {
			continue
		}
		notices = append(notices, r)
		events = append(events, atRiskEvent(r))
	}
	at := sqldb.Time(now)
	err = sqldb.Bulk{
		Object: "sla notices", Head: `INSERT INTO sla_notices (id, agreement_id, target, status, message, created_at)`, Cols: 6, Rows: len(notices),
		Args: func(i int, args []any) []any {
			r := notices[i]
			msg := fmt.Sprintf("%s: %s is %s (%s measured, budget %s%% spent)", r.agreement.Name, r.target.Describe(),
				strings.ReplaceAll(string(r.Status), "_", " "), r.Measured, r.BudgetUsed)
			return append(args, sqldb.NewID(), r.agreement.ID, r.target.Code, r.Status, msg, at)
		},
	}.Insert(ctx, tx)
	if err != nil {
		return 0, err
	}
	return len(notices), outbox.EmitAll(ctx, tx, access.System(), now, events)
}

// reportedFrom is the start of the period a target's current window is
// told at risk in: the calendar window, or for a rolling window the local
// month of the instant it was measured to.
func reportedFrom(r *stored) time.Time {
	if !r.target.Window.Rolling() {
		return r.WindowStart
	}
	l := r.WindowEnd.In(r.agreement.Calendar.Location())
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, l.Location()).UTC()
}

// toldAtRisk is when each of the targets was last told it is at risk,
// among the at-risk notices since the earliest of their periods (the zero
// time for a target not told since).
func toldAtRisk(ctx context.Context, tx *sqldb.Tx, rs []*stored) (map[[2]string]time.Time, error) {
	out := map[[2]string]time.Time{}
	if len(rs) == 0 {
		return out, nil
	}
	since := reportedFrom(rs[0])
	ids := make([]string, len(rs))
	for i, r := range rs {
		since, ids[i] = minTime(since, reportedFrom(r)), r.agreement.ID
	}
	slices.Sort(ids)
	args := sqldb.Args{sqldb.Time(since)}
	type notice struct {
		key [2]string
		at  time.Time
	}
	got, err := sqldb.QueryAll(ctx, tx, "sla notices", func(row sqldb.Scanner) (notice, error) {
		var n notice
		err := row.Scan(&n.key[0], &n.key[1], &n.at)
		return n, err
	}, `SELECT agreement_id, target, created_at FROM sla_notices WHERE status = 'at_risk' AND created_at >= $1 AND `+
		sqldb.In(&args, "agreement_id", slices.Compact(ids)), args...)
	if err != nil {
		return nil, err
	}
	for _, n := range got {
		out[n.key] = maxTime(out[n.key], n.at.UTC())
	}
	return out, nil
}

// levelRoles are told of an agreement's service levels: the service level
// managers and the owners of its service and, where it covers one org
// unit, that org unit's relationship managers (the roles a notice names
// are told on the scope of the event's service and org unit).
var levelRoles = []access.Role{access.RoleServiceLevelManager, access.RoleServiceOwner, access.RoleRelationshipManager}

// agreementEvent is an event about an agreement, placed on its service
// and, where it covers one org unit, on that org unit.
func agreementEvent(typ string, a *Agreement, data map[string]any) outbox.Event {
	e := outbox.Event{Type: typ, Subject: "agreements/" + a.ID, ServiceID: a.Scope.Service(), Data: data}
	if len(a.Scope.OrgUnits) == 1 {
		e.OrgUnitID = a.Scope.OrgUnits[0].ID
	}
	return e
}

// atRiskEvent is the sla.at_risk event of a target whose current window
// turned at risk, told to those told of its breaches.
func atRiskEvent(r *stored) outbox.Event {
	a, t := r.agreement, r.target
	threshold := t.AtRiskPercent
	if threshold == 0 {
		threshold = 75
	}
	e := agreementEvent("sla.at_risk", a, map[string]any{"agreement_id": a.ID, "agreement": a.Name, "target": t.Code,
		"window": r.WindowStart.Format(time.RFC3339) + "/" + r.WindowEnd.Format(time.RFC3339), "achieved": r.Measured, "objective": t.Describe(),
		"budget_used": r.BudgetUsed, "at_risk_percent": threshold})
	loc := a.Calendar.Location()
	body := fmt.Sprintf("Achieved so far: %s, in the window from %s to %s", r.Measured, r.WindowStart.In(loc).Format("2 Jan 2006"),
		r.WindowEnd.Add(-time.Nanosecond).In(loc).Format("2 Jan 2006"))
	if r.BudgetUsed != "" {
		body += fmt.Sprintf("; %s %% of what the target allows is spent", r.BudgetUsed)
	}
	e.Notice = &outbox.Notice{Title: fmt.Sprintf("%s is at risk of missing %s", a.Name, t.Describe()), Body: body + ".",
		Link: "/sla/agreements/" + url.PathEscape(a.Code), Roles: levelRoles}
	return e
}

// openBreaches records the breaches a pass found new: their rebates
// reckoned first, so that one statement inserts them all, then their audit
// records and credits. A breach that another pass (a scheduled one and one
// a change asked for, on two replicas) recorded meanwhile is left to it:
// the first one records it.
func (s *Service) openBreaches(ctx context.Context, tx *sqldb.Tx, fresh []breachChange, k *known, now time.Time) error {
	if len(fresh) == 0 {
		return nil
	}
	type row struct {
		c  *breachChange
		id string
		r  reckoning
	}
	rows := make([]row, len(fresh))
	for i := range fresh {
		id := sqldb.NewID()
		r, err := s.reckon(ctx, tx, fresh[i], id)
		if err != nil {
			return err
		}
		rows[i] = row{&fresh[i], id, r}
	}
	at := sqldb.Time(now)
	inserted := map[string]bool{}
	err := sqldb.Bulk{
		Object: "sla breach",
		Head: `INSERT INTO sla_breaches (id, agreement_id, target, window_start, window_end, state, measured, objective, excess_us,
			rebate_kind, rebate_minor, currency, rebate_detail, opened_at, updated_at)`,
		Tail: ` ON CONFLICT (agreement_id, target, window_start) DO NOTHING RETURNING id`,
		Cols: 15, Rows: len(rows),
		Args: func(i int, args []any) []any {
			x := rows[i]
			c := x.c
			return append(args, x.id, c.agreement.ID, c.target.Code, sqldb.Time(c.start), sqldb.Time(c.WindowEnd), c.state, c.Measured, c.target.Describe(),
				c.ExcessMicros, x.r.kind, x.r.total, c.agreement.Currency, x.r.detail, at, at)
		},
		Scan: func(row sqldb.Scanner) error {
			var id string
			err := row.Scan(&id)
			inserted[id] = true
			return err
		},
	}.Insert(ctx, tx)
	if err != nil {
		return err
	}
	var entries []audit.Entry
	var events []outbox.Event
	for _, x := range rows {
		if !inserted[x.id] {
			continue
		}
		c := x.c
		k.breaches[breachKey{c.agreement.ID, c.target.Code, c.start}] = &knownBreach{id: x.id, state: c.state, excess: c.ExcessMicros, start: c.start}
		entries = append(entries, audit.Entry{Action: "sla_breach.open", ObjectType: "sla_breach", ObjectID: x.id,
			After: map[string]any{"agreement": c.agreement.Code, "target": c.target.Code, "window_start": c.start, "measured": c.Measured}})
		events = append(events, breachEvent(c, x.id, now))
		for _, in := range x.r.credits {
			in.Tell = now.Sub(c.WindowEnd) <= breachTold // as the breach itself
			if err := billing.SetCredit(ctx, tx, now, in); err != nil {
				return err
			}
		}
	}
	if err := outbox.EmitAll(ctx, tx, access.System(), now, events); err != nil {
		return err
	}
	return audit.WriteAll(ctx, tx, access.System(), now, entries)
}

// breachTold is how recent a breach's window must have ended for people to
// be told of it: the first pass over an agreement's history records old
// breaches (and emits their events) but does not page anyone about them.
const breachTold = 7 * 24 * time.Hour

// breachEvent is the sla.breached event of a breach just opened, told to
// the service level managers and the owners of the agreement's service
// and, where it covers one org unit, that org unit's relationship managers.
func breachEvent(c *breachChange, id string, now time.Time) outbox.Event {
	a := c.agreement
	e := agreementEvent("sla.breached", a, map[string]any{"agreement_id": a.ID, "agreement": a.Name, "target": c.target.Code,
		"window": c.start.Format(time.RFC3339) + "/" + c.WindowEnd.Format(time.RFC3339), "achieved": c.Measured, "objective": c.target.Describe(),
		"breach_id": id})
	if now.Sub(c.WindowEnd) <= breachTold {
		e.Notice = &outbox.Notice{Title: fmt.Sprintf("%s missed %s", a.Name, c.target.Describe()),
			Body:  fmt.Sprintf("Achieved %s in the window from %s to %s.", c.Measured, c.start.Format("2 Jan 2006"), c.WindowEnd.Format("2 Jan 2006")),
			Link:  "/sla/breaches/" + id,
			Roles: levelRoles}
	}
	return e
}

// updateBreach writes a known breach's new figures and state, and its
// rebate.
func (s *Service) updateBreach(ctx context.Context, tx *sqldb.Tx, c breachChange, now time.Time) error {
	at := sqldb.Time(now)
	closed := any(nil)
	if c.state != "open" {
		closed = at
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sla_breaches SET window_end = $1, state = $2, measured = $3, objective = $4, excess_us = $5, updated_at = $6,
		closed_at = COALESCE(closed_at, $7) WHERE id = $8`, sqldb.Time(c.WindowEnd), c.state, c.Measured, c.target.Describe(), c.ExcessMicros, at, closed, c.id); err != nil {
		return sqldb.Err(err, "sla breach")
	}
	if c.state == "open" {
		if _, err := tx.ExecContext(ctx, `UPDATE sla_breaches SET closed_at = NULL WHERE id = $1`, c.id); err != nil {
			return sqldb.Err(err, "sla breach")
		}
	}
	r, err := s.reckon(ctx, tx, c, c.id)
	if err != nil || r.kind == "" {
		return err
	}
	for _, in := range r.credits {
		if err := billing.SetCredit(ctx, tx, now, in); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE sla_breaches SET rebate_kind = $1, rebate_minor = $2, rebate_detail = $3 WHERE id = $4`,
		r.kind, r.total, r.detail, c.id)
	return sqldb.Err(err, "sla breach")
}

// reckoning is what a breach costs: its rebate and the credits that carry
// it to the customer's invoices.
type reckoning struct {
	kind    string // credit, claim; "" when no rule covers the target (or an OLA)
	total   int64
	detail  string
	credits []billing.CreditInput
}

// reckon works out what a breach costs under the agreement's rule for the
// target: for an SLA a credit per customer org unit waiting for its next
// invoice, for a UC a claim against the supplier, capped.
func (s *Service) reckon(ctx context.Context, tx *sqldb.Tx, c breachChange, breachID string) (reckoning, error) {
	a := c.agreement
	var rule *Rebate
	for i := range a.Rebates {
		if a.Rebates[i].Target == c.target.Code {
			rule = &a.Rebates[i]
		}
	}
	var out reckoning
	if rule == nil || a.Kind == OLA {
		return out, nil
	}
	out.kind = "credit"
	if a.Kind == UC {
		out.kind = "claim"
	}
	hours := new(big.Rat).SetFrac64(c.ExcessMicros, int64(time.Hour/time.Microsecond))
	if c.state == "withdrawn" {
		hours = new(big.Rat)
	}
	var details []string
	parties := a.Scope.OrgUnits
	if a.Kind == UC || len(parties) == 0 {
		parties = []Ref{{}}
	}
	for _, ou := range parties {
		var amount *big.Rat
		detail := ""
		switch rule.Kind {
		case PerHour:
			units := int64(rule.Units)
			if units == 0 && ou.ID != "" {
				var err error
				if units, err = s.unitsIn(ctx, tx, a, ou); err != nil {
					return out, err
				}
			}
			if units == 0 {
				units = 1
			}
			amount = new(big.Rat).Mul(hours, new(big.Rat).Mul(rat(rule.Amount), big.NewRat(units, 1)))
			detail = fmt.Sprintf("%s h beyond the allowance × %s %s per hour × %d units", hours.FloatString(2), rule.Amount, a.Currency, units)
		case PercentOfCharge:
			charge, err := s.chargeIn(ctx, tx, a, ou, c.start, c.WindowEnd)
			if err != nil {
				return out, err
			}
			amount = new(big.Rat).Mul(new(big.Rat).SetFrac64(charge, 1), new(big.Rat).Quo(rat(rule.Percent), big.NewRat(100, 1)))
			amount.Quo(amount, new(big.Rat).SetInt64(pow10(a.Currency)))
			if c.state == "withdrawn" {
				amount = new(big.Rat)
			}
			detail = fmt.Sprintf("%s %% of %s %s charged", rule.Percent, money.New(charge, a.Currency).Decimal(), a.Currency)
		}
		amt, err := money.RoundMinor(amount, a.Currency)
		if err != nil {
			return out, err
		}
		if rule.Cap != "" {
			cp, _ := money.Parse(rule.Cap, a.Currency)
			if amt.Minor > cp.Minor {
				amt.Minor = cp.Minor
				detail += fmt.Sprintf(", capped at %s %s", rule.Cap, a.Currency)
			}
		}
		out.total += amt.Minor
		if ou.Name != "" {
			detail = ou.Name + ": " + detail
		}
		details = append(details, detail)
		if out.kind != "credit" {
			continue
		}
		desc := fmt.Sprintf("SLA rebate: %s, %s breached (%s – %s)", a.Name, c.target.Describe(), c.start.In(a.Calendar.Location()).Format("2 Jan 2006"),
			c.WindowEnd.Add(-time.Nanosecond).In(a.Calendar.Location()).Format("2 Jan 2006")) // the last day of the window, which ends at its midnight
		out.credits = append(out.credits, billing.CreditInput{OrgUnitID: ou.ID, Currency: a.Currency, TotalMinor: amt.Minor, Description: desc,
			ServiceID: a.Scope.Service(), Source: "sla_breach", SourceID: breachID + "/" + ou.ID, Explain: map[string]any{"source": "sla_breach", "breach_id": breachID, "agreement": a.Code,
				"agreement_name": a.Name, "target": c.target.Code, "measured": c.Measured, "rule": rule.Describe(a.Currency), "reckoning": detail}})
	}
	out.detail = strings.Join(details, "; ")
	return out, nil
}

func pow10(currency string) int64 {
	n := int64(1)
	for range money.Exponent(currency) {
		n *= 10
	}
	return n
}

// scopeFilter is the SQL condition and arguments for instances (alias i)
// in the agreement's scope under the org unit.
func scopeFilter(a *Agreement, ou Ref, args *sqldb.Args) string {
	cond := sqldb.In(args, "i.service_id", refIDs(a.Scope.Services))
	if len(a.Scope.Offerings) > 0 {
		cond += " AND " + sqldb.In(args, "i.offering_id", refIDs(a.Scope.Offerings))
	}
	if len(a.Scope.Plans) > 0 {
		cond += " AND " + sqldb.In(args, "i.plan_id", refIDs(a.Scope.Plans))
	}
	return cond + " AND u.path LIKE " + args.Add(ou.path+"%")
}

func refIDs(rs []Ref) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// unitsIn counts the org unit's units in scope: its active instances'
// quantities (the PCs of a desktop service).
func (s *Service) unitsIn(ctx context.Context, tx *sqldb.Tx, a *Agreement, ou Ref) (int64, error) {
	var args sqldb.Args
	cond := scopeFilter(a, ou, &args)
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(i.quantity), 0) FROM instances i JOIN org_units u ON u.id = i.org_unit_id
		WHERE i.state = 'active' AND `+cond, args...).Scan(&n)
	return n, sqldb.Err(err, "instances")
}

// chargeIn sums what invoices and statements of periods inside the
// window charged the org unit for the scope (credits and adjustments
// aside), in minor units.
func (s *Service) chargeIn(ctx context.Context, tx *sqldb.Tx, a *Agreement, ou Ref, from, to time.Time) (int64, error) {
	args := sqldb.Args{sqldb.Time(from), sqldb.Time(to), a.Currency}
	cond := scopeFilter(a, ou, &args)
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(l.amount_minor), 0) FROM billing_lines l JOIN billing_documents d ON d.id = l.document_id
		JOIN instances i ON i.id = l.instance_id JOIN org_units u ON u.id = i.org_unit_id
		WHERE d.state <> 'void' AND d.kind <> 'credit_note' AND d.period_start >= $1 AND d.period_end <= $2 AND d.currency = $3
		AND l.kind NOT IN ('credit', 'adjustment') AND `+cond, args...).Scan(&n)
	return n, sqldb.Err(err, "billing lines")
}
