package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
)

// TestGroupManagerInThePortal: a group's page names its manager (the
// demo's Service Desk is Omar's); the edit form keeps the manager when
// saved unchanged, refuses an unknown email keeping what was typed, and
// clears the manager when emptied (issue 20: group managers).
func TestGroupManagerInThePortal(t *testing.T) {
	p := newDemoPortal(t)
	ctx, sys := context.Background(), access.System()
	var id string
	gs, err := p.app.Identity.Groups(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Name == "Service Desk" {
			id = g.ID
		}
	}
	admin := p.as("admin@it.contoso.example")
	page := "/admin/groups/" + id
	if code, _, body := admin.do("GET", page, nil); code != 200 || !strings.Contains(body, "Managed by <strong>Omar Owner</strong>") || !strings.Contains(body, `value="omar@it.contoso.example"`) {
		t.Fatalf("the group page (%d) does not name Omar as its manager", code)
	}
	form := url.Values{"name": {"Service Desk"}, "description": {"First line: requests and incidents."}, "email": {"servicedesk@it.contoso.example"}}
	form.Set("manager_email", "nobody@example.com")
	form.Set("description", "First line, renamed")
	code, _, body := admin.do("POST", page, form)
	if code != 422 || !strings.Contains(body, "no user with this email") || !strings.Contains(body, `value="nobody@example.com"`) ||
		!strings.Contains(body, `value="First line, renamed"`) {
		t.Errorf("an unknown manager answered %d (%s), or lost what was typed", code, errorText(body))
	}
	form.Set("description", "First line: requests and incidents.")
	form.Set("manager_email", "")
	if code, _, _ := admin.do("POST", page, form); code != 303 {
		t.Fatalf("clearing the manager answered %d", code)
	}
	if g, err := p.app.Identity.Group(ctx, sys, id); err != nil || g.ManagerID != "" {
		t.Errorf("after clearing, the manager is %q (%v)", g.ManagerID, err)
	}
	if _, _, body := admin.do("GET", page, nil); !strings.Contains(body, "No manager.") {
		t.Errorf("the group page does not say it has no manager")
	}
}
