package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/osb/osbtest"
)

// TestProvisioningNoticesReachTheirPeople drives provisioning at a test OSB
// broker over HTTP and reads who is told, by the rows of
// docs/notifications.md, "Who is told":
//
//   - "instance.ready, instance.failed | the requester, and the person it
//     was requested for": an instance the broker fails to make, ordered by
//     Bo for Bea, tells both, and not their colleague, an outsider or the
//     supplier manager;
//   - "binding.created | whoever asked for the credentials": Bo's binding
//     tells Bo, and a colleague's binding of Bo's instance tells the
//     colleague, each not the other;
//   - "provider.unhealthy | supplier managers and administrators (when a
//     provider turns unhealthy, not at every failed check)": the first
//     failed check tells the supplier manager and the administrator, and
//     not the service desk agent who checked or consumers; a second failed
//     check tells nobody again; a provider that recovers and fails again
//     tells them again.
func TestProvisioningNoticesReachTheirPeople(t *testing.T) {
	e := setup(t)
	c := e.check
	retail, plant := e.orgUnit(t, "RETAIL"), e.orgUnit(t, "PLANT")
	consumer := func(unit string) map[string]any {
		return map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": unit}
	}
	_, sofia := e.user(t, "sofia@example.com", retail, map[string]any{"role": "supplier_manager", "scope_kind": "global"})
	_, desk := e.user(t, "desk@example.com", retail, map[string]any{"role": "agent", "scope_kind": "global"})
	_, bo := e.user(t, "bo@example.com", retail, consumer(retail))
	beaID, bea := e.user(t, "bea@example.com", retail, consumer(retail))
	_, cleo := e.user(t, "cleo@example.com", retail, consumer(retail))
	_, outsider := e.user(t, "otto@example.com", plant, consumer(plant))

	br := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 1})
	provider := map[string]any{"code": "peer", "name": "Peer cloud", "kind": "osb", "url": br.URL, "username": br.Username, "secret": br.Password}
	var pv struct{ ID, Health string }
	c.do("POST", "/api/v1/providers", sofia, provider, 201).decode(t, &pv)
	c.do("POST", "/api/v1/providers/"+pv.ID+"/sync", sofia, nil, 200)
	var off struct {
		Plans []struct{ ID string } `json:"plans"`
	}
	c.do("GET", "/api/v1/catalog/offerings/peer-test-db", bo, nil, 200).decode(t, &off)
	c.do("PUT", "/api/v1/providers/"+pv.ID+"/offers", sofia, map[string]any{"plan": off.Plans[0].ID, "remote_service_id": br.ServiceID,
		"remote_plan_id": br.SmallPlan, "currency": "EUR", "price": "10.00", "bindable": true}, 200)

	type order struct {
		ID, State string
		Items     []struct {
			InstanceID string `json:"instance_id"`
		}
	}
	// place orders the small plan as Bo, for whom, and runs the jobs
	// that provision it.
	place := func(forUser string) order {
		t.Helper()
		item := map[string]any{"offering": "peer-test-db", "plan": "small"}
		if forUser != "" {
			item["requested_for"] = forUser
		}
		var o order
		c.do("POST", "/api/v1/orders", bo, map[string]any{"items": []map[string]any{item}}, 201).decode(t, &o)
		c.do("POST", "/api/v1/orders/"+o.ID+"/submit", bo, nil, 200)
		runJobs(t, e)
		c.do("GET", "/api/v1/orders/"+o.ID, bo, nil, 200).decode(t, &o)
		return o
	}
	mine := place("")
	if mine.State != "completed" {
		t.Fatalf("Bo's order is %s, want completed", mine.State)
	}
	br.Set(osbtest.Behaviour{Polls: 1, FailProvision: true})
	if o := place(beaID); o.State != "failed" {
		t.Fatalf("the order the broker fails is %s, want failed", o.State)
	}
	br.Set(osbtest.Behaviour{Polls: 1})
	inst := mine.Items[0].InstanceID
	c.do("POST", "/api/v1/instances/"+inst+"/bindings", bo, map[string]any{"name": "bo-app"}, 202)
	c.do("POST", "/api/v1/instances/"+inst+"/bindings", cleo, map[string]any{"name": "cleo-app"}, 202)
	runJobs(t, e)

	// told dispatches what waits and returns the titles of the caller's
	// notifications of a kind.
	told := func(token, kind string) []string {
		t.Helper()
		for {
			n, err := e.app.Outbox.Once(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		var page struct {
			Items []struct{ Kind, Title string }
			Next  string
		}
		c.do("GET", "/api/v1/notifications?limit=100", token, nil, 200).decode(t, &page)
		if page.Next != "" {
			t.Fatal("more than 100 notifications")
		}
		var titles []string
		for _, n := range page.Items {
			if n.Kind == kind {
				titles = append(titles, n.Title)
			}
		}
		return titles
	}
	type person struct{ who, token string }
	// expect checks that each person was told of kind as often as want
	// says under their name (absent: never), each title holding mark.
	expect := func(kind, mark string, want map[string]int, people ...person) {
		t.Helper()
		for _, p := range people {
			got := told(p.token, kind)
			ok := len(got) == want[p.who]
			for _, title := range got {
				ok = ok && strings.Contains(title, mark)
			}
			if !ok {
				t.Errorf("%s: %s was told %q, want %d notice(s) naming %q", kind, p.who, got, want[p.who], mark)
			}
		}
	}
	everyone := []person{{"Bo", bo}, {"Bea", bea}, {"Cleo", cleo}, {"the outsider", outsider}, {"the supplier manager", sofia},
		{"the agent", desk}, {"the administrator", e.admin}}

	// instance.failed: the requester (Bo) and the person it was
	// requested for (Bea); never anyone else.
	expect("instance.failed", "could not be made", map[string]int{"Bo": 1, "Bea": 1}, everyone...)

	// binding.created: whoever asked for the credentials, each of their
	// own binding; not the instance's owner of a colleague's binding.
	expect("binding.created", "are ready", map[string]int{"Bo": 1, "Cleo": 1}, everyone...)
	if got := told(bo, "binding.created"); len(got) != 1 || !strings.Contains(got[0], "bo-app") {
		t.Errorf("binding.created: Bo was told %q, want of his binding bo-app", got)
	}
	if got := told(cleo, "binding.created"); len(got) != 1 || !strings.Contains(got[0], "cleo-app") {
		t.Errorf("binding.created: Cleo was told %q, want of her binding cleo-app", got)
	}

	// provider.unhealthy: the broker refuses Steward's credentials, and
	// the agent (who may read providers) checks it, twice.
	check := func(want string) {
		t.Helper()
		c.do("POST", "/api/v1/providers/"+pv.ID+"/check", desk, nil, 200).decode(t, &pv)
		if pv.Health != want {
			t.Fatalf("the provider is %s after a check, want %s", pv.Health, want)
		}
	}
	setSecret := func(secret string) {
		t.Helper()
		provider["secret"] = secret
		c.do("PUT", "/api/v1/providers/"+pv.ID, sofia, provider, 200)
	}
	check("healthy")
	setSecret("not the broker's password")
	check("unhealthy")
	once := map[string]int{"the supplier manager": 1, "the administrator": 1}
	expect("provider.unhealthy", "Peer cloud is unhealthy", once, everyone...)
	check("unhealthy")
	expect("provider.unhealthy", "Peer cloud is unhealthy", once, everyone...)
	// Recovered and failing again, it turns unhealthy again.
	setSecret(br.Password)
	check("healthy")
	setSecret("not the broker's password")
	check("unhealthy")
	expect("provider.unhealthy", "Peer cloud is unhealthy", map[string]int{"the supplier manager": 2, "the administrator": 2}, everyone...)
}
