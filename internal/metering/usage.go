package metering

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Granularity is the size of the buckets of a usage query.
type Granularity string

// The granularities. Buckets are in UTC.
const (
	Hour  Granularity = "hour"
	Day   Granularity = "day"
	Month Granularity = "month"
	Total Granularity = "total"
)

// UsageQuery asks for one meter's usage over a window [From, To), whole
// hours, optionally for one subject or one org unit's subtree.
type UsageQuery struct {
	Meter       string
	Subject     string
	OrgUnitID   string
	From, To    time.Time
	Granularity Granularity
	// ByDimension keeps the meter's group-by values apart.
	ByDimension bool

	only []string // the subjects of the page being read (UsagePage)
}

// UsageRow is a subject's usage in one bucket.
type UsageRow struct {
	Subject    string            `json:"subject"`
	InstanceID string            `json:"instance_id,omitempty"`
	OrgUnitID  string            `json:"org_unit_id,omitempty"`
	Dims       map[string]string `json:"dims,omitempty"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	Quantity   Quantity          `json:"quantity"`
	Events     int64             `json:"events"`

	dims string // the group-by values as stored ("{}" when not kept apart): the row's place in the order
}

// Usage is the answer to a usage query.
type Usage struct {
	Meter *Meter     `json:"meter"`
	Rows  []UsageRow `json:"rows"`
}

// MaxWindow is the longest window one query may span.
const MaxWindow = 400 * 24 * time.Hour

func (q *UsageQuery) validate() error {
	var v errs.Validator
	v.Check(q.Meter != "", "meter", "required", "meter is the code of the meter to read")
	v.Text(q.Meter, "meter")
	v.Text(q.Subject, "subject")
	v.Text(q.OrgUnitID, "org_unit")
	v.Check(!q.From.IsZero() && q.From.Equal(q.From.Truncate(time.Hour)), "from", "format", "from must be a whole hour in RFC 3339, such as 2026-11-01T00:00:00Z")
	v.Check(!q.To.IsZero() && q.To.Equal(q.To.Truncate(time.Hour)), "to", "format", "to must be a whole hour in RFC 3339, such as 2026-12-01T00:00:00Z")
	v.Check(q.To.After(q.From) && q.To.Sub(q.From) <= MaxWindow, "to", "range", "to must be after from, and the window at most 400 days")
	if q.Granularity == "" {
		q.Granularity = Total
	}
	v.Check(q.Granularity == Hour || q.Granularity == Day || q.Granularity == Month || q.Granularity == Total, "granularity", "enum",
		"granularity must be hour, day, month or total")
	return v.Err("the usage query is not valid")
}

// bucket returns the start and end of the bucket holding t.
func (q *UsageQuery) bucket(t time.Time) (time.Time, time.Time) {
	var s, e time.Time
	switch q.Granularity {
	case Hour:
		s = t.Truncate(time.Hour)
		e = s.Add(time.Hour)
	case Day:
		s = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		e = s.AddDate(0, 0, 1)
	case Month:
		s = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		e = s.AddDate(0, 1, 0)
	default:
		return q.From, q.To
	}
	if s.Before(q.From) {
		s = q.From
	}
	if e.After(q.To) {
		e = q.To
	}
	return s, e
}

// owner is who a subject's usage belongs to.
type owner struct{ instanceID, serviceID, orgUnitID, path string }

// attribute resolves subjects to their instance and org unit: a subject is
// a service instance ID, or an org unit's ID or code.
func attribute(ctx context.Context, q sqldb.Querier, subjects []string) (map[string]owner, error) {
	out := map[string]owner{}
	for start := 0; start < len(subjects); start += 500 {
		chunk := subjects[start:min(start+500, len(subjects))]
		// One list of parameters, named three times.
		args := make(sqldb.Args, 0, len(chunk))
		in := sqldb.List(&args, chunk)
		type claim struct {
			subject string
			owner
		}
		claims, err := sqldb.QueryAll(ctx, q, "usage attribution", func(row sqldb.Scanner) (claim, error) {
			var c claim
			return c, row.Scan(&c.subject, &c.instanceID, &c.serviceID, &c.orgUnitID, &c.path)
		}, `SELECT i.id, i.id, i.service_id, o.id, o.path FROM instances i JOIN org_units o ON o.id = i.org_unit_id WHERE i.id IN `+in+`
			UNION ALL SELECT o.code, '', '', o.id, o.path FROM org_units o WHERE o.code IN `+in+`
			UNION ALL SELECT o.id, '', '', o.id, o.path FROM org_units o WHERE o.id IN `+in, args...)
		if err != nil {
			return nil, err
		}
		for _, c := range claims {
			if _, ok := out[c.subject]; !ok {
				out[c.subject] = c.owner
			}
		}
	}
	return out, nil
}

// Usage answers a usage query. Callers need usage.read; they see the
// subjects of the org units their grants cover, and usage no instance or
// org unit claims only with a global grant. Returns invalid for a query
// that is not valid, not_found if the meter or the org unit does not
// exist, and internal if the database fails or what it holds does not
// decode.
func (s *Service) Usage(ctx context.Context, p *access.Principal, q UsageQuery) (*Usage, error) {
	db := s.db.Read()
	m, sc, err := s.prepare(ctx, db, p, &q)
	if err != nil {
		return nil, err
	}
	return s.usage(ctx, db, m, sc, q)
}

// prepare checks a usage query and who asks it: the meter, and which
// subjects the caller may see.
func (s *Service) prepare(ctx context.Context, db sqldb.Querier, p *access.Principal, q *UsageQuery) (*Meter, usageScope, error) {
	if err := p.RequireAnywhere(access.UsageRead); err != nil {
		return nil, usageScope{}, err
	}
	if err := q.validate(); err != nil {
		return nil, usageScope{}, err
	}
	m, err := meter(ctx, db, q.Meter)
	if err != nil {
		return nil, usageScope{}, err
	}
	sc := usageScope{}
	sc.all, sc.paths = p.OrgUnitScope(access.UsageRead)
	if q.OrgUnitID != "" {
		sc.under, err = sqldb.QueryOne(ctx, db, fmt.Sprintf("org unit %q", q.OrgUnitID), func(row sqldb.Scanner) (string, error) {
			var path string
			return path, row.Scan(&path)
		}, `SELECT path FROM org_units WHERE id = $1 OR code = $1`, q.OrgUnitID)
		if err != nil {
			return nil, usageScope{}, err
		}
	}
	return m, sc, nil
}

// usageScope is whose usage a query shows: the subjects of the org units
// the caller's usage.read reaches (all with a global grant, which alone
// sees usage no instance or org unit claims), within the asked org unit's
// subtree.
type usageScope struct {
	all   bool
	paths []string
	under string // the asked org unit's path, or ""
}

// sees tells whether the scope holds a subject owned as o (ok: some
// instance or org unit claims it).
func (sc usageScope) sees(o owner, ok bool) bool {
	if sc.under != "" && (!ok || !strings.HasPrefix(o.path, sc.under)) {
		return false
	}
	if sc.all {
		return true
	}
	for _, path := range sc.paths {
		if ok && strings.HasPrefix(o.path, path) {
			return true
		}
	}
	return false
}

// subjectIn restricts column to the query's subject, or to the subjects
// of the page being read, adding them to args ("" for every subject).
func (q UsageQuery) subjectIn(args *sqldb.Args, column string) string {
	switch {
	case q.Subject != "":
		return " AND " + column + " = " + args.Add(q.Subject)
	case q.only != nil:
		return " AND " + sqldb.In(args, column, q.only)
	}
	return ""
}

// usage answers a prepared query, whole.
func (s *Service) usage(ctx context.Context, db sqldb.Querier, m *Meter, sc usageScope, q UsageQuery) (*Usage, error) {
	type series struct{ subject, dims string }
	type hourly struct {
		series
		hour     time.Time
		quantity Quantity
		events   int64
		lastAt   time.Time
	}
	args := sqldb.Args{m.ID, sqldb.Time(q.From), sqldb.Time(q.To)}
	cond := q.subjectIn(&args, "subject")
	hours, err := sqldb.QueryAll(ctx, db, "usage", func(row sqldb.Scanner) (hourly, error) {
		var h hourly
		var qty int64
		err := row.Scan(&h.subject, &h.dims, &h.hour, &qty, &h.events, &h.lastAt)
		h.quantity, h.hour, h.lastAt = Quantity(qty), h.hour.UTC(), h.lastAt.UTC()
		return h, err
	}, `SELECT subject, dims, hour, quantity, events, last_at FROM usage_rollups
		WHERE meter_id = $1 AND hour >= $2 AND hour < $3`+cond+` ORDER BY subject, dims, hour`, args...)
	if err != nil {
		return nil, err
	}
	subjects := map[string]bool{}
	for _, h := range hours {
		subjects[h.subject] = true
	}
	var segs []segment
	if m.Aggregation == Lifecycle {
		if segs, err = loadSegments(ctx, db, q); err != nil {
			return nil, err
		}
		for _, sg := range segs {
			subjects[sg.instanceID] = true
		}
	}
	var gauges *gaugeSamples
	if m.Aggregation == TimeWeighted {
		// A gauge's value holds from before the window: its subjects count
		// even without an event inside it.
		if gauges, err = loadGauges(ctx, db, m.ID, q); err != nil {
			return nil, err
		}
		for _, k := range gauges.keys {
			subjects[k.subject] = true
		}
	}
	list := make([]string, 0, len(subjects))
	for s := range subjects {
		list = append(list, s)
	}
	owners, err := attribute(ctx, db, list)
	if err != nil {
		return nil, err
	}
	visible := func(subject string) bool {
		o, ok := owners[subject]
		return sc.sees(o, ok)
	}
	seriesOf := func(subject, dims string) series {
		if !q.ByDimension {
			dims = "{}"
		}
		return series{subject, dims}
	}
	type bucketKey struct {
		series
		start time.Time
	}
	acc := map[bucketKey]*UsageRow{}
	latestAt := map[bucketKey]time.Time{}
	var order []bucketKey
	row := func(k bucketKey, end time.Time) *UsageRow {
		r := acc[k]
		if r == nil {
			o := owners[k.subject]
			r = &UsageRow{Subject: k.subject, InstanceID: o.instanceID, OrgUnitID: o.orgUnitID, Start: k.start, End: end}
			acc[k] = r
			order = append(order, k)
		}
		return r
	}
	for _, h := range hours {
		if !visible(h.subject) {
			continue
		}
		start, end := q.bucket(h.hour)
		k := bucketKey{seriesOf(h.subject, h.dims), start}
		r := row(k, end)
		r.Events += h.events
		var ok bool
		switch m.Aggregation {
		case Sum, Count:
			if r.Quantity, ok = r.Quantity.add(h.quantity); !ok {
				return nil, tooBig(m, h.subject)
			}
		case Max:
			r.Quantity = max(r.Quantity, h.quantity)
		case Latest:
			if h.lastAt.After(latestAt[k]) || latestAt[k].IsZero() {
				r.Quantity, latestAt[k] = h.quantity, h.lastAt
			}
		case UniqueCount:
			if q.Granularity != Hour {
				break
			}
			if r.Quantity, ok = r.Quantity.add(h.quantity); !ok {
				return nil, tooBig(m, h.subject)
			}
		}
	}
	switch m.Aggregation {
	case UniqueCount:
		if q.Granularity != Hour {
			if err := s.distinct(ctx, db, m, q, func(subject, dims string, hour time.Time, n int64) {
				if !visible(subject) {
					return
				}
				start, end := q.bucket(hour)
				row(bucketKey{seriesOf(subject, dims), start}, end)
			}, func(subject, dims string, start time.Time) *UsageRow {
				return acc[bucketKey{seriesOf(subject, dims), start}]
			}); err != nil {
				return nil, err
			}
		}
	case TimeWeighted:
		if subject := gauges.integrate(q, visible, func(subject, dims string, start, end time.Time) *UsageRow {
			return row(bucketKey{seriesOf(subject, dims), start}, end)
		}); subject != "" {
			return nil, tooBig(m, subject)
		}
	case Lifecycle:
		if subject := instanceHours(q, segs, visible, func(subject string, start, end time.Time) *UsageRow {
			return row(bucketKey{seriesOf(subject, "{}"), start}, end)
		}); subject != "" {
			return nil, tooBig(m, subject)
		}
	}
	out := &Usage{Meter: m, Rows: make([]UsageRow, 0, len(order))}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.subject != b.subject {
			return a.subject < b.subject
		}
		if a.dims != b.dims {
			return a.dims < b.dims
		}
		return a.start.Before(b.start)
	})
	for _, k := range order {
		r := acc[k]
		if k.dims != "{}" {
			if err := json.Unmarshal([]byte(k.dims), &r.Dims); err != nil {
				return nil, errs.Internal(err, "the usage of meter %s by %s has stored dimensions that are not valid JSON", m.Code, k.subject)
			}
		}
		r.dims = k.dims
		out.Rows = append(out.Rows, *r)
	}
	return out, nil
}

// tooBig is the error for a bucket whose quantity does not fit a Quantity.
func tooBig(m *Meter, subject string) error {
	return errs.Invalid("the usage of %s by %s in one bucket is more than %s %s, the largest quantity Steward can hold: ask for a shorter window or a finer granularity",
		m.Code, subject, Quantity(math.MaxInt64), m.Unit)
}

// distinct counts the distinct values of a unique-count meter per bucket.
func (s *Service) distinct(ctx context.Context, db sqldb.Querier, m *Meter, q UsageQuery,
	touch func(subject, dims string, hour time.Time, n int64), get func(subject, dims string, start time.Time) *UsageRow) error {
	args := sqldb.Args{m.ID, sqldb.Time(q.From), sqldb.Time(q.To)}
	cond := q.subjectIn(&args, "subject")
	type unique struct {
		subject, dims, value string
		hour                 time.Time
	}
	uniques, err := sqldb.QueryAll(ctx, db, "usage", func(row sqldb.Scanner) (unique, error) {
		var u unique
		err := row.Scan(&u.subject, &u.dims, &u.hour, &u.value)
		u.hour = u.hour.UTC()
		return u, err
	}, `SELECT subject, dims, hour, value FROM usage_uniques WHERE meter_id = $1 AND hour >= $2 AND hour < $3`+cond, args...)
	if err != nil {
		return err
	}
	type key struct {
		subject, dims, value string
		start                time.Time
	}
	seen := map[key]bool{}
	for _, u := range uniques {
		subject, dims, value, hour := u.subject, u.dims, u.value, u.hour
		touch(subject, dims, hour, 1)
		if !q.ByDimension {
			dims = "{}"
		}
		start, _ := q.bucket(hour)
		k := key{subject, dims, value, start}
		if seen[k] {
			continue
		}
		seen[k] = true
		if r := get(subject, dims, start); r != nil {
			r.Quantity += Scale
		}
	}
	return nil
}

type gaugeSeries struct{ subject, dims string }

type gaugeSample struct {
	at time.Time
	q  Quantity
}

// gaugeSamples are a gauge's samples in a window, with the last one before
// it, per series in the order first seen.
type gaugeSamples struct {
	keys    []gaugeSeries
	samples map[gaugeSeries][]gaugeSample
}

func loadGauges(ctx context.Context, db sqldb.Querier, meterID string, q UsageQuery) (*gaugeSamples, error) {
	args := sqldb.Args{meterID, sqldb.Time(q.From), sqldb.Time(q.To)}
	cond := q.subjectIn(&args, "g.subject")
	type read struct {
		gaugeSeries
		gaugeSample
	}
	reads, err := sqldb.QueryAll(ctx, db, "usage", func(row sqldb.Scanner) (read, error) {
		var r read
		var qty int64
		err := row.Scan(&r.subject, &r.dims, &r.at, &qty)
		r.at, r.q = r.at.UTC(), Quantity(qty)
		return r, err
	}, `SELECT g.subject, g.dims, g.at, g.quantity FROM usage_gauges g
		WHERE g.meter_id = $1 AND g.at < $3 AND (g.at >= $2 OR g.at = (SELECT MAX(h.at) FROM usage_gauges h
			WHERE h.meter_id = g.meter_id AND h.subject = g.subject AND h.dims = g.dims AND h.at < $2))`+cond+`
		ORDER BY g.subject, g.dims, g.at`, args...)
	if err != nil {
		return nil, err
	}
	g := &gaugeSamples{samples: map[gaugeSeries][]gaugeSample{}}
	for _, r := range reads {
		if _, ok := g.samples[r.gaugeSeries]; !ok {
			g.keys = append(g.keys, r.gaugeSeries)
		}
		g.samples[r.gaugeSeries] = append(g.samples[r.gaugeSeries], r.gaugeSample)
	}
	return g, nil
}

// integrate computes a gauge's time-weighted averages: each sample's value
// holds until the next one, the last sample before the window carries into
// it, and a bucket's quantity is the integral over the bucket divided by its
// length, rounded once to micro-units. Series split by dimension add up when
// the query does not keep them apart (GB in two regions is GB in total).
// It returns the subject of a bucket whose average does not fit a Quantity,
// or "".
func (g *gaugeSamples) integrate(q UsageQuery, visible func(string) bool, row func(subject, dims string, start, end time.Time) *UsageRow) string {
	type bucketKey struct {
		subject, dims string
		start         time.Time
	}
	integrals := map[bucketKey]*big.Rat{}
	ends := map[bucketKey]time.Time{}
	var order []bucketKey
	for _, k := range g.keys {
		if !visible(k.subject) {
			continue
		}
		ss := g.samples[k]
		for i, sm := range ss {
			from := sm.at
			if from.Before(q.From) {
				from = q.From
			}
			until := q.To
			if i+1 < len(ss) {
				until = ss[i+1].at
			}
			for t := from; t.Before(until); {
				start, end := q.bucket(t)
				stop := end
				if until.Before(stop) {
					stop = until
				}
				dims := k.dims
				if !q.ByDimension {
					dims = "{}"
				}
				bk := bucketKey{k.subject, dims, start}
				if integrals[bk] == nil {
					integrals[bk] = new(big.Rat)
					ends[bk] = end
					order = append(order, bk)
				}
				secs := big.NewRat(int64(stop.Sub(t)/time.Microsecond), 1_000_000)
				integrals[bk].Add(integrals[bk], new(big.Rat).Mul(sm.q.Rat(), secs))
				t = stop
			}
		}
	}
	for _, bk := range order {
		end := ends[bk]
		length := big.NewRat(int64(end.Sub(bk.start)/time.Microsecond), 1_000_000)
		r := row(bk.subject, bk.dims, bk.start, end)
		var ok bool
		if r.Quantity, ok = quantityOf(new(big.Rat).Quo(integrals[bk], length)); !ok {
			return bk.subject
		}
	}
	return ""
}

// segment is a stretch of an instance's life at one quantity.
type segment struct {
	instanceID string
	quantity   int64
	start, end time.Time // end is zero while it lasts
}

// loadSegments reads the instance segments overlapping the query's window.
func loadSegments(ctx context.Context, db sqldb.Querier, q UsageQuery) ([]segment, error) {
	args := sqldb.Args{sqldb.Time(q.From), sqldb.Time(q.To)}
	cond := q.subjectIn(&args, "instance_id")
	return sqldb.QueryAll(ctx, db, "instance segments", func(row sqldb.Scanner) (segment, error) {
		var sg segment
		var end sql.NullTime
		err := row.Scan(&sg.instanceID, &sg.quantity, &sg.start, &end)
		sg.start = sg.start.UTC()
		if end.Valid {
			sg.end = end.Time.UTC()
		}
		return sg, err
	}, `SELECT instance_id, quantity, started_at, ended_at FROM instance_segments
		WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1)`+cond+` ORDER BY instance_id, seq`, args...)
}

// instanceHours meters instance segments: per bucket, the hours of the
// bucket each instance existed times its quantity, exact to the
// microsecond and rounded once to micro-units. It returns the subject of a
// bucket whose quantity does not fit a Quantity, or "".
func instanceHours(q UsageQuery, segs []segment, visible func(string) bool, row func(subject string, start, end time.Time) *UsageRow) string {
	type key struct {
		subject string
		start   time.Time
	}
	exact := map[key]*big.Rat{}
	rows := map[key]*UsageRow{}
	var order []key
	for _, sg := range segs {
		if !visible(sg.instanceID) {
			continue
		}
		from, until := sg.start, q.To
		if from.Before(q.From) {
			from = q.From
		}
		if !sg.end.IsZero() && sg.end.Before(until) {
			until = sg.end
		}
		for t := from; t.Before(until); {
			start, end := q.bucket(t)
			stop := end
			if until.Before(stop) {
				stop = until
			}
			k := key{sg.instanceID, start}
			if exact[k] == nil {
				exact[k] = new(big.Rat)
				rows[k] = row(sg.instanceID, start, end)
				order = append(order, k)
			}
			micros := int64(stop.Sub(t) / time.Microsecond)
			held := new(big.Rat).Mul(big.NewRat(micros, int64(time.Hour/time.Microsecond)), new(big.Rat).SetInt64(sg.quantity))
			exact[k].Add(exact[k], held)
			t = stop
		}
	}
	for _, k := range order {
		var ok bool
		if rows[k].Quantity, ok = quantityOf(exact[k]); !ok {
			return k.subject
		}
	}
	return ""
}
