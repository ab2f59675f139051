package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sso"
	"github.com/steward-itaas/steward/internal/sso/ssotest"
)

// TestBrowserSingleSignOn signs in through a real OpenID provider in
// Chromium: the sign-in page's button leads to the provider's own login
// form, and back in Steward the person, made just in time, is signed in
// with the roles the mapping rules gave. An administrator then tries claims
// on the provider's page.
func TestBrowserSingleSignOn(t *testing.T) {
	base, a := startApp(t)
	b := newBrowser(t, base)
	ctx, sys := context.Background(), access.System()
	contosoID(t, a, base)

	b.run(
		chromedp.Navigate(b.base+"/catalog"),
		waitText("main", "Sign in with Contoso ID"),
		press(`a[href^="/login/sso/corp"]`),
		// The provider's own login page.
		chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.SendKeys("#username", "nia", chromedp.ByQuery),
		chromedp.SendKeys("#password", "verysecure", chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
		// Back in Steward, signed in, on the page asked for.
		until(`!!document.querySelector(".who") && location.pathname === "/catalog"`, "the catalog, signed in"),
	)
	if who := b.text(".who"); !strings.Contains(who, "Nia Okafor") {
		t.Errorf("signed in as %q, want Nia Okafor", who)
	}
	u, err := a.Identity.UserByEmail(ctx, sys, "nia@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	grants, err := a.Identity.Grants(ctx, sys, u.ID)
	if err != nil || len(grants) != 1 || grants[0].Role != access.RoleConsumer || grants[0].ScopeID != u.OrgUnitID || !strings.HasPrefix(grants[0].ScopeName, "Retail") {
		t.Errorf("the user made just in time: %+v, grants %v (%v)", u, grants, err)
	}
	b.screenshot("sso-signed-in")

	// The administrator's page: the provider, its callback URL, and a
	// preview of what claims would give.
	b.logout()
	b.login("admin@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/admin/identity-providers"),
		waitText("main", "Contoso ID"),
		chromedp.Navigate(b.base+"/admin/identity-providers/corp"),
		waitText("#callback", base+"/login/sso/corp/callback"),
		chromedp.SetValue("#claims", `{"email": "bo@contoso.example", "groups": ["retail-staff"]}`, chromedp.ByQuery),
		press(`form[action$="/preview"] button`),
		waitText("#preview", "consumer on Retail"),
	)
	b.fits(t, "sso-preview") // issue 17, item 6: the provider's page fits 1280 and 390 px
	if _, err := a.Identity.UserByEmail(ctx, sys, "bo@contoso.example"); err == nil {
		t.Error("the preview made a user")
	}
}

// contosoID registers the zitadel example OP as Contoso's identity
// provider "corp" (Contoso ID): Nia Okafor signs in there as nia with
// verysecure, in the group retail-staff, which the provider's rule makes a
// consumer of Retail, her home org unit.
func contosoID(t *testing.T, a *app.App, base string) *ssotest.OP {
	t.Helper()
	ctx, sys := context.Background(), access.System()
	op := ssotest.Start(t, base+"/login/sso/corp/callback")
	op.SetUser(ssotest.User{ID: "u-nia", Username: "nia", Password: "verysecure", FirstName: "Nia", LastName: "Okafor",
		Email: "nia@contoso.example", EmailVerified: true, Claims: map[string]any{"groups": []any{"retail-staff"}}})
	var retail string
	units, err := a.Identity.OrgUnits(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.Code == "RETAIL" {
			retail = u.ID
		}
	}
	secret := op.ClientSecret
	if _, err := a.SSO.CreateProvider(ctx, sys, sso.ProviderInput{Code: "corp", Name: "Contoso ID", IssuerURL: op.Issuer, ClientID: op.ClientID, ClientSecret: &secret,
		Rules: []sso.Rule{{Name: "retail staff", Claim: "groups", Match: sso.MatchEquals, Value: "retail-staff", OrgUnitID: retail,
			Grants: []identity.RuleGrant{{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: retail}}}}}); err != nil {
		t.Fatal(err)
	}
	return op
}
