package web

import (
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// slaRoutes are the service level pages.
func (p *Portal) slaRoutes() []route {
	return []route{
		{"GET /sla", false, show(p, "sla", p.slaView)},
		{"GET /sla/agreements/new", false, show(p, "agreement_edit", p.newAgreementView)},
		{"POST /sla/agreements", false, p.saveAgreement},
		{"GET /sla/agreements/{code}", false, show(p, "agreement", p.agreementView)},
		{"GET /sla/agreements/{code}/edit", false, show(p, "agreement_edit", p.editAgreementView)},
		{"GET /sla/agreements/{code}/review", false, show(p, "sla_review", p.reviewView)},
		{"GET /sla/breaches/{id}", false, show(p, "breach", p.breachView)},
		{"GET /sla/outages", false, show(p, "outages", p.outagesView)},
		{"POST /sla/outages", false, p.recordOutage},
		{"POST /sla/outages/{id}/end", false, p.endOutage},
	}
}

type slaPage struct {
	Page
	Dashboard *sla.Dashboard
	// Burns are small burn charts of each agreement's first availability
	// target, by code (the agreements of the page).
	Burns       map[string]*burnChart
	CanManage   bool
	CanRecord   bool
	SeeOutages  bool
	Breaches    []*sla.Breach
	OpenRebates string
	// Next and BreachesNext are the cursors of the next page of
	// agreements (?cursor=) and of breaches (?breaches=), "" on the last.
	Next, BreachesNext string
}

func (p *Portal) slaView(r *http.Request) (slaPage, error) {
	pr := middleware.Principal(r.Context())
	pg := slaPage{Page: p.pageFor(r, "Service levels"), CanManage: pr.CanAnywhere(access.AgreementManage), CanRecord: pr.CanAnywhere(access.OutageRecord), SeeOutages: sla.MayReadOutages(pr)}
	q := r.URL.Query()
	agreements, err := p.SLA.ListAgreements(r.Context(), pr, sla.AgreementFilter{Page: sqldb.Page{Cursor: q.Get("cursor")}})
	if err != nil {
		return pg, err
	}
	notices, err := p.SLA.Notices(r.Context(), pr, 20)
	if err != nil {
		return pg, err
	}
	pg.Dashboard, pg.Next = &sla.Dashboard{Agreements: agreements.Items, Notices: notices}, agreements.Next
	var as []*sla.Agreement
	for _, c := range pg.Dashboard.Agreements {
		as = append(as, c.Agreement)
	}
	burns, err := p.SLA.Burns(r.Context(), as)
	if err != nil {
		return pg, err
	}
	pg.Burns = map[string]*burnChart{}
	for code, pts := range burns {
		pg.Burns[code] = drawBurn(code, pts, 160, 32)
	}
	breaches, err := p.SLA.Breaches(r.Context(), pr, sla.BreachFilter{Page: sqldb.Page{Limit: 20, Cursor: q.Get("breaches")}})
	pg.Breaches, pg.BreachesNext = breaches.Items, breaches.Next
	return pg, err
}

// burnChart is an error budget's burn drawn as an SVG polyline: budget
// spent (percent, 100 % is the whole budget) by day of the window.
type burnChart struct {
	Target   string
	Points   string
	Width    int
	Height   int
	LimitY   float64
	Max      string
	From, To string
	Last     string
	Label    string
}

func drawBurn(target string, pts []sla.BurnPoint, w, h int) *burnChart {
	if len(pts) == 0 {
		return nil
	}
	top := 100.0
	vals := make([]float64, len(pts))
	for i, p := range pts {
		v, _ := strconv.ParseFloat(p.BudgetUsed, 64)
		vals[i] = v
		top = max(top, v)
	}
	top *= 1.1
	var b strings.Builder
	for i, v := range vals {
		x := float64(w) * float64(i+1) / float64(len(vals))
		fmt.Fprintf(&b, "%.1f,%.1f ", x, float64(h)-v/top*float64(h))
	}
	c := &burnChart{Target: target, Points: "0," + strconv.Itoa(h) + " " + b.String(), Width: w, Height: h, LimitY: float64(h) - 100/top*float64(h),
		Max: fmt.Sprintf("%.0f", top), From: pts[0].At.Format("2 Jan"), To: pts[len(pts)-1].At.Format("2 Jan"), Last: pts[len(pts)-1].BudgetUsed}
	c.Label = fmt.Sprintf("Error budget of %s spent over the window: %s %% by %s", target, c.Last, c.To)
	return c
}

type agreementPage struct {
	Page
	C         *sla.Compliance
	Burns     []*burnChart
	CanManage bool
	Now       time.Time
	Months    []string // for the review picker
}

func (p *Portal) agreementView(r *http.Request) (agreementPage, error) {
	pr := middleware.Principal(r.Context())
	c, err := p.SLA.Compliance(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return agreementPage{}, err
	}
	pg := agreementPage{Page: p.pageFor(r, c.Agreement.Name), C: c, CanManage: pr.CanAnywhere(access.AgreementManage), Now: p.Now()}
	for _, t := range c.Agreement.Targets {
		if t.Kind != sla.Availability && t.Kind != sla.Reliability {
			continue
		}
		pts, err := p.SLA.Burn(r.Context(), pr, c.Agreement.Code, t.Code)
		if err != nil {
			return pg, err
		}
		if ch := drawBurn(t.Code, pts, 600, 160); ch != nil {
			pg.Burns = append(pg.Burns, ch)
		}
	}
	// The review picker's months are the agreement's, in its zone.
	local := pg.Now.In(c.Agreement.Calendar.Location())
	m := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	for i := 0; i < 13; i++ {
		pg.Months = append(pg.Months, m.AddDate(0, -i, 0).Format("2006-01"))
	}
	return pg, nil
}

type breachPage struct {
	Page
	B *sla.Breach
	A *sla.Agreement
	// Chain is the breach's chain with, for each agreement in it, whether
	// the reader may open it (only those are links: issue 17, item 7).
	Chain []chainLink
}

type chainLink struct {
	sla.Link
	Readable bool
	Under    []chainLink
}

// readableChain marks which agreements of a breach's chain the reader may
// open: those the service answers; not found and forbidden mean no link,
// any other error is the page's.
func (p *Portal) readableChain(r *http.Request, links []sla.Link) ([]chainLink, error) {
	pr := middleware.Principal(r.Context())
	out := make([]chainLink, 0, len(links))
	for _, l := range links {
		a, err := p.SLA.Agreement(r.Context(), pr, l.Agreement.Code)
		if err != nil && !errs.Is(err, errs.CodeNotFound) && !errs.Is(err, errs.CodeForbidden) {
			return nil, err
		}
		readable := err == nil && a.VisibleTo(pr)
		under, err := p.readableChain(r, l.Under)
		if err != nil {
			return nil, err
		}
		out = append(out, chainLink{Link: l, Readable: readable, Under: under})
	}
	return out, nil
}

func (p *Portal) breachView(r *http.Request) (breachPage, error) {
	pr := middleware.Principal(r.Context())
	b, err := p.SLA.Breach(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return breachPage{}, err
	}
	a, err := p.SLA.Agreement(r.Context(), pr, b.Agreement.ID)
	if err != nil {
		return breachPage{}, err
	}
	chain, err := p.readableChain(r, b.Chain)
	return breachPage{Page: p.pageFor(r, "Breach of "+b.Agreement.Name), B: b, A: a, Chain: chain}, err
}

type reviewPage struct {
	Page
	R        *sla.Review
	From, To string
}

// reviewView is the service review report: ?from=2026-06&to=2026-12
// (the agreement's calendar months in its time zone, or RFC 3339 times);
// by default the six months to the end of this one.
func (p *Portal) reviewView(r *http.Request) (reviewPage, error) {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	rev, err := p.SLA.Review(r.Context(), pr, r.PathValue("code"), sla.ReviewPeriod{From: q.Get("from"), To: q.Get("to")})
	if err != nil {
		return reviewPage{}, err
	}
	loc := rev.Agreement.Calendar.Location()
	pg := reviewPage{Page: p.pageFor(r, "Service review: "+rev.Agreement.Name), R: rev, From: q.Get("from"), To: q.Get("to")}
	if pg.From == "" {
		pg.From, pg.To = rev.From.In(loc).Format("2006-01"), rev.To.In(loc).Format("2006-01")
	}
	return pg, nil
}

// agreementEditPage is the agreement form with its calendar editor.
type agreementEditPage struct {
	Page
	New       bool
	In        sla.AgreementInput
	Services  []*catalog.Service
	Offerings []*catalog.Offering
	OrgUnits  []*identity.OrgUnit
	Others    []*sla.Agreement // agreements that may underpin this one
	Calendar  calendarForm
	Targets   []sla.Target // with blank rows to add
	Rebates   []sla.Rebate
	Kinds     []sla.Kind
	States    []sla.State
	TKinds    []sla.TargetKind
	WKinds    []sla.WindowKind
}

func (p *Portal) agreementForm(r *http.Request, in sla.AgreementInput, isNew bool) (agreementEditPage, error) {
	pr := middleware.Principal(r.Context())
	if err := pr.RequireAnywhere(access.AgreementManage); err != nil {
		return agreementEditPage{}, err
	}
	title := "New agreement"
	if !isNew {
		title = "Edit " + in.Name
	}
	pg := agreementEditPage{Page: p.pageFor(r, title), New: isNew, In: in, Kinds: sla.Kinds, States: sla.States, TKinds: sla.TargetKinds, WKinds: sla.WindowKinds}
	pg.Calendar = newCalendarForm(in.Calendar, pg.Fields)
	ctx, sys := r.Context(), access.System()
	var err error
	if pg.Services, err = p.Catalog.Services(ctx, sys, catalog.ServiceFilter{}); err != nil {
		return pg, err
	}
	if pg.Offerings, err = p.Catalog.Offerings(ctx, sys, catalog.OfferingFilter{}); err != nil {
		return pg, err
	}
	if pg.OrgUnits, err = p.Identity.OrgUnits(ctx, sys); err != nil {
		return pg, err
	}
	all, err := p.SLA.Agreements(ctx, pr)
	if err != nil {
		return pg, err
	}
	for _, a := range all {
		if a.Code != in.Code && a.Kind != sla.SLA {
			pg.Others = append(pg.Others, a)
		}
	}
	pg.Targets = append(slices.Clone(in.Targets), sla.Target{}, sla.Target{})
	pg.Rebates = append(slices.Clone(in.Rebates), sla.Rebate{})
	return pg, nil
}

func (p *Portal) newAgreementView(r *http.Request) (agreementEditPage, error) {
	in := sla.AgreementInput{Kind: sla.SLA, State: sla.Draft, Currency: "EUR", Provider: "Internal IT", EffectiveFrom: p.Now().Format("2006-01-02"),
		Calendar: catalog.Calendar{TimeZone: "Europe/London", Weekly: catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00")}}
	return p.agreementForm(r, in, true)
}

func (p *Portal) editAgreementView(r *http.Request) (agreementEditPage, error) {
	a, err := p.SLA.Agreement(r.Context(), middleware.Principal(r.Context()), r.PathValue("code"))
	if err != nil {
		return agreementEditPage{}, err
	}
	return p.agreementForm(r, a.Input(), false)
}

// agreementInput reads the agreement form.
func agreementInput(r *http.Request) sla.AgreementInput {
	f := r.PostForm
	in := sla.AgreementInput{Code: f.Get("code"), Name: f.Get("name"), Kind: sla.Kind(f.Get("kind")), State: sla.State(f.Get("state")),
		Provider: f.Get("provider"), Customer: f.Get("customer"), Description: f.Get("description"), EffectiveFrom: f.Get("effective_from"),
		EffectiveTo: f.Get("effective_to"), ReviewOn: f.Get("review_on"), Currency: f.Get("currency"),
		Services: f["services"], Offerings: f["offerings"], Plans: f["plans"], OrgUnits: f["org_units"], UnderpinnedBy: f["underpinned_by"]}
	in.Calendar = readCalendar(f)
	num := func(k string) int { n, _ := strconv.Atoi(f.Get(k)); return n }
	for i := 0; f.Has("target.code." + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		if f.Get("target.code."+n) == "" {
			continue
		}
		in.Targets = append(in.Targets, sla.Target{Code: f.Get("target.code." + n), Kind: sla.TargetKind(f.Get("target.kind." + n)),
			Objective: f.Get("target.objective." + n), Window: sla.Window{Kind: sla.WindowKind(f.Get("target.window." + n)), N: num("target.n." + n)},
			Priority: num("target.priority." + n), WithinMinutes: num("target.within." + n), MaxBreaks: num("target.breaks." + n),
			Meter: f.Get("target.meter." + n), Limit: f.Get("target.limit." + n), AtMost: f.Get("target.at_most."+n) != "",
			AtRiskPercent: num("target.at_risk." + n)})
	}
	for i := 0; f.Has("rebate.target." + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		if f.Get("rebate.target."+n) == "" {
			continue
		}
		in.Rebates = append(in.Rebates, sla.Rebate{Target: f.Get("rebate.target." + n), Kind: sla.RebateKind(f.Get("rebate.kind." + n)),
			Amount: f.Get("rebate.amount." + n), Units: num("rebate.units." + n), Percent: f.Get("rebate.percent." + n), Cap: f.Get("rebate.cap." + n)})
	}
	return in
}

func (p *Portal) saveAgreement(w http.ResponseWriter, r *http.Request) error {
	in := agreementInput(r)
	a, created, err := p.SLA.SaveAgreement(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		msg := "Saved " + a.Name + "."
		if created {
			msg = "Defined " + a.Name + "."
		}
		if a.State == sla.Active {
			msg += " Compliance is measured within a minute."
		}
		return p.redirect(w, r, "/sla/agreements/"+a.Code, msg)
	}
	return reshow(p, w, r, "agreement_edit", err, func(r *http.Request) (agreementEditPage, error) {
		return p.agreementForm(r, in, r.PostForm.Get("new") != "")
	})
}

type outagesPage struct {
	Page
	Outages   []*sla.Outage
	Next      string // the cursor of the next page of outages, "" on the last
	Services  []*catalog.Service
	Items     []*catalog.ConfigItem
	CanRecord bool
	In        sla.OutageInput
	Zone      string
	Zones     []string
}

func (p *Portal) outagesView(r *http.Request) (outagesPage, error) {
	pr := middleware.Principal(r.Context())
	pg := outagesPage{Page: p.pageFor(r, "Outages"), CanRecord: pr.CanAnywhere(access.OutageRecord), Zone: "UTC",
		Zones: formZones,
		In:    sla.OutageInput{Impact: sla.Full, Share: 100}}
	outages, err := p.SLA.Outages(r.Context(), pr, sla.OutageFilter{Page: sqldb.Page{Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Outages, pg.Next = outages.Items, outages.Next
	if pg.Services, err = p.Catalog.Services(r.Context(), access.System(), catalog.ServiceFilter{}); err != nil {
		return pg, err
	}
	pg.Items, err = p.Catalog.ConfigItems(r.Context(), access.System())
	return pg, err
}

// formZones are the time zones a form's times may be given in.
var formZones = []string{"UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Asia/Singapore", "Australia/Sydney"}

// localTime reads a form's time: RFC 3339, or "2026-11-17T09:00" (a
// datetime-local field) in the chosen zone. Empty stays empty.
func localTime(s, zone string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if _, err := time.Parse(time.RFC3339, s); err == nil {
		return s
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return s
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.Format(time.RFC3339)
		}
	}
	return s // the service says what is wrong with it
}

func (p *Portal) recordOutage(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	zone := f.Get("zone")
	share, _ := strconv.Atoi(f.Get("share_percent"))
	in := sla.OutageInput{Service: f.Get("service"), ConfigItem: f.Get("config_item"), Started: localTime(f.Get("started_at"), zone),
		Ended: localTime(f.Get("ended_at"), zone), Impact: sla.Impact(f.Get("impact")), Share: share, Planned: f.Get("planned") != "",
		AnnouncedAt: localTime(f.Get("announced_at"), zone), Summary: f.Get("summary")}
	o, err := p.SLA.RecordOutage(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/sla/outages", "Recorded the outage of "+outageTarget(o)+". Compliance is re-measured within a minute.")
	}
	return reshow(p, w, r, "outages", err, func(r *http.Request) (outagesPage, error) {
		pg, err := p.outagesView(r)
		pg.In, pg.Zone = in, zone
		pg.In.Started, pg.In.Ended, pg.In.AnnouncedAt = f.Get("started_at"), f.Get("ended_at"), f.Get("announced_at")
		return pg, err
	})
}

func outageTarget(o *sla.Outage) string {
	if o.Service != nil {
		return o.Service.Name
	}
	return o.ConfigItem.Name
}

// endOutage ends an ongoing outage now (or at the time given).
func (p *Portal) endOutage(w http.ResponseWriter, r *http.Request) error {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	o, err := p.SLA.Outage(ctx, pr, r.PathValue("id"))
	if err != nil {
		return err
	}
	in := o.Input()
	in.Ended = localTime(r.PostForm.Get("ended_at"), "UTC")
	if in.Ended == "" {
		in.Ended = p.Now().UTC().Format(time.RFC3339)
	}
	if _, err := p.SLA.UpdateOutage(ctx, pr, o.ID, in); err != nil {
		return err
	}
	return p.redirect(w, r, "/sla/outages", "Ended the outage of "+outageTarget(o)+".")
}

// slaFuncs are the template helpers of the service level pages.
var slaFuncs = template.FuncMap{
	// hours writes microseconds as hours and minutes: "7 h 11 m 42 s".
	"hours": func(us int64) string {
		d := time.Duration(us) * time.Microsecond
		h, m, sec := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
		var parts []string
		if h > 0 {
			parts = append(parts, fmt.Sprintf("%d h", h))
		}
		if m > 0 {
			parts = append(parts, fmt.Sprintf("%d m", m))
		}
		if sec > 0 || len(parts) == 0 {
			parts = append(parts, fmt.Sprintf("%d s", sec))
		}
		return strings.Join(parts, " ")
	},
	// spent is a budget bar's filled length out of 100: the share spent,
	// at most all of it (an SVG attribute: the portal's CSP allows no
	// inline styles).
	"spent": func(used string) string {
		r, ok := new(big.Rat).SetString(used)
		if !ok || r.Sign() < 0 {
			r = new(big.Rat)
		}
		if r.Cmp(big.NewRat(100, 1)) > 0 {
			r = big.NewRat(100, 1)
		}
		return r.FloatString(1)
	},
	"local": func(t time.Time, a *sla.Agreement) string {
		return t.In(a.Calendar.Location()).Format("Mon 2 Jan 2006 15:04 MST")
	},
	"localdate": func(t time.Time, a *sla.Agreement) string {
		return t.In(a.Calendar.Location()).Format("2 Jan 2006")
	},
	// lastday is the last local day before an exclusive end: a window
	// ending at midnight on 1 December ends on 30 November.
	"lastday": func(t time.Time, a *sla.Agreement) string {
		return t.Add(-time.Nanosecond).In(a.Calendar.Location()).Format("2 Jan 2006")
	},
	"has": func(xs []string, x string) bool { return slices.Contains(xs, x) },
}
