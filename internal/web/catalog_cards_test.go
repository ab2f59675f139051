package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestCatalogTellsTwinsApart: issue 17, item 11: two offerings of the same
// name (a peer's catalog imported next to ours: two "Virtual machine"s) get
// cards that say what tells them apart, their plans and code; an offering
// whose name is its own keeps a plain card.
func TestCatalogTellsTwinsApart(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	vm, err := a.Catalog.Offering(ctx, access.System(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Catalog.CreateOffering(ctx, access.System(), catalog.OfferingInput{Code: "vm-peer", ServiceID: vm.ServiceID, Name: vm.Name,
		Summary: vm.Summary, Audience: vm.Audience,
		Plans: []catalog.PlanInput{{Code: "compact", Name: "Compact", Currency: "EUR", Recurring: "40.00"}, {Code: "burst", Name: "Burst", Currency: "EUR", Recurring: "90.00"}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	s, err := a.Identity.Login(ctx, "dana@contoso.example", demo.Password, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/catalog", nil)
	req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: s.Secret})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	cards := map[string]string{} // by href
	for _, m := range regexp.MustCompile(`(?s)<a class="card link-card offering" href="/catalog/([^"]+)">(.*?)</a>`).FindAllStringSubmatch(string(b), -1) {
		cards[m[1]] = m[2]
	}
	for code, want := range map[string][]string{
		"vm":      {"Virtual machine", "code vm", vm.Plans[0].Name},
		"vm-peer": {"Virtual machine", "code vm-peer", "Compact, Burst"},
	} {
		card, ok := cards[code]
		if !ok {
			t.Fatalf("no card for %s among %d cards", code, len(cards))
		}
		for _, w := range want {
			if !strings.Contains(card, w) {
				t.Errorf("the card of %s does not say %q:\n%s", code, w, card)
			}
		}
	}
	if cards["vm"] == cards["vm-peer"] {
		t.Errorf("the two Virtual machine cards are identical:\n%s", cards["vm"])
	}
	if card := cards["laptop"]; card == "" || strings.Contains(card, "code laptop") {
		t.Errorf("the Standard laptop card, whose name is its own, should not show its code:\n%s", card)
	}
}
