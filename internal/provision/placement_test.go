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
	polsPage, err := e.a.Provision.Policies(e.ctx, sofia, sqldb.Page{})
	pols := polsPage.Items
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
	o, _ := e.order(offeringID, "small")
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

// Issue 15, finding 9 (review): placement reads the providers and runs the
// policy outside any transaction, so what it read may change before it
// writes its choice. Here, between the read and the write of the first
// placement, a second order takes beta's last place (or beta's offer is
// retired, or beta turns unhealthy). The first must not overfill beta nor
// use the retired offer: it places again and chooses alpha, and beta keeps
// at most its capacity of live instances. When alpha is down too, the
// item fails, saying no provider passed the filter.
func TestPlacementRechecksBeforeWriting(t *testing.T) {
	takeBetasLastPlace := func(e *env, offeringID string) {
		if _, inst := e.order(offeringID, "small"); inst.ProviderName != "Beta" {
			e.t.Fatalf("the second order went to %q, want Beta", inst.ProviderName)
		}
	}
	for _, tc := range []struct {
		name      string
		alphaDown bool
		meddle    func(e *env, offeringID string)
	}{
		{"a second order takes beta's last place", false, takeBetasLastPlace},
		{"a second order takes the last place anywhere", true, takeBetasLastPlace},
		{"beta's offer is retired", false, func(e *env, offeringID string) {
			sofia := e.as("sofia@it.contoso.example")
			beta, err := e.a.Provision.Provider(e.ctx, sofia, "beta")
			if err != nil {
				e.t.Fatal(err)
			}
			for _, of := range beta.Offers {
				if _, err := e.a.Provision.SetOffer(e.ctx, sofia, "beta", provision.OfferInput{Plan: of.PlanID, RemoteServiceID: of.RemoteServiceID,
					RemotePlanID: of.RemotePlanID, Currency: of.Currency, Price: "9.99", Retired: true}); err != nil {
					e.t.Fatal(err)
				}
			}
		}},
		{"beta turns unhealthy", false, func(e *env, offeringID string) {
			e.exec(`UPDATE providers SET health = 'unhealthy' WHERE code = 'beta'`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			offeringID := e.twoProviders()
			sofia := e.as("sofia@it.contoso.example")
			beta, err := e.a.Provision.Provider(e.ctx, sofia, "beta")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.a.Provision.UpdateProvider(e.ctx, sofia, "beta", provision.ProviderInput{Code: "beta", Name: "Beta", Kind: provision.KindOSB,
				URL: beta.URL, Region: beta.Region, Capacity: 1}); err != nil {
				t.Fatal(err)
			}
			if tc.alphaDown {
				e.exec(`UPDATE providers SET health = 'unhealthy' WHERE code = 'alpha'`)
			}
			meddled := false
			e.a.Provision.SetBeforePlace(func() {
				if !meddled {
					meddled = true
					tc.meddle(e, offeringID)
				}
			})
			o, inst := e.order(offeringID, "small")
			var d provision.Decision
			json.Unmarshal(inst.Placement, &d)
			if !tc.alphaDown && (inst.ProviderName != "Peer alpha" || d.Chosen != "alpha") {
				t.Fatalf("the first order went to %q (decision %+v), want Peer alpha", inst.ProviderName, d)
			}
			if tc.alphaDown {
				st, inst := e.state(o)
				evs, err := e.a.Orders.Events(e.ctx, access.System(), o.ID)
				if err != nil {
					t.Fatal(err)
				}
				if st != orders.StateFailed || inst.ProviderID != "" || !strings.Contains(evs[len(evs)-1].Comment, "no provider passed the filter") ||
					!strings.Contains(d.Candidates[0].Reason+d.Candidates[1].Reason, "1 of 1 used") {
					t.Fatalf("order %s, instance at %q, last event %q, decision %+v; want failed, nowhere, as beta is full and alpha down",
						st, inst.ProviderID, evs[len(evs)-1].Comment, d)
				}
			}
			var live int
			if err := e.a.DB.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM instances n JOIN providers v ON v.id = n.provider_id
				WHERE v.code = 'beta' AND n.state IN ('provisioning', 'active')`).Scan(&live); err != nil || live > 1 {
				t.Fatalf("beta has %d live instances (%v), over its capacity of 1", live, err)
			}
		})
	}
}

// exec runs one statement in its own transaction.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if err := e.a.DB.Tx(e.ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(e.ctx, query, args...)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
}

// Issue 15, finding 9 (review): a blueprint's step chosen by placement is
// checked again the same way before it starts: when the only provider's
// offer is retired between the read and the write, the step does not start
// at the provider; it places again, finds none and fails, saying why.
func TestBlueprintStepRechecksBeforeWriting(t *testing.T) {
	e, br, _ := stackEnv(t)
	sofia := e.as("sofia@it.contoso.example")
	src := strings.Replace(strings.Replace(appStack, "    provider: peer\n", "", 1), "  - name: storage", "  - name: unused", 1)
	src = src[:strings.Index(src, "  - name: unused")] + "outputs:\n  db: ${steps.database.id}\n"
	if _, _, err := e.a.Provision.UploadBlueprint(e.ctx, sofia, provision.BlueprintInput{Source: src}); err != nil {
		t.Fatal(err)
	}
	petra := e.as("petra@it.contoso.example")
	off, _ := e.a.Catalog.Offering(e.ctx, access.System(), "app-stack")
	if _, err := e.a.Catalog.UpdateOffering(e.ctx, petra, off.ID, stackOffering(off.ServiceID, "app-stack@2")); err != nil {
		t.Fatal(err)
	}
	meddled := false
	e.a.Provision.SetBeforePlace(func() {
		if !meddled {
			meddled = true
			e.exec(`UPDATE provider_offers SET retired = TRUE WHERE provider_id = (SELECT id FROM providers WHERE code = 'peer')`)
		}
	})
	o, _ := e.order("app-stack", "standard", map[string]any{"app_name": "shop"})
	e.drain()
	st, inst := e.state(o)
	cs := e.components(inst.ID)
	if st != orders.StateFailed || len(cs) != 1 || cs[0].State != provision.ComponentFailed || !strings.Contains(cs[0].Note, "no provider") ||
		len(br.Instances()) != 0 {
		t.Fatalf("order %s, components %s (%+v), at the peer %v; want failed, the step failed with no provider, nothing at the peer",
			st, states(cs), cs, br.Instances())
	}
}
