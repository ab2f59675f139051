package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/desk"
)

// TestBrowserTicketFilesAndKnownErrors: in a real browser (issue 20),
// Dana attaches a log to her incident from its page (a form with a file)
// and sees it listed; Alex records the problem behind it as a known error
// and links her incident; Dana's incident then shows the workaround.
func TestBrowserTicketFilesAndKnownErrors(t *testing.T) {
	base, a := startApp(t)
	b := newBrowser(t, base)
	ctx := context.Background()
	principal := func(email string) *access.Principal {
		u, err := a.Identity.UserByEmail(ctx, access.System(), email)
		if err != nil {
			t.Fatal(err)
		}
		p, err := a.Identity.Principal(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	inc, err := a.Desk.Raise(ctx, principal("dana@contoso.example"), desk.RaiseInput{Service: "desktop", Summary: "Printing hangs after the update"})
	if err != nil {
		t.Fatal(err)
	}
	prb, err := a.Desk.Raise(ctx, principal("alex@it.contoso.example"), desk.RaiseInput{Kind: desk.Problem, Service: "desktop", OrgUnit: "RETAIL",
		Summary: "Print spooler deadlock on the new image"})
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "spooler.log")
	if err := os.WriteFile(log, []byte("10:02 job 17 stuck in the spooler\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/tickets/"+inc.Reference),
		waitText("h1", inc.Reference),
		chromedp.SetUploadFiles("#file", []string{log}, chromedp.ByQuery),
		press(`form[action$="/attachments"] button`),
		waitText(".flash", "Attached spooler.log"),
		waitText(".files", "spooler.log"),
	)
	b.screenshot("desk-ticket-file")
	b.logout()

	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/tickets/"+prb.Reference),
		waitText("h1", prb.Reference),
		chromedp.SendKeys("#root_cause", "The image's spooler service races with the driver installer.", chromedp.ByQuery),
		chromedp.SendKeys("#workaround", "Restart the print spooler, then print again.", chromedp.ByQuery),
		chromedp.Click(`input[name="known_error"]`, chromedp.ByQuery),
		press(`form[action$="/problem"] button`),
		waitText(".flash", "record is saved"),
		chromedp.SendKeys("#incident", inc.Reference, chromedp.ByQuery),
		press(`form[action$="/incidents"] button`),
		waitText(".flash", "Linked"),
		waitText(".incidents", inc.Reference),
	)
	b.screenshot("desk-known-error")
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/tickets/"+inc.Reference), waitText(".known-error", "Restart the print spooler"))
	if got := b.text(".known-error"); !strings.Contains(got, prb.Reference) || !strings.Contains(got, "Known error") {
		t.Errorf("Dana's incident shows %q, want the known error and its workaround", got)
	}
}
