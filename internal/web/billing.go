package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Bar is one bar of a server-drawn SVG chart.
type Bar struct {
	X, Y, W, H int
	Label      string
	Value      string
	Href       string
}

// chartHeight is the drawing height of bar charts, in SVG units.
const chartHeight = 160

// bars draws money values as bars scaled to the largest.
func bars(labels []string, values []int64, currency string, href func(int) string) []Bar {
	out := drawBars(labels, values, 40, 60, func(v int64) string { return money.New(v, currency).Decimal() })
	if href != nil {
		for i := range out {
			out[i].Href = href(i)
		}
	}
	return out
}

// drawBars draws values as bars of width w, every step units, scaled to
// the largest; value writes a bar's value for its tooltip.
func drawBars(labels []string, values []int64, w, step int, value func(int64) string) []Bar {
	var top int64
	for _, v := range values {
		top = max(top, v)
	}
	out := make([]Bar, len(values))
	for i, v := range values {
		h := 0
		if top > 0 && v > 0 {
			h = max(1, int(float64(v)*chartHeight/float64(top)))
		}
		out[i] = Bar{X: 10 + i*step, Y: chartHeight - h + 10, W: w, H: h, Label: labels[i], Value: value(v)}
	}
	return out
}

type costsPage struct {
	Page
	Costs     *billing.Costs
	Chart     []Bar
	ChartW    int
	Documents []*billing.Document
	// More opens the next page of documents (empty on the last).
	More     string
	Months   int
	Balances []accountBalance
	// MoreBalances opens the next page of accounts' balances.
	MoreBalances string
}

// accountBalance is a billing account's balance as the costs page shows it.
type accountBalance struct {
	Name string
	*billing.Balance
}

// maxBalances is how many accounts' balances a costs page shows; the
// next ones are a link away.
const maxBalances = 20

