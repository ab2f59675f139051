package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/provision"
)

const browserStack = `blueprint: app-stack
name: Application stack
inputs:
  app_name: {type: string, required: true}
steps:
  - name: database
    provider: peer
    plan: peer-test-db/small
    parameters:
      db_name: ${inputs.app_name}
  - name: storage
    provider: buckets
    plan: bucket/standard
    parameters:
      bucket_name: ${inputs.app_name + "-files"}
      database: ${steps.database.id}
outputs:
  endpoint: ${steps.storage.outputs.endpoint}
`

// TestBrowserBlueprint: the supplier manager checks a blueprint in the
// portal (its problems shown by line), fixes and uploads it; the portfolio
// manager points a plan at the version on the offering's edit page; a
// consumer orders the plan and watches both steps make their components,
// at an OSB peer and at a webhook provider, with the outputs on the
// instance page.
func TestBrowserBlueprint(t *testing.T) {
	base, a := startApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a.Provision.MinPoll, a.Provision.MaxPoll = 50*time.Millisecond, 200*time.Millisecond
	go a.Jobs.Run(ctx)
	peer := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 1})
	const key = "browser-webhook-secret-0123"
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if provision.Verify(key, r.Header.Get(provision.SignatureHeader), body, time.Now()) != nil {
			w.WriteHeader(401)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		fmt.Fprintf(w, `{"state":"succeeded","outputs":{"endpoint":"https://files.test/%v"}}`, m["instance_id"])
	}))
	t.Cleanup(hook.Close)
	sofia, _ := a.Identity.UserByEmail(ctx, access.System(), "sofia@it.contoso.example")
	sp, _ := a.Identity.Principal(ctx, sofia.ID)
	pv, err := a.Provision.CreateProvider(ctx, sp, provision.ProviderInput{Code: "peer", Name: "Peer cloud", Kind: provision.KindOSB, URL: peer.URL,
		Username: peer.Username, Secret: peer.Password})
	if err == nil {
		_, err = a.Provision.Sync(ctx, sp, pv.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	if pv, err = a.Provision.CreateProvider(ctx, sp, provision.ProviderInput{Code: "buckets", Name: "Bucket automation", Kind: provision.KindWebhook, URL: hook.URL, Secret: key}); err != nil {
		t.Fatal(err)
	}
	bucket, _ := a.Catalog.Offering(ctx, access.System(), "bucket")
	if _, err := a.Provision.SetOffer(ctx, sp, pv.ID, provision.OfferInput{Plan: bucket.Plans[0].ID, Currency: "EUR", Price: "2.00"}); err != nil {
		t.Fatal(err)
	}
	petra, _ := a.Identity.UserByEmail(ctx, access.System(), "petra@it.contoso.example")
	pp, _ := a.Identity.Principal(ctx, petra.ID)
	if _, err := a.Catalog.CreateOffering(ctx, pp, catalog.OfferingInput{Code: "app-stack", ServiceID: bucket.ServiceID, Name: "Application stack",
		Audience:   catalog.Audience{OrgUnitIDs: bucket.Audience.OrgUnitIDs, Roles: bucket.Audience.Roles},
		FormSchema: json.RawMessage(`{"type":"object","required":["app_name"],"properties":{"app_name":{"type":"string","title":"Application name"}}}`),
		Plans:      []catalog.PlanInput{{Code: "standard", Name: "Standard", Currency: "EUR", Recurring: "50.00"}}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	// Emptying the cart asks first (issue 17, item 11): yes.
	chromedp.ListenTarget(b.page, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Run(b.page, page.HandleJavaScriptDialog(true))
		}
	})

	b.login("sofia@it.contoso.example", demo.Password)
	// Issue 17, item 17: a misspelt input and a step that has not run yet
	// are both refused, each naming the step and the name, the misspelt
	// input with the name meant.
	bad := strings.NewReplacer("${steps.database.id}", "${steps.storage.id}", "${inputs.app_name}", "${inputs.app_nme}").Replace(browserStack)
	b.run(
		chromedp.Navigate(b.base+"/admin/blueprints"),
		waitText("main", "Upload a blueprint"),
		chromedp.SetValue("#source", bad, chromedp.ByQuery),
		press(`button[value="check"]`),
		waitText("#problems", "Line 16: steps[1].parameters.database: ${steps.storage.id} in step storage uses step storage, which has not run yet here"),
	)
	b.screenshot("blueprint-problems")
	if got := b.text("#problems"); !strings.Contains(got, "2 problems; nothing was stored.") || !strings.Contains(got,
		"Line 10: steps[0].parameters.db_name: ${inputs.app_nme} in step database uses input app_nme, which the blueprint does not declare; did you mean app_name?") {
		t.Errorf("the problems read %q", got)
	}
	// The source comes back as typed: fixing the line is enough.
	var kept string
	b.run(chromedp.Value("#source", &kept, chromedp.ByQuery))
	if kept != bad {
		t.Fatalf("the source came back as %q", kept)
	}
	b.run(
		chromedp.SetValue("#source", browserStack, chromedp.ByQuery),
		press(`button[value="check"]`),
		waitText(".flash", "Blueprint app-stack is valid: 1 inputs, 2 steps, 1 outputs"),
		chromedp.SetValue("#note", "first cut", chromedp.ByQuery),
		press(`button[value="upload"]`),
		waitText(".flash", "Uploaded app-stack@1"),
		waitText("#steps", "peer-test-db/small"),
		waitText("#versions", "first cut"),
	)
	b.fits(t, "blueprint") // issue 17, item 6: the blueprint's page fits 1280 and 390 px
	b.logout()

	b.login("petra@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/catalog/app-stack/edit"),
		chromedp.WaitVisible(`input[name="plan.0.blueprint"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="plan.0.blueprint"]`, "app-stack@2", chromedp.ByQuery),
		press(`.offering-edit button[type="submit"]`),
		waitText(".error", "refers to something that does not exist"),
		chromedp.SetValue(`input[name="plan.0.blueprint"]`, "app-stack@1", chromedp.ByQuery),
		press(`.offering-edit button[type="submit"]`),
		waitText(".flash", "Saved Application stack."),
	)
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/cart"),
		press(`form[action$="/delete"] button`),
		waitText("main", "Your cart is empty"),
	)
	b.orderFrom("app-stack", chromedp.WaitVisible(`input[name="param.app_name"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="param.app_name"]`, "shop", chromedp.ByQuery))
	id := instanceWhere(t, a, func(i *orders.Instance) bool { return i.Blueprint == "app-stack@1" })
	b.reloadUntil("/my-services/"+id, "h1", "active")
	b.screenshot("blueprint-instance")
	comps := b.text("#components")
	if !strings.Contains(comps, "database") || !strings.Contains(comps, "storage") || strings.Count(comps, "ready") != 2 || !strings.Contains(comps, "Peer cloud") {
		t.Errorf("the steps read %q", comps)
	}
	if got := b.text("#outputs"); !strings.Contains(got, "endpoint") || !strings.Contains(got, "https://files.test/") {
		t.Errorf("the outputs read %q", got)
	}
	if got := b.text("main"); !strings.Contains(got, "blueprint app-stack@1, in steps") || strings.Contains(got, "Request plan change") {
		t.Errorf("the instance page reads %q", got)
	}
	if len(peer.Instances()) != 1 {
		t.Errorf("at the peer: %v", peer.Instances())
	}
}
