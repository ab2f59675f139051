package web_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
)

// TestWhyThisNumberIsReadable: issue 17, item 8: a billing line's "Why this
// number" says in words which price version it comes from, the time held
// as days of the period, the tiers as a table and the usage as a link to
// the portal's usage page (never the API's JSON), with no IDs, no seconds
// and no JSON; and the usage page it links to shows that usage by day.
func TestWhyThisNumberIsReadable(t *testing.T) {
	p := newDemoPortal(t)
	docsPage, err := p.app.Billing.Documents(context.Background(), access.System(), billing.DocumentFilter{})
	docs := docsPage.Items
	if err != nil {
		t.Fatal(err)
	}
	var doc *billing.Document
	for _, d := range docs {
		full, err := p.app.Billing.Document(context.Background(), access.System(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range full.Lines {
			if l.Meter != "" && strings.Contains(full.OrgUnitName, "Retail") {
				doc = full
			}
		}
	}
	if doc == nil {
		t.Fatal("the demo bills no usage to Retail")
	}
	status, _, body := p.as("dana@contoso.example").do("GET", "/billing/documents/"+doc.ID, nil)
	if status != 200 {
		t.Fatalf("the document: %d", status)
	}
	why := strings.Join(regexp.MustCompile(`(?s)<details class="why no-print">.*?</details>`).FindAllString(body, -1), "\n")
	for _, want := range []string{
		"<dt>Price</dt><dd>version 1 of the Standard plan of Storage bucket</dd>",
		"<dt>Time held</dt>", " days of the month", // a fee prorated by days
		"<caption>Tiers</caption>", "<th scope=\"col\">Range</th>",
		"<dt>Usage</dt>", " GB-month from ", "of meter storage-gb, 1 – ",
		`href="/usage?`,
		"Rated exactly, rounded once to the minor unit.",
	} {
		if !strings.Contains(why, want) {
			t.Errorf("why this number lacks %q:\n%s", want, why)
		}
	}
	for _, raw := range []string{"held_seconds", "price_version_id", "{", "/api/v1/", doc.Lines[0].InstanceID} {
		if raw != "" && strings.Contains(why, raw) {
			t.Errorf("why this number shows %q", raw)
		}
	}

	// The usage page the line links to, as Dana.
	href := html.UnescapeString(regexp.MustCompile(`href="(/usage\?[^"]+)"`).FindStringSubmatch(why)[1])
	status, _, page := p.as("dana@contoso.example").do("GET", href, nil)
	if status != 200 || !strings.Contains(page, `<svg class="chart"`) || !strings.Contains(page, `class="usage-total"`) || !strings.Contains(page, "for one instance") {
		t.Errorf("the usage page %s: %d\n%s", href, status, page)
	}
	// Sam (Manufacturing) may read usage, but not Retail's: the same page
	// shows him none of it (no subject, nothing counted).
	_, _, page = p.as("sam@it.contoso.example").do("GET", href, nil)
	if !strings.Contains(page, `class="usage-total">0 `) || strings.Contains(page, `class="usage-subjects"`) {
		t.Errorf("Retail's usage shown to Manufacturing:\n%s", page)
	}

	// Bad input on the usage page is named on the form, never a 500
	// (PostgreSQL refuses a NUL in text).
	for q, want := range map[string]string{
		"meter=%00":                                      "meter must be text",
		"meter=storage-gb&subject=a%00b":                 "subject must be text",
		"meter=storage-gb&from=garbage":                  "from must be a date such as 2026-12-01",
		"meter=storage-gb&from=2026-13-01":               "from must be a date",
		"meter=storage-gb&from=2026-12-01&to=2026-11-01": "to must be after from",
		"meter=storage-gb&from=2020-01-01&to=2026-01-01": "at most 400 days",
	} {
		status, _, page := p.as("dana@contoso.example").do("GET", "/usage?"+q, nil)
		if status != 422 || !strings.Contains(page, want) || !strings.Contains(page, `<form class="inline" method="get" action="/usage">`) {
			t.Errorf("/usage?%s: %d, want 422 with %q on the form", q, status, want)
		}
	}
}
