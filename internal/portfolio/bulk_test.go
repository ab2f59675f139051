package portfolio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/portfolio"
)

// bigPortfolio is a file of services (live) and offerings with three plans
// each, the dearest first; the offering numbered bad, if any, names a blueprint that was never
// uploaded, which only writing it finds.
func bigPortfolio(services, offerings, bad int) []byte {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range services {
		fmt.Fprintf(&b, "  - {code: svc-%03d, name: Service %d, kind: business, lifecycle: live, outcomes: [backup in minutes]}\n", i, i)
	}
	b.WriteString("offerings:\n")
	for i := range offerings {
		fmt.Fprintf(&b, "  - code: off-%05d\n    service: svc-%03d\n    name: Offering %d\n    summary: Storage and backup %d\n", i, i%services, i, i)
		if i%5 == 1 {
			b.WriteString("    audience: {roles: [approver]}\n")
		}
		b.WriteString("    plans:\n")
		for k, p := range []string{"bronze", "silver", "gold"} {
			fmt.Fprintf(&b, "      - {code: %s, name: %s, currency: EUR, recurring: \"%d.50\", one_time: \"%d.00\"", p, p, 10+i%90+(2-k)*5, k)
			if i == bad && k == 1 {
				b.WriteString(", blueprint: nope@1")
			}
			b.WriteString("}\n")
		}
	}
	return []byte(b.String())
}

