package web_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/portfolio"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sso"
)

// TestBrowserEditFormsRoundTrip: issue 17, item 1: "every edit form must
// round-trip". For every edit form of the portal and every demo entity it
// edits (services with their calendars and roadmaps, offerings with plans,
// prices, add-ons, order forms, audiences and bundles, agreements with
// service hours, targets and rebates, org units, users, groups), opening
// the form in Chromium and saving it unchanged leaves the entity exactly
// as it was: the export (or the entity's own input) before and after are
// equal.
func TestBrowserEditFormsRoundTrip(t *testing.T) {
	b, p := browserOnDemo(t)
	ctx := context.Background()
	sys := access.System()
	a := p.app
	b.login("admin@it.contoso.example", demo.Password)

	// save opens a form, saves it as it is and says what the page answered.
	save := func(t *testing.T, path, button string) {
		t.Helper()
		b.t = t
		b.run(chromedp.Navigate(b.base+path), loaded(button))
		flash, refused := b.post(button)
		if flash == "" {
			t.Fatalf("saving %s unchanged: refused %q, flash %q", path, refused, flash)
		}
	}

	exportAll := func(t *testing.T) string {
		t.Helper()
		out, err := portfolio.Export(ctx, portfolio.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders}, sys)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	services, err := a.Catalog.Services(ctx, sys, catalog.ServiceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		t.Run("service "+s.Code, func(t *testing.T) {
			before := exportAll(t)
			save(t, "/portfolio/"+s.Code+"/edit", `form.service-form button[type="submit"]`)
			if diff := cmp.Diff(before, exportAll(t)); diff != "" {
				t.Errorf("the portfolio after saving %s unchanged (-before +after):\n%s", s.Code, diff)
			}
		})
	}
	offerings, err := a.Catalog.Offerings(ctx, sys, catalog.OfferingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offerings {
		t.Run("offering "+o.Code, func(t *testing.T) {
			before := exportAll(t)
			save(t, "/catalog/"+o.Code+"/edit", `form.offering-edit button[type="submit"]`)
			if diff := cmp.Diff(before, exportAll(t)); diff != "" {
				t.Errorf("the catalog after saving %s unchanged (-before +after):\n%s", o.Code, diff)
			}
		})
	}

	agreements, err := a.SLA.Agreements(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(agreements) == 0 {
		t.Fatal("the demo has no agreements")
	}
	for _, ag := range agreements {
		t.Run("agreement "+ag.Code, func(t *testing.T) {
			input := func() string {
				got, err := a.SLA.Agreement(ctx, sys, ag.Code)
				if err != nil {
					t.Fatal(err)
				}
				return jsonText(t, got.Input())
			}
			before := input()
			save(t, "/sla/agreements/"+ag.Code+"/edit", `form.agreement-form button[type="submit"]`)
			if diff := cmp.Diff(before, input()); diff != "" {
				t.Errorf("the agreement after saving it unchanged (-before +after):\n%s", diff)
			}
		})
	}

	units, err := a.Identity.OrgUnits(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		t.Run("org unit "+u.Code, func(t *testing.T) {
			before := jsonText(t, u)
			save(t, "/admin/org-units/"+u.ID, `form[action="/admin/org-units/`+u.ID+`"] button[type="submit"]`)
			after, err := a.Identity.OrgUnit(ctx, sys, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, jsonText(t, after)); diff != "" {
				t.Errorf("the org unit after saving it unchanged (-before +after):\n%s", diff)
			}
		})
	}
	users, err := a.Identity.Users(ctx, sys, identity.UserFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Items {
		t.Run("user "+u.Email, func(t *testing.T) {
			before := jsonText(t, u)
			save(t, "/admin/users/"+u.ID, `form[action="/admin/users/`+u.ID+`"] input[value="details"] ~ button`)
			after, err := a.Identity.User(ctx, sys, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, jsonText(t, after)); diff != "" {
				t.Errorf("the user after saving them unchanged (-before +after):\n%s", diff)
			}
		})
	}
	groups, err := a.Identity.Groups(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		t.Run("group "+g.Name, func(t *testing.T) {
			before := jsonText(t, g)
			save(t, "/admin/groups/"+g.ID, `form[action="/admin/groups/`+g.ID+`"] button[type="submit"]`)
			after, err := a.Identity.Group(ctx, sys, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, jsonText(t, after)); diff != "" {
				t.Errorf("the group after saving it unchanged (-before +after):\n%s", diff)
			}
		})
	}
}

// jsonText is an entity as indented JSON without the times a save moves
// (updated_at) or a sign-in does (last_login_at).
func jsonText(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "updated_at")
			delete(x, "last_login_at")
			for _, e := range x {
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(m)
	out, _ := json.MarshalIndent(m, "", "  ")
	return string(out)
}

// TestBrowserLaterFormsRoundTrip: issue 17, item 1, for the edit forms
// that came after it: an identity provider with every field set (a client
// secret, extra scopes, disabled, rules of each kind with an org unit and
// grants), a knowledge article, and a person's own account (name,
// notification preferences: a digest with some kinds muted). Each is saved
// unchanged in Chromium and is then exactly as it was.
func TestBrowserLaterFormsRoundTrip(t *testing.T) {
	b, p := browserOnDemo(t)
	ctx := context.Background()
	sys := access.System()
	a := p.app
	save := func(t *testing.T, path, button string) {
		t.Helper()
		b.t = t
		b.run(chromedp.Navigate(b.base+path), loaded(button))
		if flash, refused := b.post(button); flash == "" {
			t.Fatalf("saving %s unchanged: refused %q, flash %q", path, refused, flash)
		}
	}
	unit := func(code string) string {
		t.Helper()
		units, err := a.Identity.OrgUnits(ctx, sys)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range units {
			if u.Code == code {
				return u.ID
			}
		}
		t.Fatalf("no org unit %s", code)
		return ""
	}
	retail, mfg := unit("RETAIL"), unit("MFG")
	b.login("admin@it.contoso.example", demo.Password)

	t.Run("identity provider", func(t *testing.T) {
		secret, off := "s3cret-of-the-client", false
		if _, err := a.SSO.CreateProvider(ctx, sys, sso.ProviderInput{Code: "corp", Name: "Contoso ID", IssuerURL: "https://login.contoso.example/realms/staff",
			ClientID: "steward-portal", ClientSecret: &secret, Scopes: []string{"openid", "email", "profile", "groups", "offline_access"}, Enabled: &off,
			Rules: []sso.Rule{
				{Name: "retail staff", Claim: "groups", Match: sso.MatchEquals, Value: "retail-staff", OrgUnitID: retail,
					Grants: []identity.RuleGrant{{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: retail}, {Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: retail}}},
				{Name: "plant", Claim: "address.locality", Match: sso.MatchContains, Value: "Plant", OrgUnitID: mfg},
				{Claim: "email", Match: sso.MatchEmailDomain, Value: "it.contoso.example", Grants: []identity.RuleGrant{{Role: access.RoleAuditor, ScopeKind: access.ScopeGlobal}}},
			}}); err != nil {
			t.Fatal(err)
		}
		read := func() string {
			got, err := a.SSO.Provider(ctx, sys, "corp")
			if err != nil {
				t.Fatal(err)
			}
			return jsonText(t, got)
		}
		before := read()
		save(t, "/admin/identity-providers/corp", `form[action="/admin/identity-providers/corp"] button[type="submit"]`)
		if diff := cmp.Diff(before, read()); diff != "" {
			t.Errorf("the identity provider after saving it unchanged (-before +after):\n%s", diff)
		}
	})

	t.Run("knowledge article", func(t *testing.T) {
		alex := principal(t, p, "alex@it.contoso.example")
		art, err := a.Knowledge.Create(ctx, alex, knowledge.Input{Service: "desktop", Title: "Printing from a laptop: <the> \"3rd floor\" queue",
			Body: "# Steps\n\n1. Open *Printers*.\n2. Choose `3F-East` &amp; print.\n\n> Indented\n>   quote\n\n    code block\n\nTrailing spaces  \nline two\n"})
		if err != nil {
			t.Fatal(err)
		}
		read := func() string {
			got, err := a.Knowledge.Article(ctx, sys, art.Reference)
			if err != nil {
				t.Fatal(err)
			}
			return jsonText(t, got)
		}
		before := read()
		b.login("alex@it.contoso.example", demo.Password)
		save(t, "/knowledge/"+art.Reference, `form[action="/knowledge/`+art.Reference+`"] button[type="submit"]`)
		if diff := cmp.Diff(before, read()); diff != "" {
			t.Errorf("the article after saving it unchanged (-before +after):\n%s", diff)
		}
	})

	t.Run("account", func(t *testing.T) {
		dana := principal(t, p, "dana@contoso.example")
		if _, err := a.Notify.SetPreferences(ctx, dana, notify.Preferences{Email: notify.EmailDigest, Muted: []string{"order.completed", "invoice.finalised"}}); err != nil {
			t.Fatal(err)
		}
		read := func() string {
			u, err := a.Identity.User(ctx, sys, dana.UserID)
			if err != nil {
				t.Fatal(err)
			}
			prefs, err := a.Notify.Preferences(ctx, dana)
			if err != nil {
				t.Fatal(err)
			}
			return jsonText(t, u) + jsonText(t, prefs)
		}
		before := read()
		b.login("dana@contoso.example", demo.Password)
		save(t, "/account", `form[action="/account"] input[value="name"] ~ button`)
		save(t, "/account", `form[action="/account/notifications"] button[type="submit"]`)
		if diff := cmp.Diff(before, read()); diff != "" {
			t.Errorf("the account after saving it unchanged (-before +after):\n%s", diff)
		}
	})
}
