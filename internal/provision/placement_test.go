package provision_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/expr"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// twoProviders registers alpha and beta, both offering alpha-test-db/small.
func (e *env) twoProviders() (offeringID string) {
	e.t.Helper()
	a := osbtest.NewBroker(e.t, osbtest.Behaviour{})
	b := osbtest.NewBroker(e.t, osbtest.Behaviour{})
	e.peer(a, "alpha", "0")
	sofia := e.as("sofia@it.contoso.example")
	off, _ := e.a.Catalog.Offering(e.ctx, access.System(), "alpha-test-db")
	beta, err := e.a.Provision.CreateProvider(e.ctx, sofia, provision.ProviderInput{Code: "beta", Name: "Beta", Kind: provision.KindOSB, URL: b.URL,
		Username: b.Username, Secret: b.Password, Region: "us-east"})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.a.Provision.SetOffer(e.ctx, sofia, beta.ID, provision.OfferInput{Plan: off.Plan("small").ID, RemoteServiceID: b.ServiceID,
		RemotePlanID: b.SmallPlan, Currency: "EUR", Price: "9.99"}); err != nil {
		e.t.Fatal(err)
	}
	return off.ID
}

// Issue 15, finding 9: a placement policy is held to package expr's bounds
// when it is saved: an expression whose estimated cost is over
// expr.MaxCost, or longer than expr.MaxSource, is refused on its field
// with the limit named, and nothing is stored.
func TestPlacementPolicyBounded(t *testing.T) {
	e := newEnv(t)
	sofia := e.as("sofia@it.contoso.example")
	nested := "request.parameters.all(a, request.parameters.all(b, request.parameters.all(c, request.parameters.all(d, true))))"
	for _, tc := range []struct {
		name, filter, rank, field, rule, limit string
	}{
		{"costly filter", nested, "1", "filter", "cost", fmt.Sprint(expr.MaxCost)},
		{"costly rank", "true", "request.parameters.map(a, request.parameters.map(b, request.parameters.map(c, 1))).size()", "rank", "cost", fmt.Sprint(expr.MaxCost)},
		{"long filter", strings.Repeat("true && ", expr.MaxSource/8+1) + "true", "1", "filter", "length", fmt.Sprint(expr.MaxSource)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.a.Provision.SetPolicy(e.ctx, sofia, provision.Policy{OfferingID: "*", Filter: tc.filter, Rank: tc.rank})
			fe := errs.As(err)
			if err == nil || fe.Code != errs.CodeInvalid || len(fe.Fields) != 1 || fe.Fields[0].Field != tc.field || fe.Fields[0].Rule != tc.rule ||
				!strings.Contains(fe.Fields[0].Message, tc.limit) {
				t.Fatalf("SetPolicy = %v (%+v), want invalid on %s (%s) naming %s", err, fe.Fields, tc.field, tc.rule, tc.limit)
			}
		})
	}
	pols, err := e.a.Provision.Policies(e.ctx, sofia)
	if err != nil || len(pols) != 0 {
		t.Fatalf("policies stored = %+v, %v; want none", pols, err)
	}
}

// Issue 15, finding 9: a policy that fails on a candidate fails the
// placement, with the reason recorded; it does not quietly choose among the
// other providers. The filter here is true for beta and an error (no such
// parameter) for alpha.
func TestPlacementFailsWhenThePolicyFails(t *testing.T) {
	e := newEnv(t)
	offeringID := e.twoProviders()
	sofia := e.as("sofia@it.contoso.example")
	if _, err := e.a.Provision.SetPolicy(e.ctx, sofia, provision.Policy{OfferingID: offeringID,
		Filter: `provider.code == "beta" || request.parameters.missing == 1`, Rank: "provider.price_minor"}); err != nil {
		t.Fatal(err)
	}
	o, inst := e.order(offeringID, "small")
	st, inst := e.state(o)
	var d provision.Decision
	json.Unmarshal(inst.Placement, &d)
	if st != orders.StateFailed || inst.ProviderID != "" || d.Chosen != "" || !strings.Contains(d.Reason, "failed on provider alpha") {
		t.Fatalf("order %s, instance at %q, decision %+v; want failed, nowhere, with the filter's failure on alpha", st, inst.ProviderID, d)
	}
	evs, err := e.a.Orders.Events(e.ctx, access.System(), o.ID)
	if err != nil || !strings.Contains(evs[len(evs)-1].Comment, "failed on provider alpha") {
		t.Fatalf("the order's last event does not say why: %+v, %v", evs[len(evs)-1], err)
	}
}

// Issue 15, finding 9: placement is evaluated after the transaction that
// approves the order, never while a write transaction is open: while the
// policy runs, another writer gets through (on SQLite, whose single writer
// would otherwise wait on the order's transaction for ever).
func TestPlacementRunsOutsideWriteTransactions(t *testing.T) {
	e := newEnv(t)
	offeringID := e.twoProviders()
	evaluated := 0
	e.a.Provision.SetBeforePlace(func() {
		evaluated++
		if err := e.a.DB.Tx(e.ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(e.ctx, `UPDATE providers SET name = name WHERE code = 'alpha'`)
			return err
		}); err != nil {
			t.Errorf("a write while placement runs: %v", err)
		}
	})
	dana := e.as("dana@contoso.example")
	o, err := e.a.Orders.CreateOrder(e.ctx, dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: offeringID, Plan: "small"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Orders.Submit(e.ctx, dana, o.ID); err != nil {
		t.Fatal(err)
	}
	if evaluated != 0 {
		t.Fatalf("placement ran %d times inside the submit's transaction", evaluated)
	}
	o = e.placed(o)
	if evaluated != 1 || o.Items[0].InstanceID == "" {
		t.Fatalf("after the placement job: evaluated %d times, instance %q", evaluated, o.Items[0].InstanceID)
	}
}
