package metering_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestUsagePages: issue 18, "every list in the API (… usage …) pages with
// an opaque cursor … and never loads a whole table into memory". Walking
// UsagePage at any page size gives the rows Usage gives whole, in its
// order, for every aggregation, granularity and scope: a consumer of
// Retail sees its subjects and Shop's (below it), never Manufacturing's
// or usage nobody claims; an org unit filter narrows within the scope.
func TestUsagePages(t *testing.T) {
	f := newFixture(t)
	f.orgUnits()
	f.meter("calls", metering.Sum, "n", "region")
	f.meter("users", metering.UniqueCount, "user")
	f.meter("gb", metering.TimeWeighted, "gb")
	subjects := []string{"RETAIL", "SHOP", "MFG", "ROOT", "x-unclaimed", "ou-shop"}
	var evs [][5]string
	for i := range 60 {
		s := subjects[i%len(subjects)]
		at := fmt.Sprintf("2026-11-%02dT%02d:10:00Z", 1+i%3, i%24)
		region := []string{"eu", "us"}[i%2]
		evs = append(evs,
			[5]string{fmt.Sprint("c", i), "t.calls", s, at, fmt.Sprintf(`{"n": %d, "region": %q}`, i+1, region)},
			[5]string{fmt.Sprint("u", i), "t.users", s, at, fmt.Sprintf(`{"user": "u%d"}`, i%4)},
			[5]string{fmt.Sprint("g", i), "t.gb", s, at, fmt.Sprintf(`{"gb": %d}`, i)})
	}
	if res := f.send(evs...); res.Accepted != len(evs) {
		t.Fatalf("accepted %d of %d", res.Accepted, len(evs))
	}
	retail := &access.Principal{UserID: "r", Grants: []access.Grant{{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit,
		ScopeID: "ou-retail", OrgUnitPath: "/ou-root/ou-retail/"}}}
	ctx := context.Background()
	rows := func(rs []metering.UsageRow) string { // the rows as the API shows them
		b, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, meter := range []string{"calls", "users", "gb"} {
		for _, g := range []metering.Granularity{metering.Hour, metering.Day, metering.Total} {
			for _, who := range []struct {
				name string
				p    *access.Principal
				unit string
			}{{"system", access.System(), ""}, {"retail", retail, ""}, {"retail, shop only", retail, "SHOP"}, {"system, retail", access.System(), "RETAIL"}} {
				q := metering.UsageQuery{Meter: meter, OrgUnitID: who.unit, From: ts("2026-11-01T00:00:00Z"), To: ts("2026-11-04T00:00:00Z"),
					Granularity: g, ByDimension: meter == "calls"}
				whole, err := f.svc.Usage(ctx, who.p, q)
				if err != nil {
					t.Fatal(err)
				}
				if who.name == "retail" && len(whole.Rows) == 0 {
					t.Fatalf("%s %s: Retail sees no usage", meter, g)
				}
				for _, r := range whole.Rows {
					if who.p == retail && (r.Subject == "MFG" || r.Subject == "ROOT" || r.Subject == "x-unclaimed") {
						t.Fatalf("%s %s: Retail sees %s", meter, g, r.Subject)
					}
				}
				for _, limit := range []int{1, 2, 7, 500} {
					var walked []metering.UsageRow
					page := sqldb.Page{Limit: limit}
					for n := 0; ; n++ {
						if n > len(whole.Rows)+1 {
							t.Fatalf("%s %s %s limit %d: paging does not end", meter, g, who.name, limit)
						}
						pg, err := f.svc.UsagePage(ctx, who.p, q, page)
						if err != nil {
							t.Fatal(err)
						}
						if len(pg.Items) > limit || pg.Next != "" && len(pg.Items) != limit || pg.Meter == nil {
							t.Fatalf("%s %s %s limit %d: a page of %d, next %q", meter, g, who.name, limit, len(pg.Items), pg.Next)
						}
						walked = append(walked, pg.Items...)
						if page.Cursor = pg.Next; page.Cursor == "" {
							break
						}
					}
					if diff := cmp.Diff(rows(whole.Rows), rows(walked)); diff != "" {
						t.Errorf("%s %s %s limit %d: pages differ from the whole (-whole +pages):\n%s", meter, g, who.name, limit, diff)
					}
				}
			}
		}
	}
	// A cursor of another list, or none at all, is refused naming cursor.
	q := metering.UsageQuery{Meter: "calls", From: ts("2026-11-01T00:00:00Z"), To: ts("2026-11-04T00:00:00Z")}
	for _, c := range []string{"nonsense", sqldb.Order{Name: "name", Columns: []string{"a", "b", "c"}}.Cursor("a", "b", "c")} {
		_, err := f.svc.UsagePage(ctx, access.System(), q, sqldb.Page{Cursor: c})
		if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
}
