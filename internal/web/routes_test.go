package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
)

// TestRoutesOnTheServicePage: the service's page shows where each org
// unit's tickets go; its managers add a route (an error keeps their
// choice) and remove it; a consumer sees none of it and may not post it
// (issue 20: per org unit support).
func TestRoutesOnTheServicePage(t *testing.T) {
	p := newDemoPortal(t)
	ctx, sys := context.Background(), access.System()
	g, err := p.app.Identity.CreateGroup(ctx, sys, identity.GroupInput{Name: "Plant IT"})
	if err != nil {
		t.Fatal(err)
	}
	var mfg string
	if err := p.app.DB.Read().QueryRowContext(ctx, `SELECT id FROM org_units WHERE code = 'MFG'`).Scan(&mfg); err != nil {
		t.Fatal(err)
	}
	admin, dana := p.as("admin@it.contoso.example"), p.as("dana@contoso.example")
	page := "/portfolio/email"
	if code, _, body := admin.do("GET", page, nil); code != 200 || !strings.Contains(body, "Support per org unit") || !strings.Contains(body, "None: every org unit") {
		t.Fatalf("the service page (%d) shows no routes", code)
	}
	if code, _, _ := dana.do("POST", page+"/routes", url.Values{"org_unit": {mfg}, "group": {g.ID}}); code != 403 && code != 404 {
		t.Errorf("a consumer's route answered %d, want it refused", code)
	}
	code, _, body := admin.do("POST", page+"/routes", url.Values{"org_unit": {mfg}, "group": {"nobody"}})
	if code != 422 || !strings.Contains(body, `no assignment group`) || !strings.Contains(body, `value="`+mfg+`" selected`) {
		t.Errorf("a route to no group answered %d (%s), or lost the org unit chosen", code, errorText(body))
	}
	if code, _, _ := admin.do("POST", page+"/routes", url.Values{"org_unit": {mfg}, "group": {g.ID}}); code != 303 {
		t.Fatalf("the route answered %d", code)
	}
	_, _, body = admin.do("GET", page, nil)
	if !strings.Contains(body, "<strong>Manufacturing</strong> → Plant IT") {
		t.Errorf("the service page does not show the route")
	}
	if code, _, _ := admin.do("POST", page+"/routes/"+mfg+"/delete", url.Values{}); code != 303 {
		t.Errorf("removing the route answered %d", code)
	}
	if _, _, body = admin.do("GET", page, nil); strings.Contains(body, "→ Plant IT") {
		t.Errorf("the route stays after its removal")
	}
}
