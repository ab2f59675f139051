package portfolio_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/portfolio"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

func newApp(t testing.TB) (*app.App, portfolio.Services) {
	a, err := app.New(context.Background(), app.Config{Database: sqldbtest.Config(t), Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, portfolio.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders}
}

// TestRoundTrip: export the demo, import it into a Steward with the same
// organisation and no portfolio, export again: the files are identical,
// and importing again changes nothing.
func TestRoundTrip(t *testing.T) {
	ctx, sys := context.Background(), access.System()
	a, sa := newApp(t)
	if _, err := demo.Seed(ctx, demo.Services{Identity: sa.Identity, Catalog: sa.Catalog, Orders: sa.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	first, err := portfolio.Export(ctx, sa, sys)
	if err != nil {
		t.Fatal(err)
	}
	_ = a
	b, sb := newApp(t)
	if err := demo.SeedOrganisation(ctx, b.Identity); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedMeters(ctx, b.Metering); err != nil {
		t.Fatal(err)
	}
	changes, err := portfolio.Import(ctx, sb, sys, "portfolio.yaml", first, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) < 40 {
		t.Errorf("a dry run into an empty portfolio shows %d changes", len(changes))
	}
	if svcs, _ := b.Catalog.Services(ctx, sys, catalog.ServiceFilter{}); len(svcs) != 0 {
		t.Fatalf("a dry run wrote %d services", len(svcs))
	}
	if _, err := portfolio.Import(ctx, sb, sys, "portfolio.yaml", first, false); err != nil {
		t.Fatal(err)
	}
	again, err := portfolio.Import(ctx, sb, sys, "portfolio.yaml", first, false)
	if err != nil || len(again) != 0 {
		t.Errorf("a second import changed %v (%v)", again, err)
	}
	second, err := portfolio.Export(ctx, sb, sys)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(first), string(second)); diff != "" {
		t.Errorf("export → import → export differs (-first +second):\n%s", diff)
	}
	// Services keep their FOCUS ServiceCategory through the round trip
	// ("Other", the default, is left out of the file).
	if !strings.Contains(string(first), "focus_category: Databases") || strings.Contains(string(first), "focus_category: Other") {
		t.Errorf("the export's focus categories:\n%s", first)
	}
	if db, err := b.Catalog.Service(ctx, sys, "database"); err != nil || db.FocusCategory != "Databases" {
		t.Errorf("the imported database service is in %v (%v)", db, err)
	}
	// A change shows in a dry run as exactly that change.
	edited := strings.Replace(string(first), "name: Managed PostgreSQL", "name: Managed PostgreSQL 16", 1)
	changes, err = portfolio.Import(ctx, sb, sys, "portfolio.yaml", []byte(edited), true)
	if err != nil || len(changes) != 1 || changes[0].String() != "~ service database" {
		t.Errorf("dry run of one edit = %v (%v)", changes, err)
	}
}

func TestErrorsByLine(t *testing.T) {
	ctx, sys := context.Background(), access.System()
	b, sb := newApp(t)
	if err := demo.SeedOrganisation(ctx, b.Identity); err != nil {
		t.Fatal(err)
	}
	file := `services:
  - code: email
    name: Email
    kind: business
    lifecycle: live
    owner: nobody@example.com
  - code: Bad Code
    name: X
    kind: magic
    lifecycle: live
offerings:
  - code: mailbox
    service: mail
    name: Mailbox
    view: end_user
    plans: [{code: std, name: Std, currency: EUR, recurring: "1.005", one_time: "0"}]
`
	_, err := portfolio.Import(ctx, sb, sys, "bad.yaml", []byte(file), false)
	ps, ok := err.(portfolio.Problems)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	got := ps.Error()
	// Issue 17, item 14: each problem on its field's line.
	for _, want := range []string{`bad.yaml:6: service email: owner "nobody@example.com" is not a user`, "bad.yaml:7: service Bad Code: code:",
		"bad.yaml:9: service Bad Code: kind:", `bad.yaml:13: offering mailbox: service "mail" is not a service`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if svcs, _ := b.Catalog.Services(ctx, sys, catalog.ServiceFilter{}); len(svcs) != 0 {
		t.Errorf("a bad file wrote %d services", len(svcs))
	}
	// A FOCUS ServiceCategory FOCUS does not list is refused on its line.
	_, err = portfolio.Import(ctx, sb, sys, "focus.yaml", []byte("services:\n  - code: x\n    name: X\n    kind: business\n    lifecycle: live\n    focus_category: Cloud\n"), false)
	if err == nil || !strings.Contains(err.Error(), "focus.yaml:6: service x: focus_category:") {
		t.Errorf("a bad focus category: %v", err)
	}
	_, err = portfolio.Import(ctx, sb, sys, "typo.yaml", []byte("services:\n  - code: x\n    nmae: X\n"), false)
	if err == nil || !strings.Contains(err.Error(), "typo.yaml:3:") {
		t.Errorf("an unknown field: %v", err)
	}
}