// TestImportLargeFileInBatches: issue 18: catalog import writes services,
// their lifecycle steps and offerings in batches of thousands, with the
// audit records and price versions of one at a time; an offering that
// fails in the middle of a batch is named, those before it stay applied,
// and importing again resumes.
func TestImportLargeFileInBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("imports thousands of offerings")
	}
	ctx, sys := context.Background(), access.System()
	a, sa := newApp(t)
	const services, offerings, bad = 40, 2600, 1700
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := a.DB.Read().QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	audits := func(action string) int {
		return count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action)
	}

	changes, err := portfolio.Import(ctx, sa, sys, "big.yaml", bigPortfolio(services, offerings, bad), false)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("+ offering off-%05d: ", bad)) || !strings.Contains(err.Error(), "nope@1 has not been uploaded") {
		t.Fatalf("the import of a file with a bad offering: %v", err)
	}
	if last := changes[len(changes)-1]; last.Name != fmt.Sprintf("off-%05d", bad) || len(changes) != services*4+bad+1 {
		t.Errorf("changes end with %v (%d changes), want the bad offering after %d", last, len(changes), services*4+bad)
	}
	if n := count(`SELECT COUNT(*) FROM offerings`); n != bad {
		t.Errorf("%d offerings written before the bad one, want %d", n, bad)
	}
	if n := count(`SELECT COUNT(*) FROM services WHERE lifecycle = 'live'`); n != services {
		t.Errorf("%d services live, want %d", n, services)
	}
	for action, want := range map[string]int{"service.create": services, "service.transition": 3 * services, "offering.create": bad, "price_version.create": 3 * bad} {
		if n := audits(action); n != want {
			t.Errorf("%d audit records %s, want %d", n, action, want)
		}
	}
	if n := count(`SELECT COUNT(*) FROM service_transitions`); n != 4*services {
		t.Errorf("%d service transitions recorded, want %d", n, 4*services)
	}

	// Fixed, the file imports the rest.
	changes, err = portfolio.Import(ctx, sa, sys, "big.yaml", bigPortfolio(services, offerings, -1), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != offerings-bad || changes[0].Name != fmt.Sprintf("off-%05d", bad) || changes[0].Op != "create" {
		t.Errorf("importing again made %d changes, first %v; want the %d offerings from the bad one", len(changes), changes[0], offerings-bad)
	}
	if n := audits("offering.create"); n != offerings {
		t.Errorf("%d audit records offering.create, want %d", n, offerings)
	}
	if n := count(`SELECT COUNT(*) FROM plans p JOIN price_versions v ON v.id = p.price_version_id AND v.plan_id = p.id AND v.version = 1`); n != 3*offerings {
		t.Errorf("%d plans have their first price version, want %d", n, 3*offerings)
	}
	if n := count(`SELECT COUNT(*) FROM offering_search s WHERE s.currency <> 'EUR' OR s.min_price_minor IS NULL
		OR s.min_price_minor <> (SELECT MIN(p.recurring_minor) FROM plans p WHERE p.offering_id = s.offering_id AND NOT p.retired)`); n != 0 {
		t.Errorf("%d offerings are searched at a price that is not their lowest", n)
	}
	if n := count(`SELECT COUNT(*) FROM offering_audience WHERE role = 'approver'`); n != offerings/5 {
		t.Errorf("%d offerings have the approver audience, want %d", n, offerings/5)
	}
	if changes, err := portfolio.Import(ctx, sa, sys, "big.yaml", bigPortfolio(services, offerings, -1), false); err != nil || len(changes) != 0 {
		t.Errorf("a third import: %d changes, %v", len(changes), err)
	}
	if v, err := a.Audit.Verify(ctx, sys); err != nil || !v.OK || v.Records != int64(4*offerings+4*services) {
		t.Errorf("the audit log after the import: %+v, %v", v, err)
	}

	// What was imported in bulk reads as what one at a time writes.
	o, err := a.Catalog.Offering(ctx, sys, "off-02001")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Plans) != 3 || o.Plans[2].Recurring.Decimal() != "31.50" || o.Plans[2].OneTime.Decimal() != "2.00" || o.Plans[2].PriceVersion != 1 || o.Service == nil {
		t.Errorf("an imported offering: %+v, plan %+v", o, o.Plans[2])
	}
	in := o.Input()
	in.Code = "one-at-a-time"
	one, err := a.Catalog.CreateOffering(ctx, sys, in)
	if err != nil {
		t.Fatal(err)
	}
	for k := range one.Plans {
		if one.Plans[k].Recurring != o.Plans[k].Recurring || one.Plans[k].OneTime != o.Plans[k].OneTime || one.Plans[k].PriceVersion != o.Plans[k].PriceVersion ||
			fmt.Sprint(one.Plans[k].Prices) != fmt.Sprint(o.Plans[k].Prices) || one.Plans[k].RecurringInterval != o.Plans[k].RecurringInterval {
			t.Errorf("plan %d: one at a time %+v, in bulk %+v", k, one.Plans[k], o.Plans[k])
		}
	}
	// The audit records say the same of both, IDs and times aside.
	record := func(action, id string) any {
		t.Helper()
		var after string
		if err := a.DB.Read().QueryRowContext(ctx, `SELECT after_json FROM audit_log WHERE action = $1 AND object_id = $2`, action, id).Scan(&after); err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(after), &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "plan_id", "code", "created_at", "updated_at", "effective_from"} {
			delete(v, k)
		}
		if plans, ok := v["plans"].([]any); ok {
			for _, p := range plans {
				delete(p.(map[string]any), "id")
				delete(p.(map[string]any), "price_version_id")
			}
		}
		return v
	}
	if diff := cmp.Diff(record("offering.create", o.ID), record("offering.create", one.ID)); diff != "" {
		t.Errorf("offering.create in bulk and one at a time (-bulk +one):\n%s", diff)
	}
	for k := range one.Plans {
		if diff := cmp.Diff(record("price_version.create", o.Plans[k].ID), record("price_version.create", one.Plans[k].ID)); diff != "" {
			t.Errorf("price_version.create of plan %d in bulk and one at a time (-bulk +one):\n%s", k, diff)
		}
	}
	page, err := a.Catalog.Search(ctx, sys, catalog.OfferingFilter{Query: "off-02001"})
	if err != nil || len(page.Items) == 0 {
		t.Errorf("search for an imported offering: %v, %v", page, err)
	}
}
