package metering

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Service is the metering domain: meters, ingest and usage.
type Service struct {
	db     *sqldb.DB
	now    func() time.Time
	meters *meterCache
	parts  partitions

	queue chan *pending
	stop  chan struct{}
	done  sync.WaitGroup
}

// committers is how many group commits run at once: one on SQLite (one
// writer), a few on PostgreSQL.
func committers(d sqldb.Dialect) int {
	if d == sqldb.Postgres {
		return 4
	}
	return 1
}

// maxGroup is the most events one group commit takes. Groups stay small
// when load is light (a group is what arrived during the commit before),
// so latency at half load does not depend on it; at full load a large
// group adds up more events per rollup key before writing them, and
// commits cheaper: on SQLite about 15 µs of CPU an event in groups of
// 10,000 against 20 to 30 µs in groups of 500 to 2,000
// (BenchmarkCommitPerEvent).
const maxGroup = 20_000

// New returns the metering service and starts its committers; Close stops them.
func New(db *sqldb.DB, now func() time.Time) *Service {
	s := &Service{db: db, now: now, meters: &meterCache{db: db, ttl: 5 * time.Second},
		queue: make(chan *pending, 4096), stop: make(chan struct{})}
	for range committers(db.Dialect) {
		s.done.Add(1)
		go s.commitLoop()
	}
	return s
}

// Close stops the committers after the queued work is committed.
func (s *Service) Close() {
	close(s.stop)
	s.done.Wait()
}

// Status of one event of a request.
type Status string

// The statuses.
const (
	Accepted  Status = "accepted"
	Duplicate Status = "duplicate" // accepted before: counted once
	Rejected  Status = "rejected"
)

// EventResult is what became of one event, listed when it is not plainly accepted.
type EventResult struct {
	Index    int       `json:"index"`
	ID       string    `json:"id,omitempty"`
	Source   string    `json:"source,omitempty"`
	Status   Status    `json:"status"`
	Problems []Problem `json:"problems,omitempty"`
}

// Result is the answer to an ingest request.
type Result struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Events     []EventResult `json:"events"`
}

// contribution is what one event adds to one meter.
type contribution struct {
	meter *Meter
	dims  string
	value Quantity
	uniq  string
}

// row is a valid event on its way to the database.
type row struct {
	ev      *Event
	index   int
	contrib []contribution
	dup     bool
	// problems are why the commit refused the event (an hour it would
	// take past its maximum); it is then not recorded.
	problems eventError
}

type pending struct {
	rows []*row
	done chan error
}

