package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// fits checks that the page fits a desktop and a phone without mid-word
// breaks, and takes a screenshot at each.
func (b *browser) fits(t *testing.T, page string) {
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

// TestBrowserServiceDesk is the service desk's loop in a real browser
// (issue 20): Dana describes her problem in her own words on "Get help",
// takes the service Steward suggests and raises an incident; Alex, of the service's
// assignment group, finds it in his queue, takes it, declares the partial outage it is and resolves it; Dana
// rates it. Each page fits a desktop and a phone.
func TestBrowserServiceDesk(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	fits := func(page string) { t.Helper(); b.fits(t, page) }

	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/help"),
		chromedp.WaitVisible("#description", chromedp.ByQuery),
		chromedp.SendKeys("#description", "My laptop can't print to the 3rd floor printer. Jobs stay in the queue.", chromedp.ByQuery),
	)
	// Steward suggests the service her words are about, with why.
	b.run(
		press(`button[name="suggest"]`),
		waitText(".suggested", "Desktop computing"),
	)
	var picked string
	b.run(chromedp.Evaluate(`document.querySelector('.suggested input[name="service"]:checked').value`, &picked))
	if picked != "desktop" {
		t.Errorf("the suggestion picked %q, want desktop", picked)
	}
	if why := b.text(".suggested"); !strings.Contains(why, "print") {
		t.Errorf("the suggestion says no why: %q", why)
	}
	fits("desk-help")
	// Without a summary the form comes back with what she typed.
	b.run(
		chromedp.SetValue("#urgency", "1", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#summary").removeAttribute("required")`, nil),
		press(`#raise-submit`),
		waitText(".error", "summary is required"),
	)
	var kept struct{ Description, Service, Urgency string }
	b.run(chromedp.Evaluate(`({Description: document.querySelector("#description").value, Service: document.querySelector('.suggested input[name="service"]:checked').value,
		Urgency: document.querySelector("#urgency").value})`, &kept))
	if !strings.Contains(kept.Description, "3rd floor printer") || kept.Service != "desktop" || kept.Urgency != "1" {
		t.Errorf("after the error the form holds %+v, want what Dana typed", kept)
	}
	b.run(
		chromedp.SendKeys("#summary", "Can't print to the 3rd floor printer", chromedp.ByQuery),
		press(`#raise-submit`),
		waitText(".flash", "Raised INC-"),
	)
	ref := strings.TrimSuffix(strings.Fields(b.text("h1"))[0], ":")
	if !strings.HasPrefix(ref, "INC-") {
		t.Fatalf("the ticket page's heading %q names no incident", b.text("h1"))
	}
	if got := b.text(".facts"); !strings.Contains(got, "Service Desk") || !strings.Contains(got, "service minutes") {
		t.Errorf("the ticket's facts %q: want the Service Desk's queue and the clocks", got)
	}
	fits("desk-ticket-raised")
	b.logout()

	b.login("alex@it.contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/tickets"), waitText("table.tickets", ref))
	fits("desk-queue")
	// The workspace's keys: j to the first ticket, x selects it; a bulk
	// assignment to the first line, with a note.
	b.run(
		chromedp.KeyEvent("j"),
		chromedp.KeyEvent("x"),
	)
	var selected bool
	b.run(chromedp.Evaluate(`document.querySelector('input[name="ticket"][value="`+ref+`"]').checked`, &selected))
	if !selected {
		t.Fatalf("j then x did not select %s in the queue", ref)
	}
	b.run(
		chromedp.SetValue("#bulk-tier", "1", chromedp.ByQuery),
		chromedp.SendKeys("#bulk-note", "Printing: first line", chromedp.ByQuery),
		press(`form#bulk button`),
		waitText(".flash", "Assigned 1 ticket."),
	)
	b.run(
		press(`table.tickets a[href="/tickets/`+ref+`"]`),
		waitText("h1", ref),
		press(`form[action$="/take"] button`),
		waitText(".flash", "It is yours."),
		waitText(".around", "depends on"),
	)
	fits("desk-ticket-agent")
	b.run(
		chromedp.SendKeys("#body", "Print spooler on PRN-3F is stuck; restarting it.", chromedp.ByQuery),
		chromedp.Click(`input[name="internal"]`, chromedp.ByQuery),
		press(`form[action$="/comment"] button`),
		waitText(".flash", "Work note added."),
		chromedp.SetValue("#impact", "partial", chromedp.ByQuery),
		chromedp.SendKeys("#share_percent", "30", chromedp.ByQuery),
		press(`form[action$="/outage"] button`),
		waitText(".flash", "Outage declared"),
		waitText(".facts", "counts against the service's availability"),
		chromedp.SendKeys("#resolution", "Restarted the print spooler and re-added the printer.", chromedp.ByQuery),
		press(`form[action$="/move"] input[value="resolved"] ~ button`),
		waitText(".flash", "Resolved"),
	)
	fits("desk-ticket-resolved")
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/tickets/"+ref), waitText("h1", "resolved"))
	if got := b.text(".comments"); strings.Contains(got, "spooler on PRN-3F") {
		t.Errorf("Dana sees the work note: %q", got)
	}
	b.run(
		chromedp.Click(`input[name="rating"][value="5"]`, chromedp.ByQuery),
		chromedp.SendKeys("#rating_comment", "Fixed in minutes", chromedp.ByQuery),
		press(`form[action$="/rate"] button`),
		waitText(".flash", "Thank you for rating."),
		waitText(".facts", "5 of 5"),
	)

	// A request the catalog fulfils: Dana asks for a mailbox, then orders
	// it from the request's page; the request waits for the order.
	b.run(
		chromedp.Navigate(b.base+"/help"),
		chromedp.WaitVisible("#description", chromedp.ByQuery),
		chromedp.SendKeys("#description", "Jo starts on Monday in the Leeds store and needs a mailbox.", chromedp.ByQuery),
		chromedp.SetValue("#other_service", "email", chromedp.ByQuery),
		chromedp.SendKeys("#summary", "A mailbox for our new starter", chromedp.ByQuery),
		chromedp.SetValue("#kind", "request", chromedp.ByQuery),
		press(`#raise-submit`),
		waitText(".flash", "Raised REQ-"),
		waitText("section.order", "Order it from the catalog"),
	)
	fits("desk-request")
	b.run(
		chromedp.SetValue("#choice", "mailbox/standard", chromedp.ByQuery),
		chromedp.SendKeys("#order_note", "For Jo Bloggs", chromedp.ByQuery),
		press(`form[action$="/order"] button`),
		waitText(".flash", "the request is resolved when the order is fulfilled"),
		waitText(".facts", "Ordered as"),
		waitText(".facts", "ORD-"),
	)
	fits("desk-request-ordered")
}
