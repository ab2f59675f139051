package demo

import (
	"context"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/sla"
)

// seedSLA makes Retail's desktop SLA after the MOF guide's sample (99.5 %
// over a rolling six months in London business hours, at most three
// breaks a year, 95 % of nominal incidents resolved within two hours,
// €50 per hour per PC beyond the agreed level), the network team's OLA
// under it, and a few weeks of outages and incidents, measured once so
// the dashboard shows the budget burning.
func seedSLA(ctx context.Context, s Services) error {
	lena, err := principal(ctx, s, "lena@it.contoso.example")
	if err != nil {
		return err
	}
	weekdays, allWeek := catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00"), catalog.Weekly(catalog.Weekdays, "00:00", "24:00")
	maintenance := []catalog.Maintenance{{Name: "Monthly maintenance", Rule: "FREQ=MONTHLY;BYDAY=1SU", Start: "06:00", End: "08:00", NoticeDays: 7}}
	now := s.SLA.Now().UTC()
	office := londonOffice()
	holidays := office.Holidays
	start := now.AddDate(-1, 0, 0).Format("2006-01-02")
	for _, in := range []sla.AgreementInput{
		{Code: "network-ola", Name: "Network for the desktop", Kind: sla.OLA, State: sla.Active, Provider: "Network Operations", Customer: "Service Desk",
			Currency: "EUR", EffectiveFrom: start, Services: []string{"network"},
			Calendar: catalog.Calendar{TimeZone: "Europe/London", Weekly: allWeek, Maintenance: maintenance},
			Targets:  []sla.Target{{Code: "availability", Kind: sla.Availability, Objective: "99.9", Window: sla.Window{Kind: sla.RollingMonths, N: 6}}}},
		{Code: "desktop-sla", Name: "Desktop computing for Retail", Kind: sla.SLA, State: sla.Active, Provider: "Contoso IT", Customer: "Retail",
			Currency: "EUR", EffectiveFrom: start, ReviewOn: now.AddDate(0, 6, 0).Format("2006-01-02"), Services: []string{"desktop"}, Offerings: []string{"laptop"},
			OrgUnits:    []string{"RETAIL"},
			Description: "The provision and support of Retail's desktops and laptops: hardware, the standard image, and access to the services of the catalog.",
			Calendar:    catalog.Calendar{TimeZone: "Europe/London", Weekly: weekdays, Maintenance: maintenance, Holidays: holidays},
			Targets: []sla.Target{
				{Code: "availability", Kind: sla.Availability, Objective: "99.5", Window: sla.Window{Kind: sla.RollingMonths, N: 6}},
				{Code: "breaks", Kind: sla.Reliability, MaxBreaks: 3, Window: sla.Window{Kind: sla.Year}},
				{Code: "resolution", Kind: sla.Resolution, Objective: "95", Priority: 3, WithinMinutes: 120, Window: sla.Window{Kind: sla.Month}},
			},
			Rebates:       []sla.Rebate{{Target: "availability", Kind: sla.PerHour, Amount: "50.00"}},
			UnderpinnedBy: []string{"network-ola"}},
	} {
		if _, _, err := s.SLA.SaveAgreement(ctx, lena, in); err != nil {
			return err
		}
	}
	alex, err := principal(ctx, s, "alex@it.contoso.example")
	if err != nil {
		return err
	}
	at := func(daysAgo int, hour, minute int) time.Time { return workday(&office, now, daysAgo, hour, minute) }
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	for _, o := range []sla.OutageInput{
		{Service: "desktop", Started: rfc(at(40, 10, 0)), Ended: rfc(at(40, 12, 30)), Summary: "Image server out of disk"},
		{Service: "network", Started: rfc(at(20, 9, 0)), Ended: rfc(at(20, 11, 0)), Summary: "Core switch failover"},
		{Service: "desktop", Started: rfc(at(8, 13, 0)), Ended: rfc(at(8, 16, 0)), Impact: sla.Partial, Share: 30, Summary: "Store logons slow to fail"},
	} {
		if _, err := s.SLA.RecordOutage(ctx, alex, o); err != nil {
			return err
		}
	}
	// The incidents are in the last days of last month, so its resolution
	// window has ended, and breached, whatever the day the demo starts (days
	// back from now put them in this month on its first days, and the demo
	// had no breach then).
	loc := office.Location()
	local := now.In(loc)
	firstOfMonth := time.Date(local.Year(), local.Month(), 1, 12, 0, 0, 0, loc)
	lastMonth := func(daysBefore, hour, minute int) time.Time {
		return workday(&office, firstOfMonth, daysBefore, hour, minute)
	}
	for _, i := range []sla.IncidentInput{
		{Service: "desktop", Priority: 3, Summary: "Laptop will not dock", OpenedAt: rfc(lastMonth(3, 9, 0)), ResolvedAt: rfc(lastMonth(3, 10, 15))},
		// Opened late one working day, resolved mid-morning the next: 4.5 service hours, late.
		{Service: "desktop", Priority: 3, Summary: "Printer driver missing", OpenedAt: rfc(lastMonth(4, 16, 0)), ResolvedAt: rfc(nextWorkday(lastMonth(4, 10, 30)))},
	} {
		if _, err := s.SLA.SaveIncident(ctx, alex, "", i); err != nil {
			return err
		}
	}
	_, err = s.SLA.Evaluate(ctx)
	return err
}

// londonOffice is when Contoso IT's London office works: weekdays 08:00
// to 18:00 but England's holidays, every year (a one-off date would end
// after a year), with substitute days when they fall on a weekend. It is
// the desktop SLA's service hours and the service desk's working day.
func londonOffice() catalog.Calendar {
	return catalog.Calendar{TimeZone: "Europe/London", Weekly: catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00"),
		Holidays: []catalog.Holiday{{Date: "12-25", Name: "Christmas Day", Substitute: true}, {Date: "12-26", Name: "Boxing Day", Substitute: true},
			{Date: "01-01", Name: "New Year's Day", Substitute: true},
			{Rule: "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO", Name: "Spring bank holiday"}, {Rule: "FREQ=YEARLY;BYMONTH=8;BYDAY=-1MO", Name: "Summer bank holiday"}}}
}

// workday is a working day of the office (not a weekend or a holiday)
// some days back from now, or the last one before it, at a local hour.
func workday(office *catalog.Calendar, now time.Time, daysAgo, hour, minute int) time.Time {
	loc := office.Location()
	d := now.In(loc).AddDate(0, 0, -daysAgo)
	for len(office.HoursOn(d.Date())) == 0 {
		d = d.AddDate(0, 0, -1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, loc)
}

func nextWorkday(t time.Time) time.Time {
	t = t.AddDate(0, 0, 1)
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// principal is the demo user's principal.
func principal(ctx context.Context, s Services, email string) (*access.Principal, error) {
	u, err := s.Identity.UserByEmail(ctx, access.System(), email)
	if err != nil {
		return nil, err
	}
	return s.Identity.Principal(ctx, u.ID)
}
