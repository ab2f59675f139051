package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
)

// TestBrowserCatalogPagesAndSearches: issue 18 (docs/catalog.md, "Search"):
// the catalog shows a page at a time with a link to more, every offering
// once across the pages; the search box suggests as one types, a typo
// included, with the match marked; the search's results mark their
// matches and offer facets; at 1280 and 390 px nothing scrolls sideways.
func TestBrowserCatalogPagesAndSearches(t *testing.T) {
	base, a := startApp(t)
	ctx := context.Background()
	sys := access.System()
	vm, err := a.Catalog.Offering(ctx, sys, "vm")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := a.Catalog.CreateOffering(ctx, sys, catalog.OfferingInput{Code: fmt.Sprintf("vault-%02d", i), ServiceID: vm.ServiceID,
			Name: fmt.Sprintf("Backup vault %02d", i), Summary: "Nightly backup of a server's disks, kept for thirty days",
			Plans: []catalog.PlanInput{{Code: "std", Name: "Standard", Currency: "EUR", Recurring: fmt.Sprintf("%d.00", 5+i*10)}}}); err != nil {
			t.Fatal(err)
		}
	}
	du, err := a.Identity.UserByEmail(ctx, sys, "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	dana, err := a.Identity.Principal(ctx, du.ID)
	if err != nil {
		t.Fatal(err)
	}
	visible, err := a.Catalog.Offerings(ctx, dana, catalog.OfferingFilter{})
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, base)
	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/catalog"), chromedp.WaitVisible(".cards .offering", chromedp.ByQuery))
	b.screenshot("catalog-1280")
	seen := map[string]bool{}
	for page := 1; ; page++ {
		var hrefs []string
		b.run(chromedp.Evaluate(`[...document.querySelectorAll(".cards a.offering")].map(a => a.getAttribute("href"))`, &hrefs))
		if len(hrefs) == 0 || len(hrefs) > 24 {
			t.Fatalf("page %d shows %d offerings", page, len(hrefs))
		}
		for _, h := range hrefs {
			if seen[h] {
				t.Errorf("page %d shows %s again", page, h)
			}
			seen[h] = true
		}
		var more bool
		b.run(chromedp.Evaluate(`!!document.querySelector('a[rel="next"]')`, &more))
		if !more {
			break
		}
		if page > 10 {
			t.Fatal("the catalog's pages do not end")
		}
		b.run(press(`a[rel="next"]`), until(fmt.Sprintf(`location.search.includes("cursor=") && !%q.includes(document.querySelector(".cards a.offering").getAttribute("href"))`,
			strings.Join(hrefs, " ")), "the next page"))
	}
	if len(seen) != len(visible) {
		t.Errorf("the pages showed %d offerings; Dana may see %d", len(seen), len(visible))
	}

	// Suggest as you type, with a typo.
	b.run(chromedp.Navigate(b.base+"/catalog"), chromedp.WaitVisible("#q", chromedp.ByQuery),
		chromedp.SendKeys("#q", "bakcup vault 07", chromedp.ByQuery),
		until(`!!document.querySelector("#q-suggest .suggest-list a mark") && document.querySelector("#q-suggest").innerText.includes("Backup vault 07")`,
			"the suggestion for what was typed, its match marked"))
	b.screenshot("catalog-suggest-1280")
	if s := b.text("#q-suggest .suggest-list"); !strings.Contains(s, "Backup vault 07") {
		t.Errorf("the suggestions read %q", s)
	}
	var expanded string
	b.run(chromedp.AttributeValue("#q", "aria-expanded", &expanded, nil, chromedp.ByQuery))
	if expanded != "true" {
		t.Errorf("the search box's aria-expanded is %q with suggestions showing", expanded)
	}
	// The search itself: results with matches marked, what was understood, facets.
	b.run(press(`form.search button[type="submit"]`), until(`location.search.includes("q=bakcup")`, "the search's results"),
		chromedp.WaitVisible(".cards .offering mark", chromedp.ByQuery))
	b.screenshot("catalog-search-1280")
	if h := b.text(".cards .offering h2"); h != "Backup vault 07" {
		t.Errorf("the first result is %q", h)
	}
	var marked string
	b.run(chromedp.InnerHTML(".cards .offering h2", &marked, chromedp.ByQuery))
	if !strings.Contains(marked, "<mark>Backup</mark>") || !strings.Contains(marked, "<mark>vault</mark>") {
		t.Errorf("the first result's name is marked %q", marked)
	}
	if u := b.text(".understood"); !strings.Contains(u, "bakcup|backup") {
		t.Errorf("what was understood: %q", u)
	}
	if f := b.text(".facets"); !strings.Contains(f, "Price a month") || !strings.Contains(f, "Service") {
		t.Errorf("the facets read %q", f)
	}
	for _, w := range widths {
		b.run(chromedp.EmulateViewport(w.w, w.h), chromedp.Navigate(b.base+"/catalog?q=backup+vault&price=10-100"), chromedp.WaitVisible(".facets", chromedp.ByQuery))
		b.screenshot("catalog-search-facets-" + fmt.Sprint(w.w))
		var scrollW, clientW int64
		b.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollW), chromedp.Evaluate(`document.documentElement.clientWidth`, &clientW))
		if scrollW > clientW {
			t.Errorf("at %d px the search scrolls sideways: %d > %d", w.w, scrollW, clientW)
		}
		b.run(chromedp.Navigate(b.base+"/catalog"), chromedp.WaitVisible(".cards .offering", chromedp.ByQuery))
		b.screenshot("catalog-" + fmt.Sprint(w.w))
		b.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollW), chromedp.Evaluate(`document.documentElement.clientWidth`, &clientW))
		if scrollW > clientW {
			t.Errorf("at %d px the catalog scrolls sideways: %d > %d", w.w, scrollW, clientW)
		}
	}
}
