package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/demo"
)

// TestBrowserChangeManagement is change management in a real browser
// (issue 20, "Done when"): Chen, the change manager, adds a freeze on the
// change calendar; Alex raises a normal change to the desktop service
// (mission-critical, so the demo's change policy sends it to the CAB)
// planned within the freeze; Chen finds it on the CAB agenda, rejects an
// empty rejection, approves it; it appears on the change calendar with
// its conflict warning, and Alex may start it. Each page fits a desktop
// and a phone.
func TestBrowserChangeManagement(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	// Next week's Wednesday, 10:00 to 11:00 UTC.
	now := time.Now().UTC()
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7-(int(now.Weekday())+6)%7)
	wednesday := monday.AddDate(0, 0, 2)
	local := func(t time.Time) string { return t.Format("2006-01-02T15:04") }

	b.login("chen@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/changes?from="+monday.Format(time.DateOnly)),
		waitText("h1", "Change calendar"),
		chromedp.SendKeys("#fz-name", "Store systems freeze", chromedp.ByQuery),
		chromedp.SetValue("#fz-start", local(wednesday), chromedp.ByQuery),
		chromedp.SetValue("#fz-end", local(wednesday.AddDate(0, 0, 1)), chromedp.ByQuery),
		press(`form[action="/changes/freezes"] button`),
		waitText(".flash", "Added the freeze Store systems freeze"),
	)
	b.logout()

	// newChange fills the new change form (and submits it).
	newChange := func(summary, plan string, from, to time.Duration) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.Navigate(b.base + "/changes/new"),
			waitText("h1", "New request for change"),
			choose("#service", "Desktop computing"),
			chromedp.SendKeys("#summary", summary, chromedp.ByQuery),
			chromedp.SendKeys("#plan", plan, chromedp.ByQuery),
			chromedp.SetValue("#planned_start", local(wednesday.Add(from)), chromedp.ByQuery),
			chromedp.SetValue("#planned_end", local(wednesday.Add(to)), chromedp.ByQuery),
		}
	}
	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		newChange("Replace the 3rd floor printer", "Unrack the old printer, install the new one, move the queue.", 10*time.Hour, 11*time.Hour),
		press(`form[action="/changes/new"] button[type="submit"]`),
		waitText(".error", "not valid"),
	)
	// The form keeps what Alex typed; the missing backout plan is named.
	var kept struct{ Plan, Start string }
	b.run(chromedp.Evaluate(`({Plan: document.querySelector("#plan").value, Start: document.querySelector("#planned_start").value})`, &kept))
	if !strings.Contains(kept.Plan, "move the queue") || kept.Start != local(wednesday.Add(10*time.Hour)) {
		t.Errorf("after the error the form holds %+v", kept)
	}
	b.run(
		chromedp.SendKeys("#backout_plan", "Put the old printer back.", chromedp.ByQuery),
		press(`form[action="/changes/new"] button[type="submit"]`),
		waitText(".flash", "Raised CHG-"),
		waitText(".change", "within the change freeze"),
	)
	ref := strings.TrimSuffix(strings.Fields(b.text("h1"))[0], ":")
	if got := b.text(".change"); !strings.Contains(got, "pending") || !strings.Contains(got, "go to the CAB") {
		t.Errorf("the change's section %q: want it pending with the CAB's policy", got)
	}
	var starts bool
	b.run(chromedp.Evaluate(`!!document.querySelector('form[action$="/move"] input[value="in_progress"]')`, &starts))
	if starts {
		t.Errorf("an unapproved change offers to start work")
	}
	b.fits(t, "change-raised")
	b.logout()

	b.login("chen@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/changes/cab"),
		waitText(".agenda", ref),
		waitText(".agenda", "within the change freeze"),
	)
	b.fits(t, "change-cab")
	b.run(
		press(`.agenda button[value="reject"]`),
		waitText(".error", "comment"),
		chromedp.SendKeys(`.agenda input[name="comment"]`, "Fine: the freeze is for store systems, not printers.", chromedp.ByQuery),
		press(`.agenda button[value="approve"]`),
		waitText(".flash", ref+" approved"),
		chromedp.Navigate(b.base+"/changes?from="+monday.Format(time.DateOnly)),
		waitText(".change-day table.changes", ref),
	)
	if got := b.text("table.changes"); !strings.Contains(got, "approved") || !strings.Contains(got, "⚠ within the change freeze") {
		t.Errorf("the calendar's row %q: want it approved with the freeze's warning", got)
	}
	b.fits(t, "change-calendar")
	b.logout()

	b.login("alex@it.contoso.example", demo.Password)
	withdrawable := func() bool {
		var ok bool
		b.run(chromedp.Evaluate(`!!document.querySelector('form[action$="/withdraw"]')`, &ok))
		return ok
	}
	b.run(chromedp.Navigate(b.base + "/tickets/" + ref))
	if !withdrawable() {
		t.Errorf("an approved change not started offers its requester no withdrawal")
	}
	b.run(
		press(`form[action$="/move"] input[value="in_progress"] ~ button`),
		waitText(".flash", "In progress."),
	)
	if withdrawable() {
		t.Errorf("a change in progress offers a withdrawal")
	}

	// Alex raises another and withdraws it: closed, its decision with it.
	b.run(
		newChange("Replace the 4th floor printer", "Swap it.", 12*time.Hour, 13*time.Hour),
		chromedp.SendKeys("#backout_plan", "Swap it back.", chromedp.ByQuery),
		press(`form[action="/changes/new"] button[type="submit"]`),
		waitText(".flash", "Raised CHG-"),
		chromedp.SendKeys("#reason", "The 4th floor printer is being retired instead.", chromedp.ByQuery),
		press(`form[action$="/withdraw"] button`),
		waitText(".flash", "Withdrawn"),
	)
	if got := b.text(".change"); !strings.Contains(got, "withdrawn") {
		t.Errorf("the withdrawn change's section %q: want it withdrawn", got)
	}
	if got := b.text("h1"); !strings.HasSuffix(got, "closed") {
		t.Errorf("the withdrawn change's heading %q: want it closed", got)
	}
	b.fits(t, "change-withdrawn")
}
