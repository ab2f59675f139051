package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// Issue 17, items 4 and 9, in Chromium: the jobs page offers "Run now" only
// where it can work; an unknown URL is the portal's own page, fits a phone,
// and its "Go back" returns to the page the reader came from.
func TestBrowserErrorPagesAndJobs(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	b.login("admin@it.contoso.example", demo.Password)
	b.run(chromedp.WaitVisible("h1", chromedp.ByQuery), chromedp.Navigate(b.base+"/admin/jobs"), waitText("h1", "Jobs"))
	if got := b.text("table"); !strings.Contains(got, "started by Steward with its arguments") {
		t.Errorf("the jobs page does not say billing.run is started by Steward: %q", got)
	}
	var runNow int
	b.run(chromedp.Evaluate(`document.querySelectorAll('button[aria-label="Run billing.run now"]').length`, &runNow))
	if runNow != 0 {
		t.Error("the jobs page offers to run billing.run now")
	}
	b.screenshot("jobs")

	for _, width := range []int64{1280, 390} {
		b.run(chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(b.base+"/admin/users"), waitText("h1", "Users"),
			// Follow a link the way a reader does, so the browser sends a Referer.
			chromedp.Evaluate(`location.href = "/admin/no-such-page"`, nil),
			waitText("h1", "We can't find that page"))
		var scrollW, clientW int
		b.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollW), chromedp.Evaluate(`document.documentElement.clientWidth`, &clientW))
		if scrollW > clientW+1 {
			t.Errorf("at %d px the not-found page is %d px wide", width, scrollW)
		}
		if width == 390 {
			b.screenshot("not-found-390")
		} else {
			b.screenshot("not-found")
		}
		b.run(chromedp.Click(`//main//a[text()="Go back"]`, chromedp.BySearch), waitText("h1", "Users"))
	}
}