// costsView is "My costs": the last months by month (a chart) and by
// service, and the documents, each a link to its lines.
func (p *Portal) costsView(r *http.Request) (costsPage, error) {
	pr := middleware.Principal(r.Context())
	months, _ := strconv.Atoi(r.URL.Query().Get("months"))
	if months <= 0 || months > 36 {
		months = 12
	}
	now := p.Now().UTC()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	from := to.AddDate(0, -months, 0)
	pg := costsPage{Page: p.pageFor(r, "My costs"), Months: months}
	var err error
	if pg.Costs, err = p.Billing.Costs(r.Context(), pr, from, to); err != nil {
		return pg, err
	}
	docs, err := p.Billing.Documents(r.Context(), pr, billing.DocumentFilter{From: from, To: to, Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Documents, pg.More = docs.Items, moreLink(r, docs.Next)
	accounts, err := p.Billing.Accounts(r.Context(), pr, billing.AccountFilter{Mode: billing.Chargeback, Page: sqldb.Page{Limit: maxBalances, Cursor: r.URL.Query().Get("balances_cursor")}})
	if err != nil {
		return pg, err
	}
	pg.MoreBalances = moreLinkAs(r, "balances_cursor", accounts.Next)
	for _, a := range accounts.Items {
		b, err := p.Billing.Balance(r.Context(), pr, a.ID)
		if err != nil {
			return pg, err
		}
		pg.Balances = append(pg.Balances, accountBalance{Name: a.Name, Balance: b})
	}
	var labels []string
	var values []int64
	for _, m := range pg.Costs.Months {
		labels, values = append(labels, m.Month), append(values, m.TotalMinor)
	}
	pg.Chart = bars(labels, values, pg.Costs.Currency, func(i int) string { return "#month-" + labels[i] })
	pg.ChartW = 20 + 60*len(labels)
	return pg, nil
}

type documentPage struct {
	Page
	Doc       *billing.Document
	CanManage bool
	// Why is each line's "Why this number", in words.
	Why []why
	// MoreLines opens the next page of lines, when the document has more
	// than one page holds.
	MoreLines string
}

func (p *Portal) documentView(r *http.Request) (documentPage, error) {
	pr := middleware.Principal(r.Context())
	d, err := p.Billing.Document(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return documentPage{}, err
	}
	if c := r.URL.Query().Get("cursor"); c != "" && r.Method == http.MethodGet {
		lines, err := p.Billing.DocumentLines(r.Context(), pr, d.ID, sqldb.Page{Limit: billing.EmbeddedLines, Cursor: c})
		if err != nil {
			return documentPage{}, err
		}
		d.Lines, d.LinesNext = lines.Items, lines.Next
	}
	title := d.Label()
	pg := documentPage{Page: p.pageFor(r, title), Doc: d, CanManage: pr.CanAnywhere(access.BillingManage), MoreLines: moreLink(r, d.LinesNext)}
	for _, l := range d.Lines {
		pg.Why = append(pg.Why, explainLine(l))
	}
	return pg, nil
}

// documentAction runs one of a document's actions from its page.
func (p *Portal) documentAction(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	id, f := r.PathValue("id"), r.PostForm
	var d *billing.Document
	var err error
	var done string
	switch r.PathValue("action") {
	case "finalise":
		d, err = p.Billing.Finalise(r.Context(), pr, id)
		done = "Finalised."
	case "void":
		d, err = p.Billing.Void(r.Context(), pr, id, f.Get("reason"))
		done = "Void."
	case "payment":
		d, err = p.Billing.RecordPayment(r.Context(), pr, id, billing.PaymentInput{Amount: f.Get("amount"), Reference: f.Get("reference")})
		done = "Payment recorded."
	case "line":
		d, err = p.Billing.AddLine(r.Context(), pr, id, billing.LineInput{Kind: billing.LineKind(f.Get("kind")), Description: f.Get("description"),
			Amount: f.Get("amount"), Reference: f.Get("reference")})
		done = "Line added."
	case "credit-note":
		d, err = p.Billing.IssueCreditNote(r.Context(), pr, id, billing.CreditNoteInput{Reason: f.Get("reason"), Amount: f.Get("amount")})
		done = "Credit note issued."
	default:
		return errs.NotFound("no such action")
	}
	if err != nil {
		return reshow(p, w, r, "document", err, p.documentView)
	}
	return p.redirect(w, r, "/billing/documents/"+d.ID, done)
}

type billingPage struct {
	Page
	MoreRuns string // the next page of billing runs
	Accounts []*billing.Account
	Balances map[string]*billing.Balance // by account ID: owed and account credit
	// More opens the next page of accounts (empty on the last).
	More  string
	Runs  []*billing.Run
	Month string
	// NextMonth ends the export's default period (this month).
	NextMonth string
	Running   bool
}

// billingView is the financial manager's screen: billing accounts and runs
// with their progress.
func (p *Portal) billingView(r *http.Request) (billingPage, error) {
	pr := middleware.Principal(r.Context())
	if err := pr.Require(access.BillingManage, access.Resource{}); err != nil {
		return billingPage{}, err
	}
	now := p.Now().UTC()
	pg := billingPage{Page: p.pageFor(r, "Billing"), Month: now.Format("2006-01"), NextMonth: time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")}
	var err error
	accounts, err := p.Billing.Accounts(r.Context(), pr, billing.AccountFilter{Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Accounts, pg.More = accounts.Items, moreLink(r, accounts.Next)
	runs, err := p.Billing.Runs(r.Context(), pr, sqldb.Page{Limit: 24, Cursor: r.URL.Query().Get("runs_cursor")})
	if err != nil {
		return pg, err
	}
	pg.Runs, pg.MoreRuns = runs.Items, moreLinkAs(r, "runs_cursor", runs.Next)
	pg.Balances = map[string]*billing.Balance{}
	for _, a := range pg.Accounts {
		if a.Mode != billing.Chargeback {
			continue
		}
		if pg.Balances[a.ID], err = p.Billing.Balance(r.Context(), pr, a.ID); err != nil {
			return pg, err
		}
	}
	for _, run := range pg.Runs {
		pg.Running = pg.Running || run.State == billing.RunRunning
	}
	return pg, nil
}

func (p *Portal) saveBillingAccount(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	anchor, _ := strconv.Atoi(f.Get("anchor_day"))
	terms, _ := strconv.Atoi(f.Get("terms_days"))
	a, err := p.Billing.SaveAccount(r.Context(), middleware.Principal(r.Context()), billing.AccountInput{OrgUnit: f.Get("org_unit"), Name: f.Get("name"),
		Mode: billing.Mode(f.Get("mode")), Currency: f.Get("currency"), AnchorDay: anchor, TermsDays: terms})
	if err != nil {
		return reshow(p, w, r, "billing", err, p.billingView)
	}
	return p.redirect(w, r, "/billing", "Saved the billing account "+a.Name+".")
}

func (p *Portal) startBillingRun(w http.ResponseWriter, r *http.Request) error {
	run, err := p.Billing.StartRun(r.Context(), middleware.Principal(r.Context()), r.PostForm.Get("month"))
	if err != nil {
		return reshow(p, w, r, "billing", err, p.billingView)
	}
	return p.redirect(w, r, "/billing", "Started the billing run of "+run.Month+".")
}

type metersPage struct {
	Page
	Meters       []*metering.Meter
	More         string
	CanManage    bool
	Aggregations []metering.Aggregation
}

func (p *Portal) metersView(r *http.Request) (metersPage, error) {
	pr := middleware.Principal(r.Context())
	ms, err := p.Metering.ListMeters(r.Context(), pr, metering.MeterFilter{Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	return metersPage{Page: p.pageFor(r, "Meters"), Meters: ms.Items, More: moreLink(r, ms.Next), CanManage: pr.CanAnywhere(access.MeterManage),
		Aggregations: metering.Aggregations}, err
}

func (p *Portal) saveMeter(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	var groups []string
	for _, g := range strings.Split(f.Get("group_by"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	m, err := p.Metering.SaveMeter(r.Context(), middleware.Principal(r.Context()), metering.MeterInput{Code: strings.TrimSpace(f.Get("code")),
		Name: f.Get("name"), EventType: f.Get("event_type"), Aggregation: metering.Aggregation(f.Get("aggregation")), ValuePath: f.Get("value_path"),
		GroupBy: groups, Unit: f.Get("unit"), Description: f.Get("description")})
	if err != nil {
		return reshow(p, w, r, "meters", err, p.metersView)
	}
	return p.redirect(w, r, "/admin/meters", "Saved the meter "+m.Code+".")
}

type pricesPage struct {
	Page
	Offering, Plan string
	PlanName       string
	Versions       []*rating.Version
	CanManage      bool
	Components     string
}

func (p *Portal) pricesView(r *http.Request) (pricesPage, error) {
	pr := middleware.Principal(r.Context())
	off, plan := r.PathValue("code"), r.PathValue("plan")
	page, err := p.Rating.Versions(r.Context(), pr, off+"/"+plan, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		return pricesPage{}, err
	}
	vs := page.Items
	pg := pricesPage{Page: p.pageFor(r, "Prices of "+off+"/"+plan), Offering: off, Plan: plan, Versions: vs,
		CanManage: pr.CanAnywhere(access.PriceManage)}
	if len(vs) > 0 {
		b, _ := json.MarshalIndent(vs[0].Components, "", "  ")
		pg.Components = string(b)
	}
	if c := r.PostForm.Get("components"); c != "" {
		pg.Components = c
	}
	return pg, nil
}

func (p *Portal) addPriceVersion(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	var in rating.VersionInput
	in.Note = f.Get("note")
	var err error
	if s := strings.TrimSpace(f.Get("effective_from")); s != "" {
		if in.EffectiveFrom, err = time.Parse("2006-01-02T15:04", s); err != nil {
			err = &errs.Error{Code: errs.CodeInvalid, Message: "the price version is not valid",
				Fields: []errs.FieldError{{Field: "effective_from", Rule: "format", Message: "effective from is a date and time (UTC)"}}}
		}
	}
	if err == nil {
		if jerr := json.Unmarshal([]byte(f.Get("components")), &in.Components); jerr != nil {
			err = &errs.Error{Code: errs.CodeInvalid, Message: "the price version is not valid",
				Fields: []errs.FieldError{{Field: "components", Rule: "json", Message: "components must be a JSON list of components: " + jerr.Error()}}}
		}
	}
	if err == nil {
		_, err = p.Rating.AddVersion(r.Context(), middleware.Principal(r.Context()), r.PathValue("code")+"/"+r.PathValue("plan"), in)
	}
	if err != nil {
		return reshow(p, w, r, "prices", err, p.pricesView)
	}
	return p.redirect(w, r, "/catalog/"+r.PathValue("code")+"/plans/"+r.PathValue("plan")+"/prices", "Added a price version.")
}
