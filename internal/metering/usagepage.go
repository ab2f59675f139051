package metering

import (
	"context"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// UsagePage is one page of a usage query's rows.
type UsagePage struct {
	Meter *Meter `json:"meter"`
	sqldb.Paged[UsageRow]
}

// usageOrder is the order of a usage query's rows: by subject, group-by
// values (as stored) and bucket. A cursor holds the last row's three.
var usageOrder = sqldb.Order{Name: "usage", Columns: []string{"subject", "dims", "start"}}

// UsagePage answers a usage query a page at a time, for the API and the
// portal (issue 18: every list pages, and none loads a whole table): the
// rows Usage would give, in its order, at most page.Size() of them. It
// reads the subjects with usage in the window a batch at a time, from the
// cursor's subject on, keeps those the caller may see, and aggregates
// only theirs, so memory holds a batch of subjects' buckets whatever the
// meter's size. It returns what Usage does, and invalid for a cursor that
// is not this list's.
func (s *Service) UsagePage(ctx context.Context, p *access.Principal, q UsageQuery, page sqldb.Page) (*UsagePage, error) {
	db := s.db.Read()
	m, sc, err := s.prepare(ctx, db, p, &q)
	if err != nil {
		return nil, err
	}
	var after struct {
		subject, dims string
		start         time.Time
	}
	if _, err := usageOrder.Seek(&sqldb.Args{}, page, &after.subject, &after.dims, &after.start); err != nil {
		return nil, err
	}
	past := func(r UsageRow) bool { // the row comes after the cursor's
		if page.Cursor == "" || r.Subject != after.subject {
			return page.Cursor == "" || r.Subject > after.subject
		}
		if r.dims != after.dims {
			return r.dims > after.dims
		}
		return r.Start.After(after.start)
	}
	size := page.Size()
	batch := max(1, min(size/q.buckets()+1, sqldb.MaxLimit))
	out := &UsagePage{Meter: m, Paged: sqldb.Paged[UsageRow]{Items: []UsageRow{}}}
	from, inclusive := after.subject, page.Cursor != ""
	for len(out.Items) <= size {
		subjects, last, err := s.subjects(ctx, db, m, sc, q, from, inclusive, batch)
		if err != nil {
			return nil, err
		}
		if len(subjects) > 0 {
			pq := q
			pq.only = subjects
			u, err := s.usage(ctx, db, m, sc, pq)
			if err != nil {
				return nil, err
			}
			for _, r := range u.Rows {
				if past(r) {
					out.Items = append(out.Items, r)
				}
			}
		}
		if last == "" {
			break // no subject left
		}
		from, inclusive = last, false
	}
	if len(out.Items) > size {
		out.Items = out.Items[:size]
		r := out.Items[size-1]
		out.Next = usageOrder.Cursor(r.Subject, r.dims, r.Start)
	}
	return out, nil
}

// buckets is how many buckets a subject's series has at most.
func (q UsageQuery) buckets() int {
	switch q.Granularity {
	case Hour:
		return int(q.To.Sub(q.From) / time.Hour)
	case Day:
		return int(q.To.Sub(q.From)/(24*time.Hour)) + 1
	case Month:
		return int(q.To.Sub(q.From)/(28*24*time.Hour)) + 1
	}
	return 1
}

// subjects reads up to n subjects with usage of m in the query's window,
// in order, from from on (from itself when inclusive), and returns those
// of them the scope sees and the last one read ("" when none was left).
// A meter's subjects are those of its hourly rollups, the instances alive
// in the window for instance hours, and for a gauge those with a sample
// before the window's end (the last one before it carries in).
func (s *Service) subjects(ctx context.Context, db sqldb.Querier, m *Meter, sc usageScope, q UsageQuery,
	from string, inclusive bool, n int) ([]string, string, error) {
	args := sqldb.Args{m.ID, sqldb.Time(q.From), sqldb.Time(q.To)}
	op := " > "
	if inclusive {
		op = " >= "
	}
	lim := args.Add(n)
	// Each branch reads its first n in order (an index's order), then the
	// union's first n are the page's.
	branch := func(sel, column string) string {
		return `SELECT x FROM (SELECT DISTINCT ` + column + ` AS x ` + sel + ` AND ` + column + op + args.Add(from) + q.subjectIn(&args, column) +
			` ORDER BY x LIMIT ` + lim + `) b`
	}
	union := branch(`FROM usage_rollups WHERE meter_id = $1 AND hour >= $2 AND hour < $3`, "subject")
	switch m.Aggregation {
	case Lifecycle:
		union += ` UNION ` + branch(`FROM instance_segments WHERE started_at < $3 AND (ended_at IS NULL OR ended_at > $2)`, "instance_id")
	case TimeWeighted:
		union += ` UNION ` + branch(`FROM usage_gauges WHERE meter_id = $1 AND at < $3`, "subject")
	case UniqueCount:
		union += ` UNION ` + branch(`FROM usage_uniques WHERE meter_id = $1 AND hour >= $2 AND hour < $3`, "subject")
	}
	read, err := sqldb.QueryAll(ctx, db, "usage subjects", scanSubject,
		`SELECT x FROM (`+union+`) u ORDER BY x LIMIT `+lim, args...)
	if err != nil {
		return nil, "", err
	}
	if len(read) == 0 {
		return nil, "", nil
	}
	owners, err := attribute(ctx, db, read)
	if err != nil {
		return nil, "", err
	}
	var seen []string
	for _, subject := range read {
		if o, ok := owners[subject]; sc.sees(o, ok) {
			seen = append(seen, subject)
		}
	}
	last := read[len(read)-1]
	if len(read) < n {
		last = "" // the end: nothing after the last one read
		if len(seen) == 0 {
			return nil, "", nil
		}
	}
	return seen, last, nil
}

func scanSubject(row sqldb.Scanner) (string, error) {
	var s string
	return s, row.Scan(&s)
}
