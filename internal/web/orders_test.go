package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
)

// TestOrderPageCancelFollowsTheService: issue 15, finding 3 (review): the
// order page offers "Cancel order" only to whom orders.Service.Cancel
// allows. Dana, who no longer orders anywhere but still reads Retail's
// orders as a change manager, is not offered it for her own order.
func TestOrderPageCancelFollowsTheService(t *testing.T) {
	ctx := context.Background()
	base, a := startApp(t)
	sys := access.System()
	dana, err := a.Identity.UserByEmail(ctx, sys, "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := a.Orders.Orders(ctx, sys, orders.OrderFilter{State: orders.StateAwaitingApproval})
	if err != nil {
		t.Fatal(err)
	}
	var o *orders.Order
	for _, w := range waiting.Items {
		if w.RequesterID == dana.ID {
			o = w
		}
	}
	if o == nil {
		t.Fatal("the demo has no order of Dana's awaiting approval")
	}
	orderPage := func() string {
		t.Helper()
		s, err := a.Identity.Login(ctx, dana.Email, demo.Password, "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", base+"/orders/"+o.ID, nil)
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: s.Secret})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("Dana's order page = %d\n%s", res.StatusCode, errorText(string(b)))
		}
		return string(b)
	}
	if !strings.Contains(orderPage(), "Cancel order") {
		t.Fatal("Dana, a consumer, is not offered to cancel her own order")
	}

	gs, err := a.Identity.Grants(ctx, sys, dana.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if err := a.Identity.DeleteGrant(ctx, sys, g.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: dana.ID, Role: access.RoleChangeManager, ScopeKind: access.ScopeOrgUnit, ScopeID: o.OrgUnitID}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(orderPage(), "Cancel order") {
		t.Error("Dana, who orders nowhere now, is offered to cancel her order, which the service refuses")
	}
}

// TestOrdersPageOlder: issue 18: the orders page shows 50 orders, newest
// first, and links to the older ones; the last page has no link, and no
// order shows twice.
func TestOrdersPageOlder(t *testing.T) {
	ctx := context.Background()
	base, a := startApp(t)
	sys := access.System()
	dana, err := a.Identity.UserByEmail(ctx, sys, "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Identity.Principal(ctx, dana.ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if _, err := a.Orders.CreateOrder(ctx, p, orders.OrderInput{Note: "paging"}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := a.Identity.Login(ctx, dana.Email, demo.Password, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: s.Secret})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d\n%s", path, res.StatusCode, errorText(string(b)))
		}
		return string(b)
	}
	seen := map[string]bool{}
	path, pages := "/orders?mine=true", 0
	for path != "" {
		body := get(path)
		pages++
		for _, part := range strings.Split(body, `<a href="/orders/`)[1:] {
			id := part[:strings.Index(part, `"`)]
			if seen[id] {
				t.Errorf("order %s shown twice", id)
			}
			seen[id] = true
		}
		path = ""
		if i := strings.Index(body, `<p class="more"><a href="`); i >= 0 {
			rest := body[i+len(`<p class="more"><a href="`):]
			path = strings.ReplaceAll(rest[:strings.Index(rest, `"`)], "&amp;", "&")
		}
		if pages > 5 {
			t.Fatal("the orders pages do not end")
		}
	}
	if pages != 2 || len(seen) < 60 {
		t.Errorf("%d pages showed %d orders, want 2 pages and Dana's 60 and more", pages, len(seen))
	}
}
