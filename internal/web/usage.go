package web

import (
	"net/http"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/middleware"
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
	More     string // the next page of subjects
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

// usageSubjectsPage is how many subjects the usage page lists at a time.
const usageSubjectsPage = 50

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
	// The chart is every day of the window over everything the reader
	// sees, summed page by page (memory holds a page, whatever the meter's
	// size); the total and each subject's come from the meter's own
	// aggregation over the whole window (a gauge's GB-months are not the
	// sum of its days), and the table shows a page of subjects with a
	// link to the next.
	days := metering.UsageQuery{Meter: code, Subject: pg.Subject, From: from, To: to, Granularity: metering.Day}
	byDay := map[string]*struct {
		q metering.Quantity
		n int64
	}{}
	for page := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		u, err := p.Metering.UsagePage(r.Context(), pr, days, page)
		if err != nil {
			return pg, formError(&pg.Page, err) // a bad window or meter is shown on the form
		}
		pg.Meter = u.Meter
		for _, row := range u.Items {
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
		if page.Cursor = u.Next; page.Cursor == "" {
			break
		}
	}
	total := metering.UsageQuery{Meter: code, Subject: pg.Subject, From: from, To: to, Granularity: metering.Total}
	var sum metering.Quantity
	for page := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		u, err := p.Metering.UsagePage(r.Context(), pr, total, page)
		if err != nil {
			return pg, err
		}
		for _, row := range u.Items {
			sum += row.Quantity
		}
		if page.Cursor = u.Next; page.Cursor == "" {
			break
		}
	}
	pg.Total = sum.String()
	subjects, err := p.Metering.UsagePage(r.Context(), pr, total, sqldb.Page{Limit: usageSubjectsPage, Cursor: q.Get("cursor")})
	if err != nil {
		return pg, formError(&pg.Page, err)
	}
	pg.More = moreLink(r, subjects.Next)
	for _, row := range subjects.Items {
		s := usageSubject{Subject: row.Subject, Quantity: row.Quantity.String(), Events: row.Events}
		if row.InstanceID != "" {
			if in, err := p.Orders.Instance(r.Context(), pr, row.InstanceID); err == nil {
				s.Subject, s.InstanceID = in.Name, in.ID
			} else if !errs.Is(err, errs.CodeNotFound) && !errs.Is(err, errs.CodeForbidden) {
				return pg, err
			} // else not the reader's to open: the subject as reported
		}
		pg.Subjects = append(pg.Subjects, s)
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
