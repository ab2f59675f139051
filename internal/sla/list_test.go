package sla_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// walk reads a list one item a page, following the cursors, and checks
// that it gives what one page of all of them gives.
func walk[T any](t *testing.T, name string, read func(sqldb.Page) (sqldb.Paged[T], error)) []T {
	t.Helper()
	all, err := read(sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil || all.Next != "" {
		t.Fatalf("%s: %v, next %q", name, err, all.Next)
	}
	var got []T
	p := sqldb.Page{Limit: 1}
	for pages := 0; ; pages++ {
		pg, err := read(p)
		if err != nil || len(pg.Items) > 1 || pages > len(all.Items) {
			t.Fatalf("%s: page %d of %d items: %v", name, pages, len(pg.Items), err)
		}
		got = append(got, pg.Items...)
		if p.Cursor = pg.Next; p.Cursor == "" {
			break
		}
	}
	if len(got) != len(all.Items) {
		t.Fatalf("%s: %d items one a page, %d in one page", name, len(got), len(all.Items))
	}
	return all.Items
}

// Issue 18: the agreements, breaches, outages and incidents page by
// keyset, with their filters and the caller's scope inside the query; the
// pass that opened the breaches kept the audit chain whole.
func TestListsPageInScope(t *testing.T) {
	f := newFixture(t)
	f.scoped()
	sys, sam := access.System(), f.as("sam@it.contoso.example") // sam reads Manufacturing's agreements
	f.outage(sla.OutageInput{Service: "email", Started: "2026-11-03T08:00:00Z", Ended: "2026-11-03T10:00:00Z"})
	f.outage(sla.OutageInput{Service: "crm-saas", Started: "2026-11-04T08:00:00Z", Ended: "2026-11-04T10:00:00Z"})
	f.outage(sla.OutageInput{Service: "crm-saas", Started: "2026-11-20T18:00:00Z"})
	f.incident("email", 2, "2026-11-05T08:00:00Z", "2026-11-05T09:00:00Z")
	f.incident("crm-saas", 3, "2026-11-06T08:00:00Z", "")
	f.evaluate()
	if v, err := f.a.Audit.Verify(f.ctx, sys); err != nil || !v.OK {
		t.Errorf("the audit chain after the pass: %+v %v", v, err)
	}

	codes := func(p *access.Principal, af sla.AgreementFilter) []string {
		t.Helper()
		var out []string
		for _, c := range walk(t, "agreements", func(pg sqldb.Page) (sqldb.Paged[*sla.Compliance], error) {
			af.Page = pg
			return f.a.SLA.ListAgreements(f.ctx, p, af)
		}) {
			out = append(out, c.Agreement.Code)
		}
		return out
	}
	for name, c := range map[string]struct {
		p    *access.Principal
		f    sla.AgreementFilter
		want []string
	}{
		"all, by code":        {sys, sla.AgreementFilter{}, []string{"crm-sla", "mail-sla"}},
		"in sam's scope":      {sam, sla.AgreementFilter{}, []string{"crm-sla"}},
		"covering the mail":   {sys, sla.AgreementFilter{Service: "email"}, []string{"mail-sla"}},
		"made with MFG":       {sys, sla.AgreementFilter{OrgUnit: "MFG"}, []string{"crm-sla"}},
		"sam, with Retail":    {sam, sla.AgreementFilter{OrgUnit: "RETAIL"}, nil},
		"active SLAs":         {sys, sla.AgreementFilter{State: sla.Active, Kind: sla.SLA}, []string{"crm-sla", "mail-sla"}},
		"drafts":              {sys, sla.AgreementFilter{State: sla.Draft}, nil},
		"no such org unit":    {sys, sla.AgreementFilter{OrgUnit: "NOPE"}, nil},
		"sam, on the CRM too": {sam, sla.AgreementFilter{Service: "crm-saas"}, []string{"crm-sla"}},
	} {
		if got := codes(c.p, c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	if _, err := f.a.SLA.ListAgreements(f.ctx, sys, sla.AgreementFilter{State: "bogus"}); !invalidField(err, "state") {
		t.Errorf("a bogus state: %v", err)
	}

	breaches := func(p *access.Principal, bf sla.BreachFilter) []*sla.Breach {
		t.Helper()
		return walk(t, "breaches", func(pg sqldb.Page) (sqldb.Paged[*sla.Breach], error) {
			bf.Page = pg
			return f.a.SLA.Breaches(f.ctx, p, bf)
		})
	}
	all := breaches(sys, sla.BreachFilter{})
	if len(all) != 2 {
		t.Fatalf("breaches %d, want the mail's and the CRM's", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].WindowStart.After(all[i-1].WindowStart) {
			t.Errorf("breaches not newest window first: %v after %v", all[i].WindowStart, all[i-1].WindowStart)
		}
	}
	if got := breaches(sam, sla.BreachFilter{}); len(got) != 1 || got[0].Agreement.Code != "crm-sla" {
		t.Errorf("sam sees breaches %+v, want the CRM's only", got)
	}
	if got := breaches(sys, sla.BreachFilter{Service: "email", State: "open"}); len(got) != 1 || got[0].Agreement.Code != "mail-sla" {
		t.Errorf("open breaches of the mail: %+v", got)
	}
	if got := breaches(sys, sla.BreachFilter{From: at("2026-12-01T00:00:00Z")}); len(got) != 0 {
		t.Errorf("breaches of windows after November: %+v", got)
	}
	if _, err := f.a.SLA.Breaches(f.ctx, sys, sla.BreachFilter{State: "bogus"}); !invalidField(err, "state") {
		t.Errorf("a bogus breach state: %v", err)
	}

	outages := func(of sla.OutageFilter) []*sla.Outage {
		t.Helper()
		return walk(t, "outages", func(pg sqldb.Page) (sqldb.Paged[*sla.Outage], error) {
			of.Page = pg
			return f.a.SLA.Outages(f.ctx, sys, of)
		})
	}
	if got := outages(sla.OutageFilter{}); len(got) != 3 || got[0].Ended != nil || got[2].Service.Code != "email" {
		t.Errorf("outages %+v, want the three, the latest first", got)
	}
	if got := outages(sla.OutageFilter{State: "ended", Service: "crm-saas"}); len(got) != 1 {
		t.Errorf("ended CRM outages %+v", got)
	}
	if got := outages(sla.OutageFilter{From: at("2026-11-03T09:00:00Z"), To: at("2026-11-04T09:00:00Z")}); len(got) != 2 {
		t.Errorf("outages overlapping 3 to 4 November: %+v", got)
	}

	incidents := func(inf sla.IncidentFilter) []*sla.Incident {
		t.Helper()
		return walk(t, "incidents", func(pg sqldb.Page) (sqldb.Paged[*sla.Incident], error) {
			inf.Page = pg
			return f.a.SLA.Incidents(f.ctx, sys, inf)
		})
	}
	if got := incidents(sla.IncidentFilter{}); len(got) != 2 || got[0].Service.Code != "crm-saas" {
		t.Errorf("incidents %+v, want both, the latest first", got)
	}
	if got := incidents(sla.IncidentFilter{Priority: 2, State: "resolved"}); len(got) != 1 || got[0].Service.Code != "email" {
		t.Errorf("resolved P2 incidents %+v", got)
	}
	// Notices too keep to the caller's scope inside the query.
	if ns, err := f.a.SLA.Notices(f.ctx, sam, 50); err != nil || len(ns) == 0 || slices.ContainsFunc(ns, func(n *sla.Notice) bool { return n.Agreement.Code != "crm-sla" }) {
		t.Errorf("sam's notices: %+v %v", ns, err)
	}
	if ns, err := f.a.SLA.Notices(f.ctx, sys, 1); err != nil || len(ns) != 1 {
		t.Errorf("the latest notice: %+v %v", ns, err)
	}
	// The burn's pages hold the points of the reading the first page made,
	// even when the clock moves on between pages.
	burn, err := f.a.SLA.Burn(f.ctx, sys, "mail-sla", "availability")
	paged := walk(t, "burn", func(pg sqldb.Page) (sqldb.Paged[sla.BurnPoint], error) {
		return f.a.SLA.BurnPage(f.ctx, sys, "mail-sla", "availability", pg)
	})
	if err != nil || len(burn) < 2 || fmt.Sprint(paged) != fmt.Sprint(burn) {
		t.Errorf("burn %v %v, paged %v", burn, err, paged)
	}
	firstPage, _ := f.a.SLA.BurnPage(f.ctx, sys, "mail-sla", "availability", sqldb.Page{Limit: 1})
	f.now = f.now.Add(36 * time.Hour)
	rest, err := f.a.SLA.BurnPage(f.ctx, sys, "mail-sla", "availability", sqldb.Page{Limit: sqldb.MaxLimit, Cursor: firstPage.Next})
	if err != nil || len(burn) < 2 || fmt.Sprint(rest.Items) != fmt.Sprint(burn[1:]) {
		t.Errorf("the burn's next page a day and a half later: %v %v, want %v", rest.Items, err, burn[1:])
	}
	// A cursor of one list is refused by another.
	first, _ := f.a.SLA.Outages(f.ctx, sys, sla.OutageFilter{Page: sqldb.Page{Limit: 1}})
	if _, err := f.a.SLA.Incidents(f.ctx, sys, sla.IncidentFilter{Page: sqldb.Page{Cursor: first.Next}}); !invalidField(err, "cursor") {
		t.Errorf("an outage cursor on incidents: %v", err)
	}
}

func invalidField(err error, field string) bool {
	e := errs.As(err)
	return e != nil && e.Code == errs.CodeInvalid && len(e.Fields) > 0 && e.Fields[0].Field == field
}
