package desk

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ReportBy is what a report's rows are.
type ReportBy string

// The groupings of a report.
const (
	ByService ReportBy = "service"
	ByOrgUnit ReportBy = "org_unit"
	ByMonth   ReportBy = "month"
)

// MaxReportTickets bounds the tickets one report reads (docs/limits.md):
// a longer period is refused with the limit named.
const MaxReportTickets = 200000

// ReportFilter asks for a report of the tickets raised in [From, To).
type ReportFilter struct {
	From, To time.Time
	By       ReportBy
	Kind     Kind // empty: every kind
}

// ReportRow is one service's, org unit's or month's figures.
type ReportRow struct {
	Key  string `json:"key"` // service code, org unit code, or YYYY-MM
	Name string `json:"name"`
	// Raised in the period; Resolved of those; Open of those now.
	Raised   int `json:"raised"`
	Resolved int `json:"resolved"`
	Open     int `json:"open"`
	// Mean service minutes to the first response and to resolution, of
	// those responded to or resolved (holds left out): the clocks' time.
	MeanRespondMinutes float64 `json:"mean_respond_minutes"`
	MeanResolveMinutes float64 `json:"mean_resolve_minutes"`
	// FirstContact is the share of the resolved resolved at the first
	// contact; Reopened the share reopened at least once.
	FirstContact float64 `json:"first_contact"`
	Reopened     float64 `json:"reopened"`
	// Rated of the resolved, and their mean rating (CSAT, 1 to 5).
	Rated      int     `json:"rated"`
	MeanRating float64 `json:"mean_rating"`
	// Backlog is how many tickets, whenever raised, were open at the end
	// of the period (of the month, by month): not yet resolved (or
	// closed) then, by their last resolution.
	Backlog int `json:"backlog"`

	respondSum, resolveSum        float64
	responded, firstContact, reop int
	ratingSum                     int
}

