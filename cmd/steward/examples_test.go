package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestWoodgroveDesktopPrice: issue 16, service levels 5: the MOF sample
// SLA's "flat fee of $700 per desktop per year" is modelled as a plan
// price (docs/examples/woodgrove-desktop-catalog.yaml, named from
// docs/service-levels.md). The example goes through the real import path
// (what `steward catalog import FILE` runs) and one desktop is billed by
// the rule of docs/billing.md, "Billing intervals": a yearly fee in
// advance is price × units × time held in the interval / the interval's
// length, on the document of the period the time held starts in, rounded
// once.
func TestWoodgroveDesktopPrice(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2028, 1, 10, 9, 0, 0, 0, time.UTC)
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	sys := access.System()
	var out bytes.Buffer
	e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}
	if err := catalogImportFile(ctx, e, a, sys, "../../docs/examples/woodgrove-desktop-catalog.yaml", false); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	o, err := a.Catalog.Offering(ctx, sys, "woodgrove-desktop")
	if err != nil {
		t.Fatal(err)
	}
	pl := o.Plan("desktop")
	if pl == nil || pl.Currency != "USD" || pl.Recurring.Minor != 0 || len(pl.Prices) != 1 {
		t.Fatalf("imported plan: %+v", pl)
	}
	if c := pl.Prices[0]; c.Price != "700.00" || c.Interval != "year" || c.Timing != "advance" || catalog.Per(c.Interval, c.Timing) != "per year, in advance" {
		t.Fatalf("the desktop fee: %+v", c)
	}

	// Two customers of one desktop each, billed in USD: one holds it from
	// the start of 2027, the other from 17 May 2027.
	exec := func(q string, args ...any) {
		t.Helper()
		if err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	old := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	user := sqldb.NewID()
	order := sqldb.NewID()
	units := map[string]string{}
	for _, code := range []string{"whole", "part"} {
		id := sqldb.NewID()
		units[code] = id
		exec(`INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at) VALUES ($1, NULL, 'business_unit', $2, $2, $3, $4, $4)`,
			id, code, "/"+id+"/", old)
		if _, err := a.Billing.SaveAccount(ctx, sys, billing.AccountInput{OrgUnit: code, Mode: billing.Chargeback, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO users (id, email, name, org_unit_id, created_at, updated_at) VALUES ($1, 'buyer@woodgrove.example', 'Buyer', $2, $3, $3)`, user, units["whole"], old)
	exec(`INSERT INTO orders (id, number, kind, org_unit_id, requester_id, state, currency, monthly_minor, one_time_minor, note, created_at, updated_at)
		VALUES ($1, 1, 'provision', $2, $3, 'completed', 'USD', 0, 0, '', $4, $4)`, order, units["whole"], user, old)
	desktop := func(unit string, from time.Time) {
		t.Helper()
		id := sqldb.NewID()
		exec(`INSERT INTO instances (id, name, service_id, offering_id, plan_id, org_unit_id, owner_id, order_id, parameters, quantity, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{}', 1, 'active', $9, $9)`, id, "desktop-"+unit, o.ServiceID, o.ID, pl.ID, units[unit], user, order, from)
		exec(`INSERT INTO instance_segments (instance_id, seq, plan_id, price_version_id, quantity, cost_centre_id, addons, started_at, ended_at)
			VALUES ($1, 1, $2, $3, 1, $4, '[]', $5, NULL)`, id, pl.ID, pl.PriceVersionID, units[unit], from)
	}
	desktop("whole", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	desktop("part", time.Date(2027, 5, 17, 0, 0, 0, 0, time.UTC))

	bill := func(month, unit string) []string {
		t.Helper()
		r, err := a.Billing.StartRun(ctx, sys, month)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Billing.Execute(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		from, _ := time.Parse("2006-01", month)
		accPage, err := a.Billing.Documents(ctx, sys, billing.DocumentFilter{AccountID: unit, From: from, To: from.Add(time.Hour)})
		acc := accPage.Items
		if err != nil || len(acc) != 1 {
			t.Fatalf("documents of %s for %s: %d, %v", unit, month, len(acc), err)
		}
		d, err := a.Billing.Document(ctx, sys, acc[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range d.Lines {
			lines = append(lines, l.Component+" "+l.Unit+" "+l.Amount)
		}
		return lines
	}
	// A whole year: 700 × 1 desktop × 365/365 days = 700.00 exactly, on
	// January's document.
	if got := strings.Join(bill("2027-01", "whole"), "; "); got != "desktop unit-year 700.00" {
		t.Errorf("January 2027, the whole year: %q, want desktop unit-year 700.00", got)
	}
	// From 17 May 2027 to 1 January 2028: 15 days of May + 30 + 31 + 31 +
	// 30 + 31 + 30 + 31 = 229 of the year's 365; 700 × 229/365 =
	// 160300/365 = 439.178… → 439.18, on May's document.
	if got := strings.Join(bill("2027-05", "part"), "; "); got != "desktop unit-year 439.18" {
		t.Errorf("May 2027, from the 17th: %q, want desktop unit-year 439.18", got)
	}
}
