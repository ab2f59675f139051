package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/web"
)

// The widths the portal is checked at: a laptop and a phone (issue 17,
// items 5 and 6).
var widths = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 900}, {"phone", 390, 844}}

// browserOnDemo is a browser on the demo portal (service levels included).
func browserOnDemo(t *testing.T) (*browser, *demoPortal) {
	p := newDemoPortal(t)
	return newBrowser(t, strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1)), p
}

// TestBrowserNavigation: issue 17, item 5: at 1280 and 390 px every
// section the reader may open is reachable from any page in at most two
// clicks (a group's menu, then the section; on a phone the menu, then the
// section), the phone menu reaches every section the wide one does, each
// opens (no 403 or 404), and the search box finds things by name and
// number.
func TestBrowserNavigation(t *testing.T) {
	b, _ := browserOnDemo(t)
	for _, who := range []string{"admin@it.contoso.example", "dana@contoso.example", "felix@it.contoso.example"} {
		for _, w := range widths {
			t.Run(who+"/"+w.name, func(t *testing.T) {
				b.t = t
				b.run(chromedp.EmulateViewport(w.w, w.h))
				b.login(who, demo.Password)
				var wide, phone []string
				b.run(
					chromedp.Evaluate(`[...document.querySelectorAll("nav .groups a")].map(a => a.getAttribute("href"))`, &wide),
					chromedp.Evaluate(`[...document.querySelectorAll("nav .phone-menu a")].map(a => a.getAttribute("href"))`, &phone),
				)
				if strings.Join(wide, " ") != strings.Join(phone, " ") {
					t.Fatalf("the phone menu has %v, the wide navigation %v", phone, wide)
				}
				if len(wide) < 5 {
					t.Fatalf("only %d sections: %v", len(wide), wide)
				}
				for _, href := range wide {
					b.run(chromedp.Navigate(b.base+"/"), until(`!!document.querySelector("nav.nav")`, "the home page"))
					clicks := b.reach(href)
					if clicks > 2 {
						t.Errorf("%s took %d clicks", href, clicks)
					}
					var path, h1 string
					b.run(until(fmt.Sprintf(`location.pathname === %q && !!document.querySelector("h1")`, href), "the section "+href),
						chromedp.Evaluate(`location.pathname`, &path), chromedp.Evaluate(`document.querySelector("h1").innerText`, &h1))
					if strings.Contains(h1, "not found") || strings.Contains(h1, "not allowed") || strings.Contains(h1, "went wrong") {
						t.Errorf("%s opened %q", href, h1)
					}
				}
				b.screenshot("nav-" + strings.Split(who, "@")[0] + "-" + w.name)

				// By keyboard: Enter opens a menu, Tab reaches its first
				// section, Escape closes it and gives the focus back.
				menu := "nav .groups details"
				if w.name == "phone" {
					menu = "nav .phone-menu"
				}
				b.run(chromedp.Navigate(b.base+"/"), until(`!!document.querySelector("nav.nav")`, "the home page"),
					chromedp.Focus(menu+" > summary", chromedp.ByQuery), chromedp.KeyEvent("\r"),
					until(fmt.Sprintf(`document.querySelector(%q).open`, menu), "the menu opened by Enter"),
					chromedp.KeyEvent("\t"),
					until(fmt.Sprintf(`document.activeElement.tagName === "A" && document.querySelector(%q).contains(document.activeElement)`, menu), "Tab on the menu's first section"),
					chromedp.KeyEvent(kb.Escape),
					until(fmt.Sprintf(`!document.querySelector(%q).open && document.activeElement.tagName === "SUMMARY"`, menu), "Escape closing the menu"))

				// The search box, in the header at every width.
				b.run(chromedp.Navigate(b.base+"/"), until(`!!document.querySelector("#find-q")`, "the search box"),
					chromedp.SendKeys("#find-q", "virtual\r", chromedp.ByQuery),
					until(`location.pathname === "/search" && document.querySelector("main").innerText.includes("Virtual machine")`, "the search's answer"))
				b.screenshot("search-" + strings.Split(who, "@")[0] + "-" + w.name)
				b.run(chromedp.Click(`main a[href="/catalog/vm"]`, chromedp.ByQuery), until(`location.pathname === "/catalog/vm"`, "the offering found"))
			})
		}
	}
}

