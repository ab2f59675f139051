package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
)

// TestFreshInstallIsNoDeadEnd: issue 17, item 10: on a fresh install the
// first administrator (as `steward admin create-admin` makes them) reaches
// every page the portal links to (no 403 on service levels, costs,
// billing, meters, or proposing services), and the home page's checklist
// says what to do first, with links, until a service is live; on the demo,
// where services are live, the checklist is gone.
func TestFreshInstallIsNoDeadEnd(t *testing.T) {
	ctx := context.Background()
	p := newEmptyPortal(t)
	a := p.app
	if _, err := a.Identity.CreateAdmin(ctx, access.System(), identity.CreateUserInput{Email: "first@example.com", Name: "First Admin", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	s, err := a.Identity.Login(ctx, "first@example.com", "correct horse battery", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	admin := &visitor{p: p, cookie: s.Secret, csrf: s.CSRFToken}

	_, _, home := admin.do("GET", "/", nil)
	for _, want := range []string{"Getting started", "Propose your first service", `href="/portfolio"`, `href="/admin/org-units"`, `href="/billing"`, `href="/sla/agreements/new"`} {
		if !strings.Contains(home, want) {
			t.Errorf("the fresh home page lacks %q", want)
		}
	}
	reached := map[string]bool{}
	for _, pg := range admin.crawl(400) {
		reached[strings.SplitN(pg.url, "?", 2)[0]] = true
		if pg.status != 200 {
			t.Errorf("%s answers %d to the first admin (linked from %s)", pg.url, pg.status, pg.from)
		}
	}
	for _, path := range []string{"/sla", "/sla/agreements/new", "/costs", "/billing", "/admin/meters", "/portfolio", "/catalog", "/admin/providers", "/admin/jobs"} {
		if !reached[path] {
			t.Errorf("the first admin cannot reach %s from the home page", path)
		}
	}
	if _, _, body := admin.do("GET", "/portfolio", nil); !strings.Contains(body, "Propose a service") {
		t.Error("the first admin cannot propose a service")
	}

	// The demo's services are live: no checklist there.
	demo := newDemoPortal(t)
	if _, _, body := demo.as("admin@it.contoso.example").do("GET", "/", nil); strings.Contains(body, "Getting started") {
		t.Error("the checklist stays after services are live")
	}
}
