package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// usagePage is metered usage in the portal (issue 17, item 8): a meter's
// usage by day as a chart and a table, for one instance (the "usage behind
// it" of an invoice line) or for everything the reader may see.
type usagePage struct {
	Page
	Meters   []*metering.Meter
	Meter    *metering.Meter
	Subject  string
	From, To string // dates, the end excluded
	Days     []usageDay
	Subjects []usageSubject
	Total    string
	Chart    []Bar
	ChartW   int
}

type usageDay struct {
	Day      string
	Quantity string
	Events   int64
}

type usageSubject struct {
	Subject, InstanceID, Quantity string
	Events                        int64
}

// usagePage shows the page, or the form with what was wrong (422).
func (p *Portal) usagePage(w http.ResponseWriter, r *http.Request) error {
	pg, err := p.usageView(r)
	if err != nil {
		return err
	}
	return p.render(w, r, statusOf(pg.Page), "usage", pg)
}

func (p *Portal) usageView(r *http.Request) (usagePage, error) {
	pr := middleware.Principal(r.Context())
	pg := usagePage{Page: p.pageFor(r, "Usage")}
	ms, err := p.Metering.Meters(r.Context(), pr)
	if err != nil {
		return pg, err
	}
	pg.Meters = ms
	q := r.URL.Query()
	now := p.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	// The window: this month unless the form says otherwise; a date that
	// does not read is named, not replaced by this month.
	var v errs.Validator
	for _, d := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(d.name); s != "" {
			t, ok := usageTime(s)
			if v.Check(ok, d.name, "format", d.name+" must be a date such as 2026-12-01") {
				*d.t = t
			}
		}
	}
	if q.Get("from") != "" && q.Get("to") == "" {
		to = from.AddDate(0, 1, 0) // a month from where the reader asked
	}
	pg.From, pg.To, pg.Subject = from.Format("2006-01-02"), to.Format("2006-01-02"), q.Get("subject")
	if err := v.Err("the usage window is not valid"); err != nil {
		return pg, formError(&pg.Page, err)
	}
	code := q.Get("meter")
	if code == "" && len(ms) > 0 {
		code = ms[0].Code
	}
	if code == "" {
		return pg, nil // no meters yet: the page says so
	}
	u, err := p.Metering.Usage(r.Context(), pr, metering.UsageQuery{Meter: code, Subject: pg.Subject, From: from, To: to, Granularity: metering.Day})
	if err != nil {
		return pg, formError(&pg.Page, err) // a bad window or meter is shown on the form
	}
	pg.Meter = u.Meter
	// The window's total and each subject's come from the meter's own
	// aggregation over the whole window (a gauge's GB-months are not the
	// sum of its days); the days are the chart.
	tot, err := p.Metering.Usage(r.Context(), pr, metering.UsageQuery{Meter: code, Subject: pg.Subject, From: from, To: to, Granularity: metering.Total})
	if err != nil {
		return pg, err
	}
	names := map[string]string{}
	for f := (orders.InstanceFilter{All: true, Page: sqldb.Page{Limit: sqldb.MaxLimit}}); ; {
		insts, err := p.Orders.Instances(r.Context(), pr, f)
		if err != nil {
			return pg, err
		}
		for _, in := range insts.Items {
			names[in.ID] = in.Name
		}
		if f.Cursor = insts.Next; f.Cursor == "" {
			break
		}
	}
	var total metering.Quantity
	for _, row := range tot.Rows {
		total += row.Quantity
		s := usageSubject{Subject: row.Subject, InstanceID: row.InstanceID, Quantity: row.Quantity.String(), Events: row.Events}
		if n, ok := names[row.InstanceID]; ok {
			s.Subject = n
		} else {
			s.InstanceID = "" // not the reader's to open
		}
		pg.Subjects = append(pg.Subjects, s)
	}
	slices.SortFunc(pg.Subjects, func(a, b usageSubject) int { return strings.Compare(a.Subject, b.Subject) })
	pg.Total = total.String()
	byDay := map[string]*struct {
		q metering.Quantity
		n int64
	}{}
	for _, row := range u.Rows {
		d := row.Start.UTC().Format("2006-01-02")
		if byDay[d] == nil {
			byDay[d] = &struct {
				q metering.Quantity
				n int64
			}{}
		}
		byDay[d].q += row.Quantity
		byDay[d].n += row.Events
	}
	var labels []string
	var values []int64
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		day := usageDay{Day: k, Quantity: metering.Quantity(0).String()}
		if v := byDay[k]; v != nil {
			day.Quantity, day.Events = v.q.String(), v.n
			values = append(values, int64(v.q))
		} else {
			values = append(values, 0)
		}
		labels = append(labels, d.Format("2"))
		pg.Days = append(pg.Days, day)
	}
	pg.Chart = drawBars(labels, values, 16, 22, func(v int64) string { return metering.Quantity(v).String() })
	pg.ChartW = 20 + 22*len(values)
	return pg, nil
}

// usageTime reads a date (2026-12-01) or an RFC 3339 time, on a whole hour.
func usageTime(s string) (time.Time, bool) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Hour), true
	}
	return time.Time{}, false
}