// reach clicks its way from the current page to a section as a person
// would, and says how many clicks it took: the section's own link if it
// is in view, else the menu that holds it first. Every element clicked
// must be visible and inside the window.
func (b *browser) reach(href string) int {
	b.t.Helper()
	clicks := 0
	for range 3 {
		// The first visible, in-window link to the section in the
		// navigation, or the closed menu (summary) that holds one.
		js := fmt.Sprintf(`(() => {
			const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= innerWidth + 1; };
			const link = [...document.querySelectorAll('nav.nav a[href=%q]')].find(shown);
			if (link) { link.click(); return "link"; }
			for (const d of document.querySelectorAll("nav.nav details:not([open])")) {
				const s = d.querySelector(":scope > summary");
				if (d.querySelector('a[href=%q]') && shown(s)) { s.click(); return "menu"; }
			}
			return "none";
		})()`, href, href)
		var what string
		b.run(chromedp.Evaluate(js, &what))
		if what == "none" {
			b.t.Fatalf("no visible link or menu leads to %s", href)
		}
		clicks++
		if what == "link" {
			return clicks
		}
	}
	return clicks
}

// TestBrowserLayoutEveryPage: issue 17, item 6: no page scrolls sideways
// at 1280 or 390 px, and no word is broken in the middle across lines
// (identifiers in code excepted). Every kind of page the crawl of
// crawl_test.go reaches (of each route its largest page), as the admin
// (who reaches most), a consumer and the service level manager.
func TestBrowserLayoutEveryPage(t *testing.T) {
	b, p := browserOnDemo(t)
	// One URL per route: the portal's own patterns tell pages apart.
	mux := http.NewServeMux()
	if err := (&web.Portal{}).Register(mux); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"admin@it.contoso.example", "dana@contoso.example", "lena@it.contoso.example"} {
		// Of each route, the largest page: the most content to lay out.
		largest := map[string]crawled{}
		var patterns []string
		for _, pg := range p.as(who).crawl(600) {
			if !strings.HasPrefix(pg.ctype, "text/html") {
				continue
			}
			_, pattern := mux.Handler(httptest.NewRequest("GET", pg.url, nil))
			if had, ok := largest[pattern]; !ok || pg.size > had.size {
				if !ok {
					patterns = append(patterns, pattern)
				}
				largest[pattern] = pg
			}
		}
		var urls []string
		for _, pattern := range patterns {
			urls = append(urls, largest[pattern].url)
		}
		if len(urls) < 10 {
			t.Fatalf("%s: only %d kinds of page", who, len(urls))
		}
		for _, w := range widths {
			t.Run(who+"/"+w.name, func(t *testing.T) {
				b.t = t
				b.run(chromedp.EmulateViewport(w.w, w.h))
				b.login(who, demo.Password)
				for _, u := range urls {
					var got struct {
						Scroll, Client int
						Broken         []string
					}
					b.run(chromedp.Navigate(b.base+u), until(`!!document.querySelector("main")`, u),
						chromedp.Evaluate(layoutCheck, &got))
					if got.Scroll > got.Client+1 {
						t.Errorf("%s is %d px wide in a %d px window", u, got.Scroll, got.Client)
						b.screenshot("overflow-" + w.name + strings.NewReplacer("/", "_", "?", "_").Replace(u))
					}
					if len(got.Broken) > 0 {
						t.Errorf("%s breaks words across lines: %q", u, got.Broken)
					}
				}
			})
		}
	}
}

// layoutCheck measures the page: its scroll width against the window, and
// every word (a run of two or more letters) outside code whose letters
// fall on more than one line.
const layoutCheck = `(() => {
	const broken = [];
	const walk = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
	const range = document.createRange();
	for (let n = walk.nextNode(); n && broken.length < 5; n = walk.nextNode()) {
		const el = n.parentElement;
		if (!el || el.closest("code, pre, .mono, svg, select, option, script, style") || !el.getClientRects().length) continue;
		for (const m of n.data.matchAll(/\p{L}{2,}/gu)) {
			range.setStart(n, m.index);
			range.setEnd(n, m.index + m[0].length);
			const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
			if (tops.size > 1) broken.push(m[0]);
		}
	}
	return {Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth, Broken: broken};
})()`
