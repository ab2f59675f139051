package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sla"
)

// weekdayBefore is a Monday-to-Friday at least days ago, in loc.
func weekdayBefore(now time.Time, days int, loc *time.Location) time.Time {
	d := now.In(loc).AddDate(0, 0, -days)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || (d.Month() == time.November && d.Day() >= 22 && d.Day() <= 28 && d.Weekday() == time.Thursday) {
		d = d.AddDate(0, 0, -1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// evaluateNow runs a compliance pass that sees everything recorded so
// far. The job runner's scheduled pass may hold the lease (and have read
// the world before the test's last change), in which case Evaluate is
// skipped: wait for the lease and run again.
func evaluateNow(t *testing.T, a *app.App) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := a.SLA.Evaluate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !p.Skipped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the compliance lease was never free")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserServiceLevels is the "done when": the service level
// manager defines the MOF guide's sample SLA in the portal, with its
// calendar; an outage is recorded by hand and another arrives from
// Alertmanager; the dashboard shows the error budget burning, then the
// breach; and Retail's next invoice carries the rebate line, which leads
// back to the breach.
func TestBrowserServiceLevels(t *testing.T) {
	base, a := startApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go a.Jobs.Run(ctx) // billing runs and compliance passes are jobs
	b := newBrowser(t, base)
	pacific, _ := time.LoadLocation("America/Los_Angeles")
	now := time.Now()

	b.login("lena@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/sla"),
		waitText("main", "No agreements yet"),
		press(`a[href="/sla/agreements/new"]`),
		waitText("h1", "New agreement"),
		chromedp.SetValue("#code", "woodgrove-desktop", chromedp.ByQuery),
		chromedp.SetValue("#name", "Desktop Computing Service", chromedp.ByQuery),
		choose("#state", "active"),
		chromedp.SetValue("#provider", "Contoso IT", chromedp.ByQuery),
		chromedp.SetValue("#customer", "Retail", chromedp.ByQuery),
		chromedp.SetValue("#effective_from", now.AddDate(-1, 0, 0).Format("2006-01-02"), chromedp.ByQuery),
		chromedp.SetValue("#review_on", now.AddDate(1, 0, 0).Format("2006-01-02"), chromedp.ByQuery),
		choose("#org_units", "Retail (RETAIL)"),
		chromedp.SetValue("#time_zone", "America/Los_Angeles", chromedp.ByQuery),
	)
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		b.run(chromedp.SetValue(`input[name="end.`+d+`"]`, "17:00", chromedp.ByQuery))
	}
	b.run(
		// Holidays every year (docs/service-levels.md, "Service hours"; issue 16, service levels 5).
		chromedp.SetValue("#holidays", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH Thanksgiving\n12-25 Christmas Day [closest weekday]\n2026-12-24 Christmas Eve", chromedp.ByQuery),
		chromedp.SetValue(`input[name="season.name.0"]`, "Tax season", chromedp.ByQuery),
		chromedp.SetValue(`input[name="season.from.0"]`, "04-07", chromedp.ByQuery),
		chromedp.SetValue(`input[name="season.to.0"]`, "04-21", chromedp.ByQuery),
		chromedp.Click(`input[name="season.closest.0"]`, chromedp.ByQuery),
		chromedp.SetValue(`input[name="season.hours.0"]`, "mon-fri 07:00-19:00, sat 09:00-14:00", chromedp.ByQuery),
		chromedp.SetValue(`input[name="maint.name.0"]`, "Monthly maintenance", chromedp.ByQuery),
		chromedp.SetValue(`input[name="maint.rule.0"]`, "FREQ=MONTHLY;BYDAY=1SU", chromedp.ByQuery),
		chromedp.SetValue(`input[name="maint.start.0"]`, "16:00", chromedp.ByQuery),
		chromedp.SetValue(`input[name="maint.end.0"]`, "18:00", chromedp.ByQuery),
		chromedp.SetValue(`input[name="maint.notice.0"]`, "7", chromedp.ByQuery),
		chromedp.SetValue(`input[name="target.code.0"]`, "availability", chromedp.ByQuery),
		choose(`select[name="target.kind.0"]`, "availability"),
		chromedp.SetValue(`input[name="target.objective.0"]`, "99.5", chromedp.ByQuery),
		choose(`select[name="target.window.0"]`, "rolling_months"),
		chromedp.SetValue(`input[name="target.n.0"]`, "6", chromedp.ByQuery),
		chromedp.SetValue(`input[name="target.code.1"]`, "breaks", chromedp.ByQuery),
		choose(`select[name="target.kind.1"]`, "reliability"),
		choose(`select[name="target.window.1"]`, "year"),
		chromedp.SetValue(`input[name="target.breaks.1"]`, "3", chromedp.ByQuery),
		chromedp.SetValue(`input[name="rebate.target.0"]`, "availability", chromedp.ByQuery),
		chromedp.SetValue(`input[name="rebate.amount.0"]`, "50.00", chromedp.ByQuery),
		// No service chosen yet: the form says so and keeps what was typed.
		press(`.agreement-form button[type="submit"]`),
		waitText(".error", "name at least one service the agreement covers"),
	)
	var kept string
	b.run(chromedp.Value(`input[name="season.hours.0"]`, &kept, chromedp.ByQuery))
	if kept != "monday 07:00-19:00, tuesday 07:00-19:00, wednesday 07:00-19:00, thursday 07:00-19:00, friday 07:00-19:00, saturday 09:00-14:00" {
		t.Errorf("the season's hours came back as %q", kept)
	}
	b.run(
		choose("#services", "Desktop computing"),
		choose("#offerings", "Standard laptop"),
		press(`.agreement-form button[type="submit"]`),
		waitText(".flash", "Defined Desktop Computing Service"),
		waitText("main", "99.5 % availability, rolling 6 months"),
		waitText("main", "Extended hours: Tax season (04-07 to 04-21, the closest weekdays)"),
		waitText("main", "Thanksgiving (the fourth Thursday of November every year), Christmas Day (25 December every year, or the closest weekday), Christmas Eve (24 December 2026)"),
		waitText("main", "50.00 EUR per hour beyond the allowance per affected unit"),
	)
	b.logout()

	// Alex records a five-hour outage of the desktop service.
	d1 := weekdayBefore(now, 12, pacific)
	b.login("alex@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/sla/outages"),
		waitText("main", "Record an outage"),
		choose("#service", "Desktop computing"),
		choose("#zone", "America/Los_Angeles"),
		chromedp.SetValue("#started_at", d1.Format("2006-01-02")+"T09:00", chromedp.ByQuery),
		chromedp.SetValue("#ended_at", d1.Format("2006-01-02")+"T14:00", chromedp.ByQuery),
		chromedp.SetValue("#summary", "Image server down", chromedp.ByQuery),
		press(`form[action="/sla/outages"] button[type="submit"]`),
		waitText(".flash", "Recorded the outage of Desktop computing"),
		waitText("table.outages", "Image server down"),
	)
	b.logout()
	evaluateNow(t, a) // the minute's pass, now

	// Lena sees the budget burning: at risk, most of it spent.
	b.login("lena@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/sla"),
		waitText(`tr[data-code="woodgrove-desktop"]`, "at risk"),
		waitText(`tr[data-code="woodgrove-desktop"]`, "% of budget"),
		waitText(".notices", "Desktop Computing Service: 99.5 % availability, rolling 6 months is at risk"),
	)
	b.screenshot("sla-at-risk")

	// Alertmanager reports a two-hour outage of the desktops, firing then resolved.
	mon, err := a.Identity.CreateUser(ctx, access.System(), identity.CreateUserInput{Email: "alertmanager@it.contoso.example", Name: "Alertmanager"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity.CreateGrant(ctx, access.System(), identity.CreateGrantInput{UserID: mon.ID, Role: access.RoleMonitoring, ScopeKind: access.ScopeGlobal}); err != nil {
		t.Fatal(err)
	}
	tok, err := a.Identity.CreateToken(ctx, access.System(), identity.CreateTokenInput{UserID: mon.ID, Name: "alertmanager", ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	d2 := weekdayBefore(now, 4, pacific)
	alert := sla.Alert{Status: "firing", Labels: map[string]string{"alertname": "DesktopLogonFailing", "service": "desktop"},
		Annotations: map[string]string{"summary": "Logon failing at every store"}, StartsAt: d2.Add(10 * time.Hour), Fingerprint: "9f3a"}
	for _, status := range []string{"firing", "resolved"} {
		alert.Status = status
		if status == "resolved" {
			alert.EndsAt = d2.Add(12 * time.Hour)
		}
		body, _ := json.Marshal(sla.AlertmanagerMessage{Version: "4", Status: status, Receiver: "steward", Alerts: []sla.Alert{alert}})
		req, _ := http.NewRequest("POST", base+"/api/v1/alertmanager", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("alertmanager %s: %v %v", status, res, err)
		}
		res.Body.Close()
	}
	evaluateNow(t, a)
	b.run(
		chromedp.Navigate(b.base+"/sla"),
		waitText(`tr[data-code="woodgrove-desktop"]`, "breached"),
		chromedp.WaitVisible(`tr[data-code="woodgrove-desktop"] svg.spark polyline`, chromedp.ByQuery),
		waitText("tr.breach", "Desktop Computing Service"),
		waitText("tr.breach", "EUR credit"),
		press(`a[href="/sla/agreements/woodgrove-desktop"]`),
		waitText(`tr.target[data-code="availability"]`, "breached"),
		chromedp.WaitVisible("figure.burn svg polyline", chromedp.ByQuery),
		waitText("main", "Error budget burn: availability"),
	)
	b.screenshot("sla-breached")
	c, err := a.SLA.Compliance(ctx, access.System(), "woodgrove-desktop")
	if err != nil || len(c.Breaches) != 1 || c.Breaches[0].RebateMinor <= 0 {
		t.Fatalf("compliance: %+v %v", c, err)
	}
	rebate := c.Breaches[0].Rebate
	// The review (by default the six Pacific months to the end of this
	// one) shows each target's own windows and the rebate credited now,
	// once (docs/service-levels.md, "Service review"; issue 16, service
	// levels 1 and 4).
	b.run(
		chromedp.Navigate(b.base+"/sla/agreements/woodgrove-desktop/review"),
		waitText("h1", "Service review: Desktop Computing Service"),
		waitText(".lead", "(America/Los_Angeles)"),
		chromedp.WaitVisible("table.review-targets tr.window", chromedp.ByQuery),
		waitText("table.credited", rebate+" credit"),
	)
	b.fits(t, "sla-review") // issue 17, item 6
	b.logout()

	// Felix runs this month's billing; Dana's invoice carries the rebate.
	b.login("felix@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/billing"),
		press(`form[action="/billing/runs"] button`),
		waitText("table.runs", "completed"),
	)
	b.logout()
	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/costs"),
		press(`table.documents a`),
		waitText("main", "Invoice (draft)"),
		waitText("table.lines", "SLA rebate: Desktop Computing Service"),
		waitText("tr.credit", "-"+rebate),
		press(`tr.credit details.why summary`),
		press(`tr.credit a.breach-link`),
		waitText("h1", "Breach of Desktop Computing Service"),
		waitText(".rebate", rebate+" EUR"),
		waitText("main", "the draft it is on"),
	)
	b.screenshot("sla-rebate-breach")
	if got := b.text("main"); !strings.Contains(got, "Nothing underpins this agreement: Contoso IT owns the breach.") {
		t.Errorf("the breach page: %s", got)
	}
}
