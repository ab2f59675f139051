package main

import (
	"context"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// benchBilling fills a fresh Steward with accounts, each with instances
// whose plan has a monthly fee and a usage charge (one rollup each), runs
// last month's billing through the billing service, and prints one line of
// figures.
func benchBilling(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Bill a month for many accounts on a fresh Steward and print invoices/s.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	accounts := fs.Int("accounts", 10000, "billing accounts (one org unit each)")
	charges := fs.Int("charges", 10, "lines per invoice: half monthly fees, half usage charges (even)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *charges < 2 || *charges%2 != 0 || *accounts < 1 {
		return fmt.Errorf("--charges must be even and at least 2, --accounts at least 1")
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	start := time.Now()
	if err := billingFixture(ctx, a, *accounts, *charges/2, month); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	fmt.Fprintf(e.stderr, "fixture: %d accounts × %d instances in %s\n", *accounts, *charges/2, time.Since(start).Round(time.Millisecond))

	sys := access.System()
	start = time.Now()
	run, err := a.Billing.StartRun(ctx, sys, month.Format("2006-01"))
	if err != nil {
		return err
	}
	if err := a.Billing.Execute(ctx, run.ID); err != nil {
		return err
	}
	elapsed := time.Since(start)
	run, err = a.Billing.Run(ctx, sys, run.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "run: month=%s seconds=%.2f documents=%d store=%s\n", run.Month, elapsed.Seconds(), run.Documents, store)
	fmt.Fprintf(e.stdout, "billing invoices_per_sec=%.0f accounts=%d lines=%d\n", float64(run.Documents)/elapsed.Seconds(), run.AccountsDone, run.Lines)
	return nil
}

// billingFixture writes the benchmark's organisation straight into the
// database, in bulk: it measures billing, not the API that would build it.
func billingFixture(ctx context.Context, a *app.App, accounts, perAccount int, month time.Time) error {
	sys := access.System()
	m, err := a.Metering.SaveMeter(ctx, sys, metering.MeterInput{Code: "bench-gb", Name: "Bench GB", EventType: "bench.gb", Aggregation: metering.Sum,
		ValuePath: "gb", Unit: "GB"})
	if err != nil {
		return err
	}
	old := month.AddDate(0, -1, 0)
	root, user, svc, off, plan, order, version := sqldb.NewID(), sqldb.NewID(), sqldb.NewID(), sqldb.NewID(), sqldb.NewID(), sqldb.NewID(), sqldb.NewID()
	return a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at) VALUES ($1, NULL, 'business_unit', 'BENCH', 'Bench', $2, $3, $3)`,
				[]any{root, "/" + root + "/", old}},
			{`INSERT INTO users (id, email, name, org_unit_id, created_at, updated_at) VALUES ($1, 'bench@example.com', 'Bench', $2, $3, $3)`, []any{user, root, old}},
			{`INSERT INTO services (id, code, name, kind, lifecycle, description, category, criticality, value_statement, help, rpo_minutes, rto_minutes, continuity, details, created_at, updated_at)
				VALUES ($1, 'bench', 'Bench service', 'business', 'live', '', 'operational', 'medium', '', '', 0, 0, '', '{}', $2, $2)`, []any{svc, old}},
			{`INSERT INTO offerings (id, code, service_id, name, summary, description, view, form_schema, audience, addons, bundle, created_at, updated_at)
				VALUES ($1, 'bench', $2, 'Bench', '', '', 'end_user', '{}', '{}', '[]', '[]', $3, $3)`, []any{off, svc, old}},
			{`INSERT INTO plans (id, offering_id, code, name, description, currency, recurring_minor, one_time_minor, agreement, max_quantity, retired, position, created_at, updated_at)
				VALUES ($1, $2, 'standard', 'Standard', '', 'EUR', 2000, 0, '', 0, FALSE, 0, $3, $3)`, []any{plan, off, old}},
			{`INSERT INTO price_versions (id, plan_id, version, effective_from, currency, components, note, created_by, created_at) VALUES ($1, $2, 1, $3, 'EUR', $4, '', 'bench', $3)`,
				[]any{version, plan, old, `[{"code":"base","name":"Monthly fee","kind":"flat","price":"20.00"},{"code":"gb","name":"Storage","kind":"per_unit","meter":"bench-gb","price":"0.05"}]`}},
			{`INSERT INTO orders (id, number, kind, org_unit_id, requester_id, state, currency, monthly_minor, one_time_minor, note, created_at, updated_at)
				VALUES ($1, 999999, 'provision', $2, $3, 'completed', 'EUR', 0, 0, '', $4, $4)`, []any{order, root, user, old}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		units := &bulkTable{head: `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)`, cols: 8}
		accts := &bulkTable{head: `INSERT INTO billing_accounts (id, org_unit_id, name, mode, currency, anchor_day, terms_days, created_at, updated_at)`, cols: 9}
		insts := &bulkTable{head: `INSERT INTO instances (id, name, service_id, offering_id, plan_id, org_unit_id, owner_id, order_id, parameters, quantity, state, created_at, updated_at)`, cols: 13}
		segs := &bulkTable{head: `INSERT INTO instance_segments (instance_id, seq, plan_id, price_version_id, quantity, cost_centre_id, addons, started_at, ended_at)`, cols: 9}
		rolls := &bulkTable{head: `INSERT INTO usage_rollups (meter_id, subject, dims, hour, quantity, events, last_at)`, cols: 7}
		for i := range accounts {
			unit := sqldb.NewID()
			units.rows = append(units.rows, []any{unit, root, "cost_centre", fmt.Sprintf("CC-%06d", i), fmt.Sprintf("Cost centre %d", i), "/" + root + "/" + unit + "/", old, old})
			accts.rows = append(accts.rows, []any{sqldb.NewID(), unit, fmt.Sprintf("Cost centre %d", i), "chargeback", "EUR", 1, 30, old, old})
			for j := range perAccount {
				inst := sqldb.NewID()
				insts.rows = append(insts.rows, []any{inst, fmt.Sprintf("i-%d-%d", i, j), svc, off, plan, unit, user, order, "{}", 1, "active", old, old})
				segs.rows = append(segs.rows, []any{inst, 1, plan, version, 1, unit, "[]", old, nil})
				rolls.rows = append(rolls.rows, []any{m.ID, inst, "{}", month.Add(time.Duration(j+1) * time.Hour), int64(10+j) * metering.Scale, 1, month.Add(time.Duration(j+1) * time.Hour)})
			}
			if len(insts.rows) >= 2000 {
				for _, t := range []*bulkTable{units, accts, insts, segs, rolls} {
					if err := t.flush(ctx, tx); err != nil {
						return err
					}
				}
			}
		}
		for _, t := range []*bulkTable{units, accts, insts, segs, rolls} {
			if err := t.flush(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
}
