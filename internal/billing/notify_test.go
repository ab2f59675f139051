package billing_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/outbox"
)

// TestPaymentRecordedTellsFinancialManagers checks the row of
// docs/notifications.md, "Who is told": "payment.recorded | financial
// managers of the org unit", and the rule above the table that nobody is
// told what they did themselves. A payment recorded on Corp's invoice by a
// financial manager of the whole provider reaches the other financial
// managers whose grants cover Corp (on Corp, on the whole provider, through
// a group), and nobody else: not the one who recorded it, not financial
// managers of Corp's department or of another org unit, not Corp's
// relationship manager (who is told of the invoice itself) or consumers.
func TestPaymentRecordedTellsFinancialManagers(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026
	sys := access.System()
	clock := func() time.Time { return f.now }
	ids := identity.NewService(f.db, clock, identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	grant := func(kind access.ScopeKind, unit string) identity.CreateGrantInput {
		g := identity.CreateGrantInput{Role: access.RoleFinancialManager, ScopeKind: kind}
		if kind == access.ScopeOrgUnit {
			g.ScopeID = f.units[unit]
		}
		return g
	}
	person := func(email string, grants ...identity.CreateGrantInput) *access.Principal {
		t.Helper()
		u, err := ids.CreateUser(f.ctx, sys, identity.CreateUserInput{Email: email, Name: email, OrgUnitID: f.units["corp"]})
		must(err)
		for _, g := range grants {
			g.UserID = u.ID
			_, err := ids.CreateGrant(f.ctx, sys, g)
			must(err)
		}
		p, err := ids.Principal(f.ctx, u.ID)
		must(err)
		return p
	}
	clerk := person("clerk@x.example", grant(access.ScopeGlobal, "")) // records the payment
	told := map[string]*access.Principal{
		"a financial manager of Corp":                 person("fm-corp@x.example", grant(access.ScopeOrgUnit, "corp")),
		"a financial manager of the whole provider":   person("fm-all@x.example", grant(access.ScopeGlobal, "")),
		"a financial manager of Corp through a group": person("fm-group@x.example"),
	}
	finance, err := ids.CreateGroup(f.ctx, sys, identity.GroupInput{Name: "Corp finance"})
	must(err)
	_, err = ids.SetMember(f.ctx, sys, finance.ID, told["a financial manager of Corp through a group"].UserID, true)
	must(err)
	viaGroup := grant(access.ScopeOrgUnit, "corp")
	viaGroup.GroupID = finance.ID
	_, err = ids.CreateGrant(f.ctx, sys, viaGroup)
	must(err)
	relationship := person("rm-corp@x.example", identity.CreateGrantInput{Role: access.RoleRelationshipManager, ScopeKind: access.ScopeOrgUnit, ScopeID: f.units["corp"]})
	untold := map[string]*access.Principal{
		"the financial manager who recorded it":                 clerk,
		"a financial manager of Corp's department (below Corp)": person("fm-dept@x.example", grant(access.ScopeOrgUnit, "dept")),
		"a financial manager of another org unit":               person("fm-other@x.example", grant(access.ScopeOrgUnit, "other")),
		"a relationship manager of Corp":                        relationship,
		"a consumer of Corp": person("consumer@x.example", identity.CreateGrantInput{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit,
			ScopeID: f.units["corp"]}),
	}

	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.instance("a", "corp", [4]string{"large", "1", "2026-11-01T00:00:00Z", ""})
	f.run("2026-11")
	nov, err := f.bill.Finalise(f.ctx, sys, invoice(f, "2026-11-01T00:00:00Z").ID)
	must(err)
	if _, err := f.bill.RecordPayment(f.ctx, clerk, nov.ID, billing.PaymentInput{Amount: "50.00", Reference: "BANK-7"}); err != nil {
		t.Fatal(err)
	}

	centre := notify.New(f.db, clock, slog.New(slog.DiscardHandler), []byte("0123456789abcdef0123456789abcdef"))
	out := outbox.NewDispatcher(f.db, clock, slog.New(slog.DiscardHandler))
	out.Add("notifications", centre)
	for {
		n, err := out.Once(f.ctx)
		must(err)
		if n == 0 {
			break
		}
	}
	// titles are the titles of a person's notifications of a kind.
	titles := func(p *access.Principal, kind string) []string {
		t.Helper()
		page, err := centre.List(f.ctx, p, notify.Filter{})
		must(err)
		var out []string
		for _, n := range page.Items {
			if n.Kind == kind {
				out = append(out, n.Title)
			}
		}
		return out
	}
	for who, p := range told {
		got := titles(p, "payment.recorded")
		if len(got) != 1 || !strings.Contains(got[0], nov.Number) {
			t.Errorf("%s was told %q of the payment, want one payment.recorded naming %s", who, got, nov.Number)
		}
	}
	for who, p := range untold {
		if got := titles(p, "payment.recorded"); len(got) != 0 {
			t.Errorf("%s was told of the payment: %q", who, got)
		}
	}
	// The relationship manager is reached by what concerns them (the
	// invoice), so their silence on the payment is the rule, not a fixture
	// that reaches nobody.
	if got := titles(relationship, "invoice.finalised"); !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, nov.Number) }) {
		t.Errorf("Corp's relationship manager was not told of invoice %s: %q", nov.Number, got)
	}
}