// Report is the desk's figures over a period: tickets raised, resolved
// and open, mean times to respond and resolve in service hours, first
// contact resolution, reopen rate and CSAT, per service, org unit or
// month, of the tickets the caller may read. Errors: invalid.
func (s *Service) Report(ctx context.Context, p *access.Principal, f ReportFilter) ([]*ReportRow, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to see reports")
	}
	if f.By == "" {
		f.By = ByService
	}
	var v errs.Validator
	v.Check(slices.Contains([]ReportBy{ByService, ByOrgUnit, ByMonth}, f.By), "by", "enum", "by is service, org_unit or month")
	v.Check(!f.From.IsZero() && !f.To.IsZero() && f.From.Before(f.To), "from", "order", "from and to are required, from before to")
	v.Check(f.To.Sub(f.From) <= 366*24*time.Hour, "to", "range", "a report covers at most a year")
	v.Check(f.Kind == "" || f.Kind.Valid(), "kind", "enum", "kind is incident, request, problem or change")
	if err := v.Err("the report is not valid"); err != nil {
		return nil, err
	}
	args := sqldb.Args{sqldb.Time(f.From), sqldb.Time(f.To)}
	where := []string{"t.requester_id IS NOT NULL", "t.opened_at >= $1", "t.opened_at < $2", scope(&args, p)}
	if f.Kind != "" {
		where = append(where, "t.kind = "+args.Add(f.Kind))
	}
	q := s.db.Read()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM tickets t LEFT JOIN org_units ou ON ou.id = t.org_unit_id WHERE `+strings.Join(where, " AND "),
		args...).Scan(&n); err != nil {
		return nil, sqldb.Err(err, "tickets")
	}
	if n > MaxReportTickets {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the report is not valid", Fields: []errs.FieldError{{Field: "to", Rule: "range",
			Message: "the period holds more than 200,000 tickets: ask for a shorter one"}}}
	}
	type row struct {
		id, service, serviceCode, serviceName, ouCode, ouName, ouPath, state string
		opened                                                               time.Time
		responded, resolved                                                  sql.NullTime
		priority, reopened                                                   int
		firstContact                                                         bool
		rating                                                               sql.NullInt64
	}
	rows, err := sqldb.QueryAll(ctx, q, "tickets", func(sc sqldb.Scanner) (row, error) {
		var r row
		return r, sc.Scan(&r.id, &r.service, &r.serviceCode, &r.serviceName, &r.ouCode, &r.ouName, &r.ouPath, &r.state, &r.opened, &r.responded, &r.resolved,
			&r.priority, &r.reopened, &r.firstContact, &r.rating)
	}, `SELECT t.id, s.id, s.code, s.name, COALESCE(ou.code, ''), COALESCE(ou.name, ''), COALESCE(ou.path, ''), t.state, t.opened_at, t.responded_at, t.resolved_at,
		t.priority, t.reopened, t.first_contact, t.rating FROM tickets t JOIN services s ON s.id = t.service_id LEFT JOIN org_units ou ON ou.id = t.org_unit_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY t.opened_at, t.id`, args...)
	if err != nil {
		return nil, err
	}
	// The clocks' calendar per service and org unit: the covering SLA's,
	// else the service's own.
	cals := map[string]*catalog.Calendar{}
	calendar := func(r row) (*catalog.Calendar, error) {
		k := r.service + "|" + r.ouPath + "|" + string(rune('0'+r.priority))
		if c, ok := cals[k]; ok {
			return c, nil
		}
		svc, err := s.service(ctx, r.service)
		if err != nil {
			return nil, err
		}
		tt, err := sla.ForTicket(ctx, q, r.service, r.ouPath, r.priority, svc.Calendar, r.opened)
		if err != nil {
			return nil, err
		}
		cals[k] = tt.Calendar
		return tt.Calendar, nil
	}
	held := map[string][]sla.Span{}
	hs, err := sqldb.QueryAll(ctx, q, "ticket holds", func(sc sqldb.Scanner) ([3]any, error) {
		var id string
		var start time.Time
		var end sql.NullTime
		err := sc.Scan(&id, &start, &end)
		return [3]any{id, start, end}, err
	}, `SELECT h.ticket_id, h.started_at, h.ended_at FROM ticket_holds h WHERE h.ticket_id IN (SELECT t.id FROM tickets t
		LEFT JOIN org_units ou ON ou.id = t.org_unit_id WHERE `+strings.Join(where, " AND ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		sp := sla.Span{Start: sla.Micros(h[1].(time.Time)), End: sla.Ongoing}
		if e := h[2].(sql.NullTime); e.Valid {
			sp.End = sla.Micros(e.Time)
		}
		held[h[0].(string)] = append(held[h[0].(string)], sp)
	}
	byKey := map[string]*ReportRow{}
	order := []*ReportRow{}
	for _, r := range rows {
		key, name := r.serviceCode, r.serviceName
		switch f.By {
		case ByOrgUnit:
			key, name = r.ouCode, r.ouName
		case ByMonth:
			key = r.opened.UTC().Format("2006-01")
			name = r.opened.UTC().Format("January 2006")
		}
		out := byKey[key]
		if out == nil {
			out = &ReportRow{Key: key, Name: name}
			byKey[key] = out
			order = append(order, out)
		}
		out.Raised++
		if State(r.state).Open() {
			out.Open++
		}
		cal, err := calendar(r)
		if err != nil {
			return nil, err
		}
		if r.responded.Valid {
			out.responded++
			out.respondSum += sla.Elapsed(cal, r.opened, r.responded.Time, held[r.id]).Minutes()
		}
		if r.resolved.Valid {
			out.Resolved++
			out.resolveSum += sla.Elapsed(cal, r.opened, r.resolved.Time, held[r.id]).Minutes()
			if r.firstContact {
				out.firstContact++
			}
			if r.rating.Valid {
				out.Rated++
				out.ratingSum += int(r.rating.Int64)
			}
		}
		if r.reopened > 0 {
			out.reop++
		}
	}
	round := func(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
	for _, o := range order {
		if o.responded > 0 {
			o.MeanRespondMinutes = round(o.respondSum / float64(o.responded))
		}
		if o.Resolved > 0 {
			o.MeanResolveMinutes = round(o.resolveSum / float64(o.Resolved))
			o.FirstContact = share(o.firstContact, o.Resolved)
		}
		o.Reopened = share(o.reop, o.Raised)
		if o.Rated > 0 {
			o.MeanRating = float64(int64(100*float64(o.ratingSum)/float64(o.Rated)+0.5)) / 100
		}
	}
	if err := s.backlog(ctx, p, f, byKey, &order); err != nil {
		return nil, err
	}
	if f.By != ByMonth {
		slices.SortFunc(order, func(a, b *ReportRow) int {
			if a.Raised != b.Raised {
				return b.Raised - a.Raised
			}
			return strings.Compare(a.Key, b.Key)
		})
	}
	return order, nil
}

// backlog fills in the rows' backlogs: at the period's end by service or
// org unit (for the rows there are), at each month's end by month (a row
// for every month of the period, in order, raised or not).
func (s *Service) backlog(ctx context.Context, p *access.Principal, f ReportFilter, byKey map[string]*ReportRow, order *[]*ReportRow) error {
	// count is how many tickets were open at end, by key (a column of
	// tickets t, services s or org units ou; empty: all of them, as "").
	count := func(end time.Time, key string) (map[string]int, error) {
		args := sqldb.Args{sqldb.Time(end)}
		where := []string{"t.requester_id IS NOT NULL", "t.opened_at < $1", "(COALESCE(t.resolved_at, t.closed_at) IS NULL OR COALESCE(t.resolved_at, t.closed_at) >= $1)",
			scope(&args, p)}
		if f.Kind != "" {
			where = append(where, "t.kind = "+args.Add(f.Kind))
		}
		group := ""
		if key == "" {
			key = "''"
		} else {
			group = " GROUP BY " + key
		}
		type keyCount struct {
			key string
			n   int
		}
		rows, err := sqldb.QueryAll(ctx, s.db.Read(), "tickets", func(sc sqldb.Scanner) (keyCount, error) {
			var r keyCount
			return r, sc.Scan(&r.key, &r.n)
		}, `SELECT `+key+`, COUNT(*) FROM tickets t JOIN services s ON s.id = t.service_id LEFT JOIN org_units ou ON ou.id = t.org_unit_id
			WHERE `+strings.Join(where, " AND ")+group, args...)
		out := map[string]int{}
		for _, r := range rows {
			out[r.key] = r.n
		}
		return out, err
	}
	switch f.By {
	case ByService, ByOrgUnit:
		key := "s.code"
		if f.By == ByOrgUnit {
			key = "COALESCE(ou.code, '')"
		}
		n, err := count(f.To, key)
		if err != nil {
			return err
		}
		for k, r := range byKey {
			r.Backlog = n[k]
		}
		return nil
	}
	var months []*ReportRow
	from := f.From.UTC()
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(f.To); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0)
		if end.After(f.To) {
			end = f.To
		}
		n, err := count(end, "")
		if err != nil {
			return err
		}
		key := m.Format("2006-01")
		r := byKey[key]
		if r == nil {
			r = &ReportRow{Key: key, Name: m.Format("January 2006")}
		}
		r.Backlog = n[""]
		months = append(months, r)
	}
	*order = months
	return nil
}

// share is n of d as a fraction with two decimals.
func share(n, d int) float64 { return float64(int64(100*float64(n)/float64(d)+0.5)) / 100 }

// WriteCSV writes a report as CSV (RFC 4180) with a header row.
func WriteCSV(w io.Writer, by ReportBy, rows []*ReportRow) error {
	c := csv.NewWriter(w)
	c.Write([]string{string(by), "name", "raised", "resolved", "open", "mean_respond_minutes", "mean_resolve_minutes", "first_contact", "reopened", "rated", "mean_rating",
		"backlog"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, r := range rows {
		c.Write([]string{r.Key, r.Name, strconv.Itoa(r.Raised), strconv.Itoa(r.Resolved), strconv.Itoa(r.Open), f(r.MeanRespondMinutes), f(r.MeanResolveMinutes),
			f(r.FirstContact), f(r.Reopened), strconv.Itoa(r.Rated), f(r.MeanRating), strconv.Itoa(r.Backlog)})
	}
	c.Flush()
	return c.Error()
}
