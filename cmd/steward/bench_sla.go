package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// benchSLA measures the compliance pass: agreements on business services
// that stand on shared infrastructure, each with a year of outages and
// incidents, measured over their windows (current and previous, and the
// year's earlier calendar windows that outages touch).
func benchSLA(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Measure compliance for many agreements with a year of outages on a fresh Steward and print the time a pass takes.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	agreements := fs.Int("agreements", 10000, "agreements (SLAs, one customer org unit each)")
	services := fs.Int("services", 1000, "business services they cover (each stands on one of 10 infrastructure services)")
	outages := fs.Int("outages", 24, "outages per service per year (infrastructure too; theirs carry along the map)")
	incidents := fs.Int("incidents", 24, "incidents per service per year")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the passes to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *agreements < 1 || *services < 1 || *services > *agreements {
		return fmt.Errorf("--agreements and --services must be at least 1, with no more services than agreements")
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	n, err := slaFixture(ctx, a, *agreements, *services, *outages, *incidents)
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	fmt.Fprintf(e.stderr, "fixture: %d agreements on %d services, %d outages, %d incidents in %s\n", *agreements, *services, n.outages, n.incidents,
		time.Since(start).Round(time.Millisecond))
	stopProfile, err := cpuProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	for _, label := range []string{"first", "steady"} {
		p, err := a.SLA.Evaluate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "sla pass=%s store=%s agreements=%d targets=%d outages=%d seconds=%.2f agreements_per_sec=%.0f breaches=%d notices=%d\n",
			label, store, p.Agreements, p.Targets, p.Outages, p.Took.Seconds(), float64(p.Agreements)/p.Took.Seconds(), p.Breaches, p.Notices)
	}
	return nil
}

type slaCounts struct{ outages, incidents int }

