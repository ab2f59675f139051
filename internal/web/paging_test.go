package web_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestPortalListsPage: issue 18, "portal lists page too, with counts where
// they are cheap". The portfolio board shows each lifecycle's count and a
// page of its services with a link to the next, and org units page 100 at
// a time: following the links shows every item once.
func TestPortalListsPage(t *testing.T) {
	p := newDemoPortal(t)
	ctx, sys := context.Background(), access.System()
	const proposed = 120
	before, err := p.app.Catalog.ServiceCounts(ctx, sys, catalog.ServiceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range proposed {
		if _, err := p.app.Catalog.CreateService(ctx, sys, catalog.ServiceInput{Code: fmt.Sprintf("idea-%03d", i),
			Name: fmt.Sprintf("Idea %03d", i), Kind: catalog.KindBusiness}); err != nil {
			t.Fatal(err)
		}
	}
	units, err := p.app.Identity.OrgUnits(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(units); i <= 150; i++ {
		if _, err := p.app.Identity.CreateOrgUnit(ctx, sys, identity.CreateOrgUnitInput{Kind: "cost_centre", Code: fmt.Sprintf("CC-%03d", i),
			Name: fmt.Sprintf("Cost centre %03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	admin := p.as("admin@it.contoso.example")
	more := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	walk := func(path string, item *regexp.Regexp) (map[string]int, int) {
		t.Helper()
		seen, pages := map[string]int{}, 0
		for path != "" {
			pages++
			if pages > 20 {
				t.Fatalf("%s: paging does not end", path)
			}
			status, _, page := admin.do("GET", path, nil)
			if status != 200 {
				t.Fatalf("GET %s: %d", path, status)
			}
			for _, m := range item.FindAllStringSubmatch(page, -1) {
				seen[m[1]]++
			}
			path = ""
			if m := more.FindStringSubmatch(page); m != nil {
				path = html.UnescapeString(m[1])
			}
		}
		return seen, pages
	}

	status, _, board := admin.do("GET", "/portfolio", nil)
	want := before[catalog.LifecycleProposed] + proposed
	if status != 200 || !regexp.MustCompile(`proposed <span class="small">\(`+fmt.Sprint(want)+`\)</span>`).MatchString(board) {
		t.Fatalf("the board's Proposed column does not count %d services: %d", want, status)
	}
	seen, pages := walk("/portfolio?lifecycle=proposed", regexp.MustCompile(`<a href="/portfolio/(idea-\d+)">`))
	if len(seen) != proposed || pages != 3 {
		t.Errorf("the Proposed column showed %d of %d services in %d pages, want all in 3", len(seen), proposed, pages)
	}
	for code, n := range seen {
		if n != 1 {
			t.Errorf("%s shown %d times", code, n)
		}
	}

	all, err := p.app.Identity.OrgUnits(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	seen, pages = walk("/admin/org-units", regexp.MustCompile(`<a href="/admin/org-units/([^"]+)">`))
	if len(seen) != len(all) || pages != 2 {
		t.Errorf("/admin/org-units showed %d of %d org units in %d pages, want all in 2", len(seen), len(all), pages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("org unit %s shown %d times", id, n)
		}
	}

	// The costs page's account balances, 20 at a time.
	accounts, err := p.app.Billing.Accounts(ctx, sys, billing.AccountFilter{Mode: billing.Chargeback, Page: sqldb.Page{Limit: 500}})
	if err != nil {
		t.Fatal(err)
	}
	const added = 30
	for i := range added {
		if _, err := p.app.Billing.SaveAccount(ctx, sys, billing.AccountInput{OrgUnit: fmt.Sprintf("CC-%03d", 100+i), Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
	}
	more = regexp.MustCompile(`<a href="([^"]+)#balances">More accounts</a>`)
	seen, pages = walk("/costs", regexp.MustCompile(`<tr><td>(Cost centre \d+)</td><td class="num">`))
	if total := len(accounts.Items) + added; len(seen) != added || pages != (total+19)/20 {
		t.Errorf("/costs showed %d of the %d new accounts' balances in %d pages, want all in %d", len(seen), added, pages, (total+19)/20)
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s's balance shown %d times", name, n)
		}
	}
}
