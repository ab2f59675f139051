package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
)

// TestOrderBodies: issue 15, finding 15: a body of JSON null creates no
// order (nor anything else), and a field of an order's item is named with
// the item's index whether its type or its value is wrong.
func TestOrderBodies(t *testing.T) {
	e := setup(t)
	c, ctx, sys := e.check, context.Background(), access.System()
	unit, err := e.app.Identity.CreateOrgUnit(ctx, sys, identity.CreateOrgUnitInput{Kind: "business_unit", Code: "RETAIL", Name: "Retail"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.app.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "dana@example.com", Name: "Dana", OrgUnitID: unit.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: u.ID, Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: unit.ID}); err != nil {
		t.Fatal(err)
	}
	tok, err := e.app.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: u.ID, Name: "test", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dana := tok.Secret

	for _, path := range []string{"/api/v1/orders", "/api/v1/quotes"} {
		c.bad("POST", path, dana, `null`, 422)
	}
	p, err := e.app.Identity.Principal(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if os, _ := e.app.Orders.Orders(ctx, p, orders.OrderFilter{}); len(os.Items) != 0 {
		t.Fatalf("a null body made %d orders", len(os.Items))
	}
	var cart orders.Order
	c.do("POST", "/api/v1/orders", dana, `{}`, 201).decode(t, &cart) // an empty cart, as the portal makes
	for _, path := range []string{"/api/v1/orders/" + cart.ID + "/items", "/api/v1/orders/" + cart.ID + "/cancel"} {
		c.bad("POST", path, dana, `null`, 422)
	}

	for _, tt := range []struct{ body, field string }{
		{`{"items":[{"offering":"a","plan":"b"},{"offering":"a","plan":"b","quantity":"two"}]}`, "items[1].quantity"},
		{`{"items":[{"offering":"a","plan":"b","quantity":-1}]}`, "items[0].quantity"},
		{`{"items":[{"offering":"a","plan":"b","quantity":"two"}]}`, "items[0].quantity"},
		{`{"items":[{"offering":"a","plan":"b","colour":"red"}]}`, "items[0].colour"},
		{`{"items":[{"offering":"a","plan":"b"},"vm"]}`, "items[1]"},
		{`{"items":[null]}`, "items[0]"},
	} {
		for _, path := range []string{"/api/v1/orders", "/api/v1/quotes"} {
			if got := c.bad("POST", path, dana, tt.body, 422).problemFields(); fmt.Sprint(got) != "["+tt.field+"]" {
				t.Errorf("POST %s %s: field errors %v, want [%s]", path, tt.body, got, tt.field)
			}
		}
	}
}

// TestOrderLists: issue 18: the orders list pages by cursor for a
// consumer, within their org unit whatever the filters, and the contract
// check walks it (and the order's events and approvals) one item a page.
func TestOrderLists(t *testing.T) {
	e := setup(t)
	c, ctx, sys := e.check, context.Background(), access.System()
	consumer := func(code, email string) (unit *identity.OrgUnit, token string) {
		unit, err := e.app.Identity.CreateOrgUnit(ctx, sys, identity.CreateOrgUnitInput{Kind: "business_unit", Code: code, Name: code})
		if err != nil {
			t.Fatal(err)
		}
		u, err := e.app.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: email, Name: email, OrgUnitID: unit.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: u.ID, Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: unit.ID}); err != nil {
			t.Fatal(err)
		}
		tok, err := e.app.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: u.ID, Name: "test", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return unit, tok.Secret
	}
	_, dana := consumer("RETAIL", "dana@example.com")
	_, mo := consumer("MFG", "mo@example.com")
	var last orders.Order
	for range 5 {
		c.do("POST", "/api/v1/orders", dana, `{"note":"retail"}`, 201).decode(t, &last)
	}
	for range 3 {
		c.do("POST", "/api/v1/orders", mo, `{}`, 201)
	}
	count := func(path, token string) int {
		t.Helper()
		var l struct{ Items []orders.Order }
		c.do("GET", path, token, nil, 200).decode(t, &l)
		return len(l.Items)
	}
	for _, tt := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/orders", dana, 5},
		{"/api/v1/orders", mo, 3},
		{"/api/v1/orders?org_unit=MFG", dana, 0},
		{"/api/v1/orders?org_unit=RETAIL&state=draft&from=2000-01", dana, 5},
		{"/api/v1/orders?to=2000-01", dana, 0},
		{"/api/v1/orders?limit=2", dana, 2},
	} {
		if got := count(tt.path, tt.token); got != tt.want {
			t.Errorf("GET %s: %d orders, want %d", tt.path, got, tt.want)
		}
	}
	c.do("GET", "/api/v1/orders/"+last.ID+"/events", dana, nil, 200)
	c.do("GET", "/api/v1/orders/"+last.ID+"/approvals", dana, nil, 200)
	if f := c.bad("GET", "/api/v1/orders?org_unit=NOPE", dana, nil, 422).problemFields(); fmt.Sprint(f) != "[org_unit]" {
		t.Errorf("an unknown org unit: fields %v", f)
	}
	c.checkPaging()
}
