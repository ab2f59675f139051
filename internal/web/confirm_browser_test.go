package web_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// TestBrowserVoidAsksFirst: issue 17, item 11: pressing Void asks first;
// cancelling leaves the document as it was, confirming voids it.
func TestBrowserVoidAsksFirst(t *testing.T) {
	base, a := startApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go a.Jobs.Run(ctx) // billing runs are jobs
	b := newBrowser(t, base)

	b.dialogs.answer(false)

	b.login("felix@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/billing"),
		press(`form[action="/billing/runs"] button`),
		waitText(".flash", "Started the billing run"),
		waitText("table.runs", "completed"),
		chromedp.Navigate(b.base+"/costs"),
		waitText("table.documents", "Retail"),
		press(`table.documents a`),
		waitText(".doc-head .chip", "draft"),
		chromedp.SendKeys("#void-reason", "issued by mistake", chromedp.ByQuery),
		press(`form[action$="/void"] button`),
	)
	// Cancelled: the question was asked, the form was not sent.
	if q := b.dialogs.questions(); len(q) != 1 || q[0] != "Void this document? A voided document cannot be reopened." {
		t.Fatalf("questions asked = %q, want the one about voiding", q)
	}
	b.run(
		// Still the same page, with what was typed, and still a draft.
		until(`document.querySelector("#void-reason").value === "issued by mistake"`, "the reason still typed"),
		waitText(".doc-head .chip", "draft"),
	)
	if got := b.text("main"); strings.Contains(got, "Void.") {
		t.Fatalf("after cancelling, the page shows a flash:\n%s", got)
	}

	b.dialogs.answer(true)
	b.run(
		press(`form[action$="/void"] button`),
		waitText(".flash", "Void."),
		waitText(".doc-head .chip", "void"),
	)
	if q := b.dialogs.questions(); len(q) != 2 {
		t.Fatalf("questions asked = %q, want two", q)
	}
}

// dialogs answers the JavaScript dialogs of a browser page (the portal's
// confirmation questions, static/confirm.js) and keeps what they asked.
type dialogs struct {
	mu     sync.Mutex
	accept bool
	asked  []string
}

// answerDialogs answers every dialog of page: yes, until answer says no.
func answerDialogs(pg context.Context) *dialogs {
	d := &dialogs{accept: true}
	chromedp.ListenTarget(pg, func(ev any) {
		e, ok := ev.(*page.EventJavascriptDialogOpening)
		if !ok {
			return
		}
		d.mu.Lock()
		d.asked = append(d.asked, e.Message)
		yes := d.accept
		d.mu.Unlock()
		go chromedp.Run(pg, page.HandleJavaScriptDialog(yes))
	})
	return d
}

// answer sets the answer to the dialogs from now on.
func (d *dialogs) answer(yes bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accept = yes
}

// questions are the questions the dialogs asked so far.
func (d *dialogs) questions() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}
