package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
)

// TestCatalogTellsTwinsApart: issue 17, item 11: two offerings of the same
// name (a peer's catalog imported next to ours: two "Virtual machine"s) get
// cards that say what tells them apart, their plans and code; an offering
// whose name is its own keeps a plain card.
func TestCatalogTellsTwinsApart(t *testing.T) {
	ctx := context.Background()
	p := newDemoPortal(t)
	a := p.app
	vm, err := a.Catalog.Offering(ctx, access.System(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Catalog.CreateOffering(ctx, access.System(), catalog.OfferingInput{Code: "vm-peer", ServiceID: vm.ServiceID, Name: vm.Name,
		Summary: vm.Summary, Audience: vm.Audience,
		Plans: []catalog.PlanInput{{Code: "compact", Name: "Compact", Currency: "EUR", Recurring: "40.00"}, {Code: "burst", Name: "Burst", Currency: "EUR", Recurring: "90.00"}}}); err != nil {
		t.Fatal(err)
	}
	_, _, b := p.as("dana@contoso.example").do("GET", "/catalog", nil)
	cards := map[string]string{} // by href
	for _, m := range regexp.MustCompile(`(?s)<a class="card link-card offering" href="/catalog/([^"]+)">(.*?)</a>`).FindAllStringSubmatch(b, -1) {
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