// slaFixture writes services, the map and a year of outages and incidents
// in bulk, and defines the agreements through the service (so they are
// validated and stored as any other).
func slaFixture(ctx context.Context, a *app.App, agreements, services, perYear, incidentsPerYear int) (slaCounts, error) {
	var n slaCounts
	now := time.Now().UTC()
	old := now.AddDate(-2, 0, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	root := sqldb.NewID()
	var infra, business []string
	customers := agreements / services // agreements per service: one per customer org unit
	err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at) VALUES ($1, NULL, 'business_unit', 'BENCH', 'Bench', $2, $3, $3)`,
			root, "/"+root+"/", old); err != nil {
			return err
		}
		units := &bulkTable{head: `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)`, cols: 8}
		for i := range customers {
			id := sqldb.NewID()
			units.rows = append(units.rows, []any{id, root, "cost_centre", fmt.Sprintf("CUST-%04d", i), fmt.Sprintf("Customer %d", i), "/" + root + "/" + id + "/", old, old})
		}
		svcs := &bulkTable{head: `INSERT INTO services (id, code, name, kind, lifecycle, description, category, criticality, value_statement, help, rpo_minutes, rto_minutes,
			continuity, details, created_at, updated_at)`, cols: 16}
		deps := &bulkTable{head: `INSERT INTO dependencies (id, from_service_id, from_ci_id, to_service_id, to_ci_id, kind, redundancy_group, group_needs, created_at)`, cols: 9}
		for i := range 10 {
			id := sqldb.NewID()
			infra = append(infra, id)
			svcs.rows = append(svcs.rows, []any{id, fmt.Sprintf("infra-%02d", i), fmt.Sprintf("Infrastructure %d", i), "technical", "live", "", "operational", "high", "", "", 0, 0, "", "{}", old, old})
		}
		for i := range services {
			id := sqldb.NewID()
			business = append(business, id)
			svcs.rows = append(svcs.rows, []any{id, fmt.Sprintf("svc-%04d", i), fmt.Sprintf("Service %d", i), "business", "live", "", "operational", "medium", "", "", 0, 0, "", "{}", old, old})
			deps.rows = append(deps.rows, []any{sqldb.NewID(), id, nil, infra[i%len(infra)], nil, "depends_on", "", 0, old})
		}
		for _, t := range []*bulkTable{units, svcs, deps} {
			if err := t.flush(ctx, tx); err != nil {
				return err
			}
		}
		outs := &bulkTable{head: `INSERT INTO outages (id, service_id, ci_id, started_at, ended_at, impact, share_permille, planned, announced_at, source, fingerprint,
			incident_id, summary, recorded_by, created_at, updated_at)`, cols: 16}
		incs := &bulkTable{head: `INSERT INTO tickets (id, number, service_id, priority, summary, opened_at, responded_at, resolved_at, outage_id, recorded_by,
			created_at, updated_at, state)`, cols: 13}
		year := int64(365 * 24 * time.Hour)
		number := int64(0)
		for _, svc := range append(append([]string{}, infra...), business...) {
			for range perYear {
				at := now.Add(-time.Duration(rng.Int64N(year)))
				length := time.Duration(5+rng.IntN(55)) * time.Minute
				impact, share := "full", 1000
				if rng.IntN(4) == 0 {
					impact, share = "partial", 100*(1+rng.IntN(9))
				}
				outs.rows = append(outs.rows, []any{sqldb.NewID(), svc, nil, at, at.Add(length), impact, share, false, nil, "manual", "", nil, "bench", "bench", at, at})
				n.outages++
			}
			for range incidentsPerYear {
				at := now.Add(-time.Duration(rng.Int64N(year)))
				number++
				resolved := at.Add(time.Duration(5+rng.IntN(300)) * time.Minute)
				incs.rows = append(incs.rows, []any{sqldb.NewID(), number, svc, 1 + rng.IntN(4), "bench", at, at.Add(5 * time.Minute), resolved, nil, "bench", at, at, "resolved"})
				n.incidents++
			}
			if len(outs.rows) > 5000 {
				if err := outs.flush(ctx, tx); err != nil {
					return err
				}
				if err := incs.flush(ctx, tx); err != nil {
					return err
				}
			}
		}
		for _, t := range []*bulkTable{outs, incs} {
			if err := t.flush(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	// Three calendars, as real portfolios have: 24 × 7, London business
	// hours with holidays, Pacific business hours with maintenance.
	all, weekdays := catalog.Weekly(catalog.Weekdays, "00:00", "24:00"), catalog.Weekly(catalog.Weekdays[:5], "08:00", "18:00")
	calendars := []catalog.Calendar{
		{TimeZone: "UTC", Weekly: all},
		{TimeZone: "Europe/London", Weekly: weekdays, Holidays: []catalog.Holiday{{Date: now.AddDate(0, -2, 0).Format("2006-01-02"), Name: "Holiday"}}},
		{TimeZone: "America/Los_Angeles", Weekly: weekdays, Maintenance: []catalog.Maintenance{{Name: "Patch", Rule: "FREQ=MONTHLY;BYDAY=1SU", Start: "16:00", End: "18:00", NoticeDays: 7}}},
	}
	sys := access.System()
	for i := range agreements {
		in := sla.AgreementInput{Code: fmt.Sprintf("sla-%05d", i), Name: fmt.Sprintf("SLA %d", i), Kind: sla.SLA, State: sla.Active, Provider: "IT",
			Customer: fmt.Sprintf("Customer %d", i/services), Currency: "EUR", EffectiveFrom: old.Format("2006-01-02"),
			Services: []string{fmt.Sprintf("svc-%04d", i%services)}, OrgUnits: []string{fmt.Sprintf("CUST-%04d", (i/services)%customers)},
			Calendar: calendars[i%len(calendars)],
			Targets: []sla.Target{
				{Code: "availability", Kind: sla.Availability, Objective: "99.5", Window: sla.Window{Kind: sla.RollingMonths, N: 6}},
				{Code: "monthly", Kind: sla.Availability, Objective: "99.5", Window: sla.Window{Kind: sla.Month}},
				{Code: "breaks", Kind: sla.Reliability, MaxBreaks: 12, Window: sla.Window{Kind: sla.Year}},
				{Code: "p2", Kind: sla.Resolution, Objective: "95", Priority: 2, WithinMinutes: 240, Window: sla.Window{Kind: sla.Quarter}},
			},
			Rebates: []sla.Rebate{{Target: "availability", Kind: sla.PerHour, Amount: "10.00", Units: 10, Cap: "5000.00"}}}
		if _, _, err := a.SLA.SaveAgreement(ctx, sys, in); err != nil {
			return n, fmt.Errorf("agreement %d: %w", i, err)
		}
	}
	return n, nil
}
