package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
)

// Issue 19, grants to groups, in the portal: an administrator grants a
// role to a group on its page, its member's page shows the role held
// through the group, the member acts with it at once, and removing it
// from the group's page takes it away.
func TestGroupGrantsInThePortal(t *testing.T) {
	p := newDemoPortal(t)
	ctx := context.Background()
	admin := p.as("admin@it.contoso.example")
	code, _, _ := admin.do("POST", "/admin/groups", url.Values{"name": {"Retail finance"}, "description": {"Shop controllers"}})
	if code != http.StatusSeeOther {
		t.Fatalf("create group: %d", code)
	}
	gs, err := p.app.Identity.Groups(ctx, access.System())
	if err != nil {
		t.Fatal(err)
	}
	var groupID string
	for _, g := range gs {
		if g.Name == "Retail finance" {
			groupID = g.ID
		}
	}
	dana, err := p.app.Identity.UserByEmail(ctx, access.System(), "dana@contoso.example")
	if err != nil || groupID == "" {
		t.Fatalf("group %q, dana %v", groupID, err)
	}
	member := p.as("dana@contoso.example")
	if code, _, _ := member.do("GET", "/billing", nil); code == http.StatusOK {
		t.Fatal("dana reads billing before joining the group; the test shows nothing")
	}

	if code, _, _ := admin.do("POST", "/admin/groups/"+groupID+"/grants", url.Values{"role": {"financial_manager"}, "scope": {"global"}}); code != http.StatusSeeOther {
		t.Fatalf("grant the role to the group: %d", code)
	}
	if code, _, _ := admin.do("POST", "/admin/groups/"+groupID+"/members", url.Values{"email": {"dana@contoso.example"}}); code != http.StatusSeeOther {
		t.Fatalf("add dana: %d", code)
	}
	_, _, page := admin.do("GET", "/admin/groups/"+groupID, nil)
	if !strings.Contains(page, "<td>financial manager</td><td>the whole provider</td>") || !strings.Contains(page, "Dana") {
		t.Errorf("the group's page does not list its role and member:\n%s", page)
	}
	_, _, page = admin.do("GET", "/admin/users/"+dana.ID, nil)
	if !strings.Contains(page, `through <a href="/admin/groups/`+groupID+`">Retail finance</a>`) {
		t.Errorf("dana's page does not show the role held through the group")
	}
	if code, _, _ := member.do("GET", "/billing", nil); code != http.StatusOK {
		t.Errorf("dana, a member of a group holding financial manager, gets %d from /billing", code)
	}

	grants, err := p.app.Identity.GroupGrants(ctx, access.System(), groupID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("group grants = %v, %v", grants, err)
	}
	code, _, _ = admin.do("POST", "/admin/grants/"+grants[0].ID+"/delete", url.Values{"group_id": {groupID}})
	if code != http.StatusSeeOther {
		t.Fatalf("remove the group's role: %d", code)
	}
	if code, _, _ := member.do("GET", "/billing", nil); code == http.StatusOK {
		t.Error("dana still reads billing after the group's role was removed")
	}
}
