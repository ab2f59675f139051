package metering_test

import (
	"context"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// exec runs one statement in a transaction of the fixture's database, to
// break what a test needs broken.
func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
}

// TestUsageErrorsAreNotNotFound checks that only a missing meter or org unit
// is not_found: a database that fails answers internal (or unavailable for
// a cancelled request), never a 404 that hides the fault. Issue 17, item 20
// (metering/usage.go turned any error into not-found).
func TestUsageErrorsAreNotNotFound(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n")
	f.orgUnits()
	f.send([5]string{"1", "t.calls", "RETAIL", "2026-11-22T08:00:00Z", `{"n": 1}`})
	query := func(ctx context.Context, meter, orgUnit string) error {
		_, err := f.svc.Usage(ctx, access.System(), metering.UsageQuery{Meter: meter, OrgUnitID: orgUnit,
			From: ts("2026-11-22T00:00:00Z"), To: ts("2026-11-23T00:00:00Z")})
		return err
	}
	ctx := context.Background()
	if err := query(ctx, "calls", "RETAIL"); err != nil {
		t.Fatalf("usage of an org unit that exists: %v", err)
	}
	for _, tt := range []struct{ meter, orgUnit string }{{"nope", ""}, {"calls", "nope"}} {
		if err := query(ctx, tt.meter, tt.orgUnit); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("usage of meter %q, org unit %q = %v, want not_found", tt.meter, tt.orgUnit, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := query(cancelled, "calls", "RETAIL"); errs.Is(err, errs.CodeNotFound) || err == nil {
		t.Errorf("usage with a cancelled request = %v, want an error that is not not_found", err)
	}
	// The org units' table is gone: reading one is a database error.
	f.exec(`ALTER TABLE org_units RENAME TO org_units_gone`)
	if err := query(ctx, "calls", "RETAIL"); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("usage of an org unit when org units cannot be read = %v (%s), want internal", err, errs.CodeOf(err))
	}
}

// TestUsageStoredJSONThatDoesNotDecode checks that a stored JSON value that
// does not decode is an internal error naming what was read, not a meter
// without dimensions or a row without them. Issue 17, item 20 (ignored
// json.Unmarshal errors).
func TestUsageStoredJSONThatDoesNotDecode(t *testing.T) {
	f := newFixture(t)
	f.meter("calls", metering.Sum, "n", "region")
	f.send([5]string{"1", "t.calls", "a", "2026-11-22T08:00:00Z", `{"n": 1, "region": "eu"}`})
	ctx := context.Background()
	q := metering.UsageQuery{Meter: "calls", From: ts("2026-11-22T00:00:00Z"), To: ts("2026-11-23T00:00:00Z"), ByDimension: true}
	if _, err := f.svc.Usage(ctx, access.System(), q); err != nil {
		t.Fatal(err)
	}
	f.exec(`UPDATE usage_rollups SET dims = '{"region":'`)
	if _, err := f.svc.Usage(ctx, access.System(), q); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("usage with dimensions that do not decode = %v, want internal", err)
	}
	f.exec(`UPDATE meters SET group_by = 'region' WHERE code = 'calls'`)
	for name, read := range map[string]func() error{
		"meter":  func() error { _, err := f.svc.Meter(ctx, access.System(), "calls"); return err },
		"meters": func() error { _, err := f.svc.Meters(ctx, access.System()); return err },
	} {
		if err := read(); !errs.Is(err, errs.CodeInternal) {
			t.Errorf("%s with a group_by that does not decode = %v, want internal", name, err)
		}
	}
}