// Ingest accepts the valid events of a parsed request once each, durably:
// it returns after the commit that holds them. Callers need usage.ingest.
// Invalid events are refused one by one; the others are accepted (a batch
// is not all or nothing). An event is also refused when a meter of its type
// cannot read its value from the data, when the value is negative or past
// MaxValue, when it would take its subject's hour past MaxHourQuantity, and
// when its subject is outside the scope of the caller's usage.ingest grants.
// Returns forbidden without usage.ingest anywhere, and unavailable while
// the service shuts down.
func (s *Service) Ingest(ctx context.Context, p *access.Principal, in *Parsed) (*Result, error) {
	if err := p.RequireAnywhere(access.UsageIngest); err != nil {
		return nil, err
	}
	meters, err := s.meters.get(ctx)
	if err != nil {
		return nil, err
	}
	outside, err := s.outOfScope(ctx, p, in)
	if err != nil {
		return nil, err
	}
	res := &Result{Events: []EventResult{}}
	rows := make([]*row, 0, len(in.Events))
	for i, ev := range in.Events {
		problems := in.Problems[i]
		var contrib []contribution
		if len(problems) == 0 && outside[ev.Subject] {
			problems = eventError{{"subject", "subject " + ev.Subject + " is not a service instance or org unit you may report usage for: " +
				"your usage_reporter grants cover only their org units, the org units under them and their instances"}}
		}
		if len(problems) == 0 {
			contrib, problems = apply(meters[ev.Type], ev)
		}
		if len(problems) > 0 {
			res.Rejected++
			res.Events = append(res.Events, EventResult{Index: i, ID: ev.ID, Source: ev.Source, Status: Rejected, Problems: problems})
			continue
		}
		rows = append(rows, &row{ev: ev, index: i, contrib: contrib})
	}
	if len(rows) > 0 {
		pd := &pending{rows: rows, done: make(chan error, 1)}
		select {
		case s.queue <- pd:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.stop:
			return nil, errs.Unavailable("Steward is shutting down: send the events again")
		}
		select {
		case err := <-pd.done:
			if err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for _, r := range rows {
		if len(r.problems) > 0 {
			res.Rejected++
			res.Events = append(res.Events, EventResult{Index: r.index, ID: r.ev.ID, Source: r.ev.Source, Status: Rejected, Problems: r.problems})
			continue
		}
		if r.dup {
			res.Duplicates++
			res.Events = append(res.Events, EventResult{Index: r.index, ID: r.ev.ID, Source: r.ev.Source, Status: Duplicate})
		} else {
			res.Accepted++
		}
	}
	sort.Slice(res.Events, func(i, j int) bool { return res.Events[i].Index < res.Events[j].Index })
	return res, nil
}

// outOfScope returns the subjects of a request's valid events that p may
// not report usage for. A subject is in scope when it is an instance or an
// org unit that one of p's usage.ingest grants covers; with a global grant
// every subject is, including subjects Steward does not know (yet).
func (s *Service) outOfScope(ctx context.Context, p *access.Principal, in *Parsed) (map[string]bool, error) {
	if all, _ := p.OrgUnitScope(access.UsageIngest); all {
		return nil, nil
	}
	seen := map[string]bool{}
	var subjects []string
	for i, ev := range in.Events {
		if len(in.Problems[i]) == 0 && !seen[ev.Subject] {
			seen[ev.Subject] = true
			subjects = append(subjects, ev.Subject)
		}
	}
	owners, err := attribute(ctx, s.db.Read(), subjects)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, subject := range subjects {
		o, ok := owners[subject]
		if !ok || !p.Can(access.UsageIngest, access.Resource{OrgUnitPath: o.path, ServiceID: o.serviceID}) {
			out[subject] = true
		}
	}
	return out, nil
}

// apply reads what each meter of the event's type takes from it.
func apply(meters []*Meter, ev *Event) ([]contribution, eventError) {
	if len(meters) == 0 {
		return nil, nil
	}
	data := &eventData{raw: ev.Data} // valid JSON: it was decoded with the event
	var e eventError
	out := make([]contribution, 0, len(meters))
	for _, m := range meters {
		c := contribution{meter: m, dims: "{}"}
		if len(m.GroupBy) > 0 {
			dims := make(map[string]string, len(m.GroupBy))
			for _, g := range m.GroupBy {
				if v, ok := scalar(data.lookup(g)); ok {
					if msg := badDimension(v); msg != "" {
						e.add("data."+g, "meter "+m.Code+" groups by data."+g+": "+msg)
					}
					dims[g] = v
				}
			}
			b, _ := json.Marshal(dims) // keys sorted: one spelling per set of values
			c.dims = string(b)
		}
		switch m.Aggregation {
		case Count:
			c.value = Scale
		case UniqueCount:
			v, ok := scalar(data.lookup(m.ValuePath))
			if !ok || v == "" {
				e.add("data."+m.ValuePath, "meter "+m.Code+" counts distinct values of data."+m.ValuePath+": send a string or number there")
				continue
			}
			if msg := badDimension(v); msg != "" {
				e.add("data."+m.ValuePath, "meter "+m.Code+" counts distinct values of data."+m.ValuePath+": "+msg)
				continue
			}
			c.uniq, c.value = v, Scale
		default:
			raw := data.lookup(m.ValuePath)
			v, ok := scalar(raw)
			q, err := ParseQuantity(v)
			switch {
			case !ok || err != nil:
				e.add("data."+m.ValuePath, "meter "+m.Code+" needs a number at data."+m.ValuePath+" with at most 6 decimal places"+got(raw))
				continue
			case q < 0:
				e.add("data."+m.ValuePath, "meter "+m.Code+" takes no negative values at data."+m.ValuePath+
					": usage is never negative, and corrections are not sent as events"+got(raw))
				continue
			case q > MaxValue:
				e.add("data."+m.ValuePath, "meter "+m.Code+" takes values of at most "+MaxValue.String()+" "+m.Unit+
					" at data."+m.ValuePath+" in one event"+got(raw))
				continue
			}
			c.value = q
		}
		out = append(out, c)
	}
	return out, e
}

// badDimension says what is wrong with a group-by or unique-count value, or "".
func badDimension(v string) string {
	switch {
	case len(v) > MaxDimensionLen:
		return "the value must be at most " + strconv.Itoa(MaxDimensionLen) + " bytes"
	case strings.ContainsRune(v, 0):
		return "the value must not hold a NUL character"
	}
	return ""
}

func got(raw json.RawMessage) string {
	if raw == nil {
		return " (it is missing)"
	}
	s := string(raw)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return " (got " + s + ")"
}

// commitLoop takes pending requests off the queue and commits them in
// groups: whatever is waiting when a commit starts goes into it.
func (s *Service) commitLoop() {
	defer s.done.Done()
	for {
		var first *pending
		select {
		case first = <-s.queue:
		case <-s.stop:
			// Drain what was queued before the stop.
			for {
				select {
				case first = <-s.queue:
					s.commitGroup([]*pending{first})
				default:
					return
				}
			}
		}
		group, n := []*pending{first}, len(first.rows)
	gather:
		for n < maxGroup {
			select {
			case pd := <-s.queue:
				group = append(group, pd)
				n += len(pd.rows)
			default:
				break gather
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup commits a group in one transaction. Should that fail, it
// commits each request of the group on its own: one client's batch the
// database refuses fails only that client.
func (s *Service) commitGroup(group []*pending) {
	ctx := context.Background()
	received := sqldb.Time(s.now())
	err := s.ensurePartition(ctx, monthOf(received))
	if err == nil {
		err = s.db.Tx(ctx, func(tx *sqldb.Tx) error { return s.write(tx, group, received) })
	}
	if err != nil && len(group) > 1 {
		for _, pd := range group {
			s.commitGroup([]*pending{pd})
		}
		return
	}
	for _, pd := range group {
		pd.done <- err
	}
}

// eventKey is an event's identity: a replay is an event with the same
// source, id and subject. The subject is part of it so that a reporter,
// which may write only subjects in its scope, can neither make another org
// unit's event a duplicate nor learn from a "duplicate" answer which
// (source, id) another org unit used (issue 15, finding 5, review).
type eventKey struct{ source, id, subject string }

type rollupKey struct {
	meter, subject, dims string
	hour                 time.Time
}

type rollupDelta struct {
	agg      Aggregation
	quantity Quantity
	events   int64
	lastAt   time.Time
}

// write stores a group's events, skipping those seen before, and adds the
// new ones to the rollups, in one transaction.
func (s *Service) write(tx *sqldb.Tx, group []*pending, received time.Time) error {
	ctx := context.Background()
	pg := tx.Dialect == sqldb.Postgres
	first := map[eventKey]*row{}
	var fresh []*row
	var keys []eventKey
	for _, pd := range group {
		for _, r := range pd.rows {
			r.dup, r.problems = false, nil // a group that failed may be tried again
			k := eventKey{r.ev.Source, r.ev.ID, r.ev.Subject}
			if first[k] != nil {
				r.dup = true
				continue
			}
			first[k] = r
			fresh = append(fresh, r)
			keys = append(keys, k)
		}
	}
	if pg {
		// Replays received in an earlier month than their first copy are
		// in another partition, where the primary key cannot see them.
		if err := lockPeriod(ctx, tx, received); err != nil {
			return err
		}
		seen, err := lookBack(ctx, tx, received, keys)
		if err != nil {
			return err
		}
		if len(seen) > 0 {
			kept := fresh[:0]
			for _, r := range fresh {
				if seen[eventKey{r.ev.Source, r.ev.ID, r.ev.Subject}] {
					r.dup = true
					continue
				}
				kept = append(kept, r)
			}
			fresh = kept
		}
	}
	// Insert the events. Nearly always all are new: the insert runs without
	// RETURNING (SQLite buffers returned rows, and reading them back costs
	// as much again), and only when it stored fewer rows than it was given
	// is it undone to the savepoint and run again, RETURNING the new ones.
	period := monthOf(received)
	ins := sqldb.Bulk{
		Object: "usage events",
		Head:   `INSERT INTO usage_events (source, id, type, subject, time, received_at, data)`,
		Tail:   ` ON CONFLICT (source, id, subject) DO NOTHING`,
		Cols:   7, Rows: len(fresh),
		Args: func(i int, args []any) []any {
			r := fresh[i]
			data := string(r.ev.Data)
			if data == "" {
				data = "{}"
			}
			args = append(args, r.ev.Source, r.ev.ID, r.ev.Type, r.ev.Subject, sqldb.Time(r.ev.Time), received, data)
			if pg {
				args = append(args, period)
			}
			return args
		},
	}
	if pg {
		ins.Head, ins.Tail, ins.Cols = `INSERT INTO usage_events (source, id, type, subject, time, received_at, data, period)`,
			` ON CONFLICT (source, id, subject, period) DO NOTHING`, 8
	}
	allNew, err := insertAll(ctx, tx, ins)
	if err != nil {
		return err
	}
	var inserted map[eventKey]bool
	if !allNew {
		inserted = make(map[eventKey]bool, len(fresh))
		ins.Tail += ` RETURNING source, id, subject`
		ins.Scan = func(row sqldb.Scanner) error {
			var k eventKey
			err := row.Scan(&k.source, &k.id, &k.subject)
			inserted[k] = true
			return err
		}
		if err := ins.Insert(ctx, tx); err != nil {
			return err
		}
	}
	deltas := map[rollupKey]*rollupDelta{}
	type uniq struct {
		key   rollupKey
		value string
	}
	var uniques []uniq
	type gauge struct {
		key   rollupKey
		at    time.Time
		value Quantity
	}
	var gauges []gauge
	var added []*row
	for _, r := range fresh {
		if !allNew && !inserted[eventKey{r.ev.Source, r.ev.ID, r.ev.Subject}] {
			r.dup = true
			continue
		}
		added = append(added, r)
	}
	if err := refuseFullHours(ctx, tx, added, period); err != nil {
		return err
	}
	for _, r := range added {
		if len(r.problems) > 0 {
			continue
		}
		at := sqldb.Time(r.ev.Time)
		for _, c := range r.contrib {
			k := rollupKey{c.meter.ID, r.ev.Subject, c.dims, at.Truncate(time.Hour)}
			d := deltas[k]
			if d == nil {
				d = &rollupDelta{agg: c.meter.Aggregation, lastAt: at}
				switch c.meter.Aggregation {
				case Max, Latest, TimeWeighted:
					d.quantity = c.value
				}
				deltas[k] = d
			}
			d.events++
			switch c.meter.Aggregation {
			case Sum, Count:
				d.quantity += c.value
			case Max:
				d.quantity = max(d.quantity, c.value)
			case Latest, TimeWeighted:
				if !at.Before(d.lastAt) {
					d.quantity = c.value
				}
			case UniqueCount:
				uniques = append(uniques, uniq{k, c.uniq})
			}
			if at.After(d.lastAt) {
				d.lastAt = at
			}
			if c.meter.Aggregation == TimeWeighted {
				gauges = append(gauges, gauge{k, at, c.value})
			}
		}
	}
	// Distinct values: a value new to the hour adds one to its rollup.
	err = sqldb.Bulk{
		Object: "usage uniques",
		Head:   `INSERT INTO usage_uniques (meter_id, subject, dims, hour, value)`,
		Tail:   ` ON CONFLICT DO NOTHING RETURNING meter_id, subject, dims, hour`,
		Cols:   5, Rows: len(uniques),
		Args: func(i int, args []any) []any {
			u := uniques[i]
			return append(args, u.key.meter, u.key.subject, u.key.dims, u.key.hour, u.value)
		},
		Scan: func(row sqldb.Scanner) error {
			var k rollupKey
			if err := row.Scan(&k.meter, &k.subject, &k.dims, &k.hour); err != nil {
				return err
			}
			k.hour = k.hour.UTC()
			if d := deltas[k]; d != nil {
				d.quantity += Scale
			}
			return nil
		},
	}.Insert(ctx, tx)
	if err != nil {
		return err
	}
	err = sqldb.Bulk{
		Object: "usage gauges",
		Head:   `INSERT INTO usage_gauges (meter_id, subject, dims, at, quantity)`,
		Tail:   ` ON CONFLICT DO NOTHING`,
		Cols:   5, Rows: len(gauges),
		Args: func(i int, args []any) []any {
			g := gauges[i]
			return append(args, g.key.meter, g.key.subject, g.key.dims, g.at, int64(g.value))
		},
	}.Insert(ctx, tx)
	if err != nil {
		return err
	}
	if err := upsertRollups(ctx, tx, deltas); err != nil {
		return err
	}
	if pg {
		return s.checkBoundary(received)
	}
	return nil
}

// insertAll runs b's insert (no RETURNING) after a savepoint and reports
// whether every row was stored. When one was not (a conflict), the insert
// is undone to the savepoint, for the caller to run it again and learn
// which rows were new.
func insertAll(ctx context.Context, tx *sqldb.Tx, b sqldb.Bulk) (bool, error) {
	if b.Rows == 0 {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT usage_events_insert`); err != nil {
		return false, sqldb.Err(err, b.Object)
	}
	per := min(400, 8000/b.Cols)
	var stored int64
	var sb strings.Builder
	args := make([]any, 0, per*b.Cols)
	for start := 0; start < b.Rows; start += per {
		end := min(start+per, b.Rows)
		sb.Reset()
		sb.WriteString(b.Head)
		sb.WriteString(" VALUES ")
		args = args[:0]
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteByte(',')
			}
			sqldb.Placeholders(&sb, tx.Dialect, len(args), b.Cols)
			args = b.Args(i, args)
		}
		sb.WriteString(b.Tail)
		res, err := tx.ExecContext(ctx, sb.String(), args...)
		if err != nil {
			return false, sqldb.Err(err, b.Object)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, sqldb.Err(err, b.Object)
		}
		stored += n
	}
	if stored == int64(b.Rows) {
		_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT usage_events_insert`)
		return true, sqldb.Err(err, b.Object)
	}
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT usage_events_insert`); err != nil {
		return false, sqldb.Err(err, b.Object)
	}
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT usage_events_insert`)
	return false, sqldb.Err(err, b.Object)
}

// additive reports whether an aggregation's hourly quantity grows with each
// event.
func additive(a Aggregation) bool { return a == Sum || a == Count || a == UniqueCount }

type hourKey struct {
	meter, subject string
	hour           int64 // Unix seconds
}

// refuseFullHours refuses, in order, the new events that would take a
// subject's hour of an additive meter (all group-by values together) past
// MaxHourQuantity, and forgets them: they are deleted from usage_events, so
// a replay is refused again rather than answered as a duplicate. This is
// what keeps the sums Steward makes in int64.
//
// The check is exact with one committer (SQLite). On PostgreSQL several
// commits run at once (committers per replica, times the replicas), and
// each checks only against what was committed before it reads: commits that
// do not see each other may each fill the hour, so an hour can hold up to
// n × MaxHourQuantity, n the number of commits in flight at once (4 per
// replica: committers). A month of hours (744) at one MaxHourQuantity is a
// twelfth of int64's range, so monthly sums fit for n up to 12; beyond
// that a read whose sum does not fit is refused by the checked arithmetic
// in usage.go, never wrapped.
func refuseFullHours(ctx context.Context, tx *sqldb.Tx, rows []*row, period time.Time) error {
	totals := map[hourKey]Quantity{}
	var keys []hourKey
	for _, r := range rows {
		for _, c := range r.contrib {
			k := hourKey{c.meter.ID, r.ev.Subject, sqldb.Time(r.ev.Time).Truncate(time.Hour).Unix()}
			if _, ok := totals[k]; !ok && additive(c.meter.Aggregation) {
				totals[k] = 0
				keys = append(keys, k)
			}
		}
	}
	// Read the totals one meter and hour at a time: a range of the
	// (meter_id, hour) index holding the hour's rows, filtered to the
	// subjects of this commit. (One OR term per key made SQLite plan each
	// term apart, and took a third of the commit.)
	type meterHour struct {
		meter string
		hour  int64
	}
	bySlot := map[meterHour][]string{}
	var slots []meterHour
	for _, k := range keys {
		mh := meterHour{k.meter, k.hour}
		if _, ok := bySlot[mh]; !ok {
			slots = append(slots, mh)
		}
		bySlot[mh] = append(bySlot[mh], k.subject)
	}
	const per = 500 // subjects per query
	for _, mh := range slots {
		subjects := bySlot[mh]
		for start := 0; start < len(subjects); start += per {
			chunk := subjects[start:min(start+per, len(subjects))]
			var b strings.Builder
			args := make([]any, 0, 2+len(chunk))
			args = append(args, mh.meter, time.Unix(mh.hour, 0).UTC())
			b.WriteString(`SELECT subject, CAST(SUM(quantity) AS BIGINT) FROM usage_rollups WHERE meter_id = $1 AND hour = $2 AND subject `)
			if tx.Dialect == sqldb.Postgres {
				// One array parameter: PostgreSQL plans it once, not 500 values.
				b.WriteString(`= ANY($3)`)
				args = append(args, chunk)
			} else {
				b.WriteString(`IN `)
				sqldb.Placeholders(&b, tx.Dialect, 2, len(chunk))
				for _, subject := range chunk {
					args = append(args, subject)
				}
			}
			b.WriteString(` GROUP BY subject`)
			type total struct {
				subject string
				sum     int64
			}
			sums, err := sqldb.QueryAll(ctx, tx, "usage rollups", func(row sqldb.Scanner) (total, error) {
				var t total
				return t, row.Scan(&t.subject, &t.sum)
			}, b.String(), args...)
			if err != nil {
				return err
			}
			for _, t := range sums {
				totals[hourKey{mh.meter, t.subject, mh.hour}] = Quantity(t.sum)
			}
		}
	}
	var refused []*row
	for _, r := range rows {
		for _, c := range r.contrib {
			if !additive(c.meter.Aggregation) {
				continue
			}
			hour := sqldb.Time(r.ev.Time).Truncate(time.Hour)
			k := hourKey{c.meter.ID, r.ev.Subject, hour.Unix()}
			if totals[k] > MaxHourQuantity-c.value { // c.value <= MaxValue <= MaxHourQuantity
				field := ""
				if c.meter.ValuePath != "" {
					field = "data." + c.meter.ValuePath
				}
				r.problems.add(field, fmt.Sprintf("meter %s holds at most %s %s per subject and hour; %s already has %s in the hour from %s: "+
					"this event would take it past the limit", c.meter.Code, MaxHourQuantity, c.meter.Unit, r.ev.Subject, totals[k], hour.Format(time.RFC3339)))
			}
		}
		if len(r.problems) > 0 {
			refused = append(refused, r)
			continue
		}
		for _, c := range r.contrib {
			if additive(c.meter.Aggregation) {
				totals[hourKey{c.meter.ID, r.ev.Subject, sqldb.Time(r.ev.Time).Truncate(time.Hour).Unix()}] += c.value
			}
		}
	}
	const perDelete = 300 // three parameters each
	for start := 0; start < len(refused); start += perDelete {
		chunk := refused[start:min(start+perDelete, len(refused))]
		var b strings.Builder
		args := make(sqldb.Args, 0, 3*len(chunk)+1)
		b.WriteString(`DELETE FROM usage_events WHERE `)
		if tx.Dialect == sqldb.Postgres {
			b.WriteString(`period = ` + args.Add(period) + ` AND (`)
		}
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(source = " + args.Add(r.ev.Source) + " AND id = " + args.Add(r.ev.ID) + " AND subject = " + args.Add(r.ev.Subject) + ")")
		}
		if tx.Dialect == sqldb.Postgres {
			b.WriteString(`)`)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return sqldb.Err(err, "usage events")
		}
	}
	return nil
}

// rollupMerge is how an hour's stored quantity takes a new delta, by aggregation.
var rollupMerge = map[Aggregation]string{
	Sum:          `usage_rollups.quantity + excluded.quantity`,
	Count:        `usage_rollups.quantity + excluded.quantity`,
	UniqueCount:  `usage_rollups.quantity + excluded.quantity`,
	Max:          `CASE WHEN excluded.quantity > usage_rollups.quantity THEN excluded.quantity ELSE usage_rollups.quantity END`,
	Latest:       `CASE WHEN excluded.last_at >= usage_rollups.last_at THEN excluded.quantity ELSE usage_rollups.quantity END`,
	TimeWeighted: `CASE WHEN excluded.last_at >= usage_rollups.last_at THEN excluded.quantity ELSE usage_rollups.quantity END`,
}

func upsertRollups(ctx context.Context, tx *sqldb.Tx, deltas map[rollupKey]*rollupDelta) error {
	byAgg := map[Aggregation][]rollupKey{}
	for k, d := range deltas {
		byAgg[d.agg] = append(byAgg[d.agg], k)
	}
	for _, agg := range Aggregations {
		keys := byAgg[agg]
		// One order for every committer, so concurrent commits on PostgreSQL
		// take row locks in the same order and never deadlock.
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.meter != b.meter {
				return a.meter < b.meter
			}
			if a.subject != b.subject {
				return a.subject < b.subject
			}
			if a.dims != b.dims {
				return a.dims < b.dims
			}
			return a.hour.Before(b.hour)
		})
		err := sqldb.Bulk{
			Object: "usage rollups",
			Head:   `INSERT INTO usage_rollups (meter_id, subject, dims, hour, quantity, events, last_at)`,
			Tail: ` ON CONFLICT (meter_id, subject, dims, hour) DO UPDATE SET quantity = ` + rollupMerge[agg] + `,
				events = usage_rollups.events + excluded.events,
				last_at = CASE WHEN excluded.last_at > usage_rollups.last_at THEN excluded.last_at ELSE usage_rollups.last_at END`,
			Cols: 7, Rows: len(keys),
			Args: func(i int, args []any) []any {
				k := keys[i]
				d := deltas[k]
				return append(args, k.meter, k.subject, k.dims, k.hour, int64(d.quantity), d.events, d.lastAt)
			},
		}.Insert(ctx, tx)
		if err != nil {
			return err
		}
	}
	return nil
}
