package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/sla"
)

// The change advisory board's week (issue 20, "Demo"): standard change
// templates, a finance-close freeze, an emergency change done yesterday,
// a rejected one, and the coming week's changes — pre-approved standard
// changes, normal changes waiting for the CAB or the service owner, and
// two that conflict (within the freeze, and with each other: the desktop
// service stands on the network). The change policies are in portfolio.yaml.

// seedChanges writes the week through the desk's API on the clock at
// *clock, which it moves.
func seedChanges(ctx context.Context, s Services, d *desk.Service, clock *time.Time, now time.Time) error {
	as := map[string]*access.Principal{}
	for _, email := range []string{"alex@it.contoso.example", "chen@it.contoso.example", "omar@it.contoso.example", "admin@it.contoso.example"} {
		p, err := principal(ctx, s, email)
		if err != nil {
			return err
		}
		as[email] = p
	}
	alex, chen := as["alex@it.contoso.example"], as["chen@it.contoso.example"]
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	at := func(days int, hhmm string) string {
		t, err := time.Parse("15:04", hhmm)
		if err != nil {
			panic(err)
		}
		return day.AddDate(0, 0, days).Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute).Format(time.RFC3339)
	}
	*clock = now.Add(-72 * time.Hour)
	templates := []desk.TemplateInput{
		{Name: "Restart the print spooler", Service: "desktop", Summary: "Restart the print spooler on the print servers", Risk: "low", DurationMinutes: 20,
			Plan:        "Drain the queues, restart the Print Spooler service on PRN-01 and PRN-02 one at a time, print a test page from each floor.",
			BackoutPlan: "None needed: the service starts as it was."},
		{Name: "Rotate the storage gateway certificates", Service: "object-storage", Summary: "Rotate the TLS certificates of the storage gateways", Risk: "low",
			DurationMinutes: 30, Plan: "Run the rotation job; it replaces one gateway's certificate at a time behind the load balancer.",
			BackoutPlan: "Restore the previous certificates from the vault and reload the gateways."},
		{Name: "Add a VLAN to a store switch", Service: "network", Summary: "Add a VLAN to a store's access switch", Risk: "low", DurationMinutes: 60,
			Plan: "Apply the approved VLAN template to the store switch and tag the uplink.", BackoutPlan: "Remove the VLAN and the uplink tag."},
	}
	for _, in := range templates {
		if _, err := d.SaveTemplate(ctx, chen, "", in); err != nil {
			return fmt.Errorf("change template %s: %w", in.Name, err)
		}
	}
	if _, err := d.AddFreeze(ctx, chen, desk.FreezeInput{Name: "Finance month-end close", StartsAt: at(5, "00:00"), EndsAt: at(7, "00:00")}); err != nil {
		return fmt.Errorf("change freeze: %w", err)
	}

	// Yesterday's emergency: a firewall block, approved by the emergency
	// CAB, implemented with its planned outage, resolved.
	*clock = now.Add(-27 * time.Hour)
	emg, err := d.Raise(ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "network", OrgUnit: "CONTOSO", Impact: 1, Urgency: 1,
		Summary: "Block the hostile IP range at the edge firewall", Description: "Credential stuffing against the VPN portal from one /22.",
		Change: &desk.ChangeInput{Type: desk.EmergencyChange, Risk: "medium", Plan: "Add a deny rule for the range on both edge firewalls.",
			BackoutPlan: "Remove the rule.", PlannedStart: now.Add(-26 * time.Hour).Format(time.RFC3339), PlannedEnd: now.Add(-25 * time.Hour).Format(time.RFC3339)}})
	if err != nil {
		return fmt.Errorf("emergency change: %w", err)
	}
	*clock = now.Add(-26*time.Hour - 30*time.Minute)
	if _, err := d.DecideChange(ctx, chen, emg.Change.Approvals[0].ID, desk.DecideInput{Approve: true, Comment: "Go: the attack is ongoing."}); err != nil {
		return err
	}
	*clock = now.Add(-26 * time.Hour)
	if _, err := d.Move(ctx, alex, emg.Reference, desk.MoveInput{To: desk.StateInProgress}); err != nil {
		return err
	}
	if _, err := d.DeclareOutage(ctx, alex, emg.Reference, desk.OutageInput{Impact: sla.Degraded, SharePercent: 5}); err != nil {
		return err
	}
	*clock = now.Add(-25*time.Hour - 20*time.Minute)
	if _, err := d.Move(ctx, alex, emg.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Rule in place on both firewalls; failed logins back to normal."}); err != nil {
		return err
	}

	// The coming week, raised over the last two days.
	*clock = now.Add(-30 * time.Hour)
	type planned struct {
		in     desk.RaiseInput
		decide []bool // the CAB's decisions, step by step (false: reject)
		why    string
	}
	week := []planned{
		{in: desk.RaiseInput{Service: "desktop", Summary: "Restart the print spooler", Change: &desk.ChangeInput{Template: "Restart the print spooler",
			PlannedStart: at(1, "19:00")}}},
		{in: desk.RaiseInput{Service: "desktop", Summary: "Deploy the monthly Windows cumulative update to store PCs",
			Description: "Patch Tuesday's cumulative update, piloted on the IT floor last week.",
			Change: &desk.ChangeInput{Risk: "medium", Plan: "Release the update ring to all store PCs through Intune; PCs install overnight.",
				BackoutPlan: "Pause the ring and uninstall the update through Intune.", PlannedStart: at(2, "20:00"), PlannedEnd: at(3, "06:00")}}},
		{in: desk.RaiseInput{Service: "database", Summary: "Upgrade the shared PostgreSQL cluster from 15 to 16",
			Change: &desk.ChangeInput{Risk: "high", Plan: "pg_upgrade on the standby, switch over, upgrade the old primary.",
				BackoutPlan: "Switch back to the 15 primary kept aside; replay from the WAL archive.", PlannedStart: at(3, "21:00"), PlannedEnd: at(3, "23:30")}},
			decide: []bool{true}, why: "Rehearsed twice on the copy; the CAB agrees."},
		{in: desk.RaiseInput{Service: "object-storage", Summary: "Enable lifecycle rules on the archive tier",
			Change: &desk.ChangeInput{Risk: "low", Plan: "Apply the lifecycle policy to the archive buckets.", BackoutPlan: "Remove the policy.",
				PlannedStart: at(2, "14:00"), PlannedEnd: at(2, "15:00")}},
			decide: []bool{true}, why: "Low risk, no downtime."},
		{in: desk.RaiseInput{Service: "network", Summary: "Replace the core switch in the Leeds data centre",
			Change: &desk.ChangeInput{Risk: "high", Plan: "Pre-stage the new chassis, move the uplinks pair by pair.",
				BackoutPlan: "Move the uplinks back to the old chassis, left racked until the next day.", PlannedStart: at(5, "22:00"), PlannedEnd: at(6, "02:00")}}},
		{in: desk.RaiseInput{Service: "desktop", Summary: "Move the Leeds office print queues to the new print server",
			Change: &desk.ChangeInput{Risk: "medium", Plan: "Publish the queues on PRN-03 and move the Leeds PCs' printer mappings by group policy.",
				BackoutPlan: "Point the group policy back at PRN-01.", PlannedStart: at(5, "23:00"), PlannedEnd: at(6, "00:00")}}},
		{in: desk.RaiseInput{Service: "email", Summary: "Disable TLS 1.0 on the mail gateway",
			Change: &desk.ChangeInput{Risk: "medium", Plan: "Set the minimum protocol to TLS 1.2 on the gateway.", BackoutPlan: "Set it back.",
				PlannedStart: at(4, "20:00"), PlannedEnd: at(4, "20:30")}},
			decide: []bool{false}, why: "Two store tills still send receipts over TLS 1.0: come back once they are replaced."},
	}
	for i, w := range week {
		*clock = now.Add(-30*time.Hour + time.Duration(i)*3*time.Hour)
		in := w.in
		in.Kind, in.OrgUnit = desk.Change, "CONTOSO"
		if in.Change.Template != "" {
			in.Service, in.Summary = "", ""
		}
		raised, err := d.Raise(ctx, alex, in)
		if err != nil {
			return fmt.Errorf("change %q: %w", w.in.Summary, err)
		}
		t := raised.Ticket
		for step, ok := range w.decide {
			*clock = clock.Add(2 * time.Hour)
			c, ref := t.Change.Approvals[step], t.Reference
			if t, err = d.DecideChange(ctx, chen, c.ID, desk.DecideInput{Approve: ok, Comment: w.why}); err != nil {
				return fmt.Errorf("deciding %s: %w", ref, err)
			}
			if t.Change, err = changeOf(ctx, d, chen, t.Reference); err != nil {
				return err
			}
		}
	}
	return nil
}

func changeOf(ctx context.Context, d *desk.Service, p *access.Principal, ref string) (*desk.ChangePlan, error) {
	t, err := d.Ticket(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	return t.Change, nil
}
