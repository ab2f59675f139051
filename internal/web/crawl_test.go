package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/demo"
)

// hrefs finds the links of a page (the portal writes every link as href="…").
var hrefs = regexp.MustCompile(`href="([^"]*)"`)

// crawled is one page a crawl reached.
type crawled struct {
	url, from string
	status    int
	ctype     string
	size      int // of the answer's body
}

// maxVariants is how many query variants of one path a crawl follows.
const maxVariants = 40

// crawl follows every same-site link from the home page, as the reader
// would, breadth first, and returns each URL reached with where it was
// linked from. Pages are HTML answers; other answers (downloads) are
// reached but not read for links. At most max URLs, and maxVariants query
// variants of one path.
func (v *visitor) crawl(max int) []crawled {
	v.p.t.Helper()
	seen := map[string]bool{"/": true}
	variants := map[string]int{} // query variants queued, per path
	queue := []crawled{{url: "/"}}
	var out []crawled
	for len(queue) > 0 && len(out) < max {
		c := queue[0]
		queue = queue[1:]
		res, body := v.send(v.request("GET", c.url))
		c.status, c.ctype, c.size = res.StatusCode, res.Header.Get("Content-Type"), len(body)
		if c.status == http.StatusSeeOther || c.status == http.StatusFound {
			loc := res.Header.Get("Location")
			if strings.HasPrefix(loc, "/login") {
				c.status = http.StatusUnauthorized // sent away to sign in: not followable
			} else {
				c.status = http.StatusOK // a redirect is followed as its own link
			}
			if !seen[loc] {
				seen[loc] = true
				queue = append(queue, crawled{url: loc, from: c.url})
			}
		}
		out = append(out, c)
		if !strings.HasPrefix(c.ctype, "text/html") {
			continue
		}
		for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
			u, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil || u.Host != "" || u.Scheme != "" || u.Path == "" || !strings.HasPrefix(u.Path, "/") {
				continue // another site, a fragment of this page, or mail
			}
			if strings.HasPrefix(u.Path, "/static/") {
				continue
			}
			u.Fragment = ""
			if link := u.String(); !seen[link] {
				seen[link] = true
				// A path's query variants (a calendar's months, a list's
				// filters and pages) are a sample: the change calendar
				// links months without end.
				if u.RawQuery != "" {
					if variants[u.Path] >= maxVariants {
						continue
					}
					variants[u.Path]++
				}
				queue = append(queue, crawled{url: link, from: c.url})
			}
		}
	}
	return out
}

// TestCrawlEveryPersona: issue 17, item 7: "never render a link the
// reader cannot follow". As every demo persona, every link on every page
// the persona can reach from the home page answers 200: no 403, no 404, no
// 5xx. And the portal links only to portal pages, never into the API's raw
// JSON (item 8).
func TestCrawlEveryPersona(t *testing.T) {
	p := newDemoPortal(t)
	// The whole demo serve --demo writes: the desk's half year of tickets
	// (problems linked to others' incidents, major incidents, merges) and
	// the knowledge base, whose links a newcomer follows too.
	ctx, a := context.Background(), p.app
	if err := demo.SeedDesk(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing,
		SLA: a.SLA, DB: a.DB}); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedKnowledge(ctx, a.Identity, a.Knowledge, a.Desk); err != nil {
		t.Fatal(err)
	}
	// Far above any persona's pages (at most some 700 with the desk's
	// history): the crawl reaches every page, and fails when it cannot.
	const max = 5000
	for _, c := range demo.Credentials() {
		t.Run(c.Email, func(t *testing.T) {
			pages := p.as(c.Email).crawl(max)
			if len(pages) >= max {
				t.Errorf("the crawl stopped at %d pages before reaching every page: is a link space without end (like the change calendar's months) not sampled?", max)
			}
			var bad []string
			for _, pg := range pages {
				if pg.status != http.StatusOK {
					bad = append(bad, pg.url+" → "+http.StatusText(pg.status)+" (linked from "+pg.from+")")
				}
				if strings.HasPrefix(pg.url, "/api/") {
					bad = append(bad, pg.url+" is the API's, linked from "+pg.from)
				}
			}
			slices.Sort(bad)
			if len(bad) > 0 {
				t.Errorf("%d of %d pages:\n%s", len(bad), len(pages), strings.Join(bad, "\n"))
			}
			if len(pages) < 10 {
				t.Errorf("only %d pages reached: the crawl does not follow the navigation", len(pages))
			}
		})
	}
}
