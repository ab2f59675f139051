package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// TestBrowserKnowledge is the knowledge base's loop in a real browser
// (issue 20): Alex, an agent, writes an article for the desktop service
// (the form keeps what he typed when it is refused), publishes it and
// reads it rendered without the HTML he slipped in; Dana, describing her
// problem on "Get help", sees it suggested as she types and raises her
// ticket anyway; Alex links the article to her ticket from the ones its
// words suggest, and Dana sees it on her ticket.
func TestBrowserKnowledge(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	// fits checks the page fits a desktop and a phone, and takes its
	// screenshots.
	fits := func(page string) {
		t.Helper()
		for _, w := range widths {
			var got struct {
				Scroll, Client int
				Broken         []string
			}
			b.run(chromedp.EmulateViewport(w.w, w.h), chromedp.Evaluate(layoutCheck, &got))
			if got.Scroll > got.Client+1 || len(got.Broken) > 0 {
				t.Errorf("%s at %s: %d px wide in %d px, words broken: %q", page, w.name, got.Scroll, got.Client, got.Broken)
			}
			b.screenshot(page + "-" + w.name)
		}
		b.run(chromedp.EmulateViewport(1280, 900))
	}
	const title = "Connect to the 3rd floor printer"
	body := "Add the printer **PRN-3F**: open Settings, then *Printers & scanners*.\n\n<script>document.title='owned'</script>\n\n1. Add device\n2. Choose PRN-3F"

	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/knowledge"),
		waitText("h1", "Knowledge"),
		chromedp.SetValue("#service", "desktop", chromedp.ByQuery),
		chromedp.SetValue("#body", body, chromedp.ByQuery),
		press(`#new-article button[type="submit"]`),
		waitText(".error", "title is required"),
	)
	var kept struct{ Service, Body string }
	b.run(chromedp.Evaluate(`({Service: document.querySelector("#service").value, Body: document.querySelector("#body").value})`, &kept))
	if kept.Service != "desktop" || kept.Body != body {
		t.Errorf("after the error the form holds %+v, want what Alex typed", kept)
	}
	b.run(
		chromedp.SendKeys("#title", title, chromedp.ByQuery),
		press(`#new-article button[type="submit"]`),
		waitText(".flash", "as a draft"),
		waitText("h1", "draft"),
		press(`form[action$="/publish"] button`),
		waitText(".flash", "Published KB-"),
	)
	var rendered struct {
		Strong, Items, Scripts int
		Title                  string
	}
	b.run(chromedp.Evaluate(`({Strong: document.querySelectorAll("article.markdown strong").length, Items: document.querySelectorAll("article.markdown ol li").length,
		Scripts: document.querySelectorAll("article.markdown script").length, Title: document.title})`, &rendered))
	if rendered.Strong != 1 || rendered.Items != 2 || rendered.Scripts != 0 || strings.Contains(rendered.Title, "owned") {
		t.Errorf("the article renders %+v: want its Markdown, without the script", rendered)
	}
	fits("kb-article")
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/help"),
		chromedp.WaitVisible("#description", chromedp.ByQuery),
		chromedp.SendKeys("#description", "My laptop can't print to the printer on the 3rd floor since this morning.", chromedp.ByQuery),
		waitText("#kb-suggest", title),
	)
	fits("kb-help-suggested")
	b.run(
		chromedp.SetValue("#other_service", "desktop", chromedp.ByQuery),
		chromedp.SendKeys("#summary", "Can't print on the 3rd floor", chromedp.ByQuery),
		press(`#raise-submit`),
		waitText(".flash", "Raised INC-"),
	)
	ref := strings.TrimSuffix(strings.Fields(b.text("h1"))[0], ":")
	var section bool
	b.run(chromedp.Evaluate(`!!document.querySelector("#articles")`, &section))
	if section {
		t.Errorf("Dana's new ticket shows a knowledge section with nothing in it")
	}
	b.logout()

	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/tickets/"+ref),
		waitText("#articles", title),
		press(`#articles button[aria-label="Link `+title+`"]`),
		waitText(".flash", "Linked KB-"),
		waitText("#articles", "Unlink"),
	)
	fits("kb-ticket-linked")
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/tickets/"+ref), waitText("#articles", title))
	if got := b.text("#articles"); strings.Contains(got, "Unlink") || strings.Contains(got, "Link an article") {
		t.Errorf("Dana may link or unlink articles: %q", got)
	}
	b.run(press(`#articles a[href^="/knowledge/KB-"]`), waitText("h1", title))
}
