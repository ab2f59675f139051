package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
)

// TestSuggestIsAuthorisedLikeTheCatalog: the suggestions route behind the
// catalog's search box answers only someone signed in, and only with
// offerings that person's catalog shows (the CRM seat is for Retail).
func TestSuggestIsAuthorisedLikeTheCatalog(t *testing.T) {
	p := newDemoPortal(t)
	ctx, sys := context.Background(), access.System()

	if status, _, body := p.as("").do("GET", "/suggest?q=crm", nil); status == http.StatusOK || strings.Contains(body, `/catalog/crm-seat`) {
		t.Errorf("anonymous /suggest = %d %q, want a way to sign in and no offering", status, body)
	}
	if status, _, body := p.as("dana@contoso.example").do("GET", "/suggest?q=crm+saet", nil); status != http.StatusOK || !strings.Contains(body, `/catalog/crm-seat`) {
		t.Errorf("Retail's consumer /suggest?q=crm saet = %d %q, want the CRM seat", status, body)
	}

	units, err := p.app.Identity.OrgUnits(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	var mfg string
	for _, u := range units {
		if u.Code == "MFG" {
			mfg = u.ID
		}
	}
	u, err := p.app.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "milo@contoso.example", Name: "Milo Manufacturing", OrgUnitID: mfg, Password: demo.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.app.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: u.ID, Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: mfg}); err != nil {
		t.Fatal(err)
	}
	if status, _, body := p.as("milo@contoso.example").do("GET", "/suggest?q=crm", nil); status != http.StatusOK || strings.Contains(body, `/catalog/crm-seat`) {
		t.Errorf("Manufacturing's consumer /suggest?q=crm = %d %q, want no CRM seat", status, body)
	}
	if status, _, body := p.as("milo@contoso.example").do("GET", "/suggest?q=starter", nil); status != http.StatusOK || !strings.Contains(body, `href="/catalog/new-starter"`) {
		t.Errorf("Manufacturing's consumer /suggest?q=starter = %d %q, want the new starter kit, open to all", status, body)
	}
}
