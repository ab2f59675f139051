package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// reloadUntil reloads path until sel's text contains want (jobs work between).
func (b *browser) reloadUntil(path, sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // generous: jobs run slowly on a loaded machine
	for {
		var got string
		b.run(chromedp.Navigate(b.base+path), chromedp.WaitReady("body", chromedp.ByQuery), chromedp.Text(sel, &got, chromedp.ByQuery))
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %q never showed %q; last: %s", path, sel, want, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// orderFrom orders from an offering's catalog page: fill sets its form,
// then the item goes to the cart and the cart is submitted.
func (b *browser) orderFrom(offering string, fill ...chromedp.Action) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base + "/catalog/" + offering))
	b.run(fill...)
	b.run(
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added"),
		press(`form[action="/cart/submit"] button`),
		waitText("main", "fulfilling"),
	)
}

// instanceWhere is the ID of the (last) instance that matches.
func instanceWhere(t *testing.T, a *app.App, match func(*orders.Instance) bool) string {
	t.Helper()
	// Placement runs in a job after the order is approved: wait for it
	// (a generous deadline, for a loaded machine).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		insts, err := a.Orders.Instances(context.Background(), access.System(), orders.InstanceFilter{All: true, Page: sqldb.Page{Limit: sqldb.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		id := ""
		for _, i := range insts.Items {
			if match(i) {
				id = i.ID
			}
		}
		if id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatal("no such instance")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserProvisioning: the supplier manager registers a peer OSB broker
// and imports its catalog; a consumer orders from it in the portal, watches
// the instance come up with the placement's reasons and its operations,
// and sees a binding's credentials once. A second order is made by a
// webhook provider that calls back.
func TestBrowserProvisioning(t *testing.T) {
	base, a := startApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a.Provision.MinPoll, a.Provision.MaxPoll = 50*time.Millisecond, 200*time.Millisecond
	a.Provision.PublicURL = base
	go a.Jobs.Run(ctx)
	peer := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 2})
	b := newBrowser(t, base)

	b.login("sofia@it.contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/admin/providers"),
		waitText("main", "Register a provider"),
		chromedp.SetValue("#code", "peer", chromedp.ByQuery),
		chromedp.SetValue("#name", "Peer cloud", chromedp.ByQuery),
		chromedp.SetValue("#url", "not a url", chromedp.ByQuery),
		press(`form[action="/admin/providers"] button`),
		waitText(".error", "url must be the provider's http(s) base URL"),
		chromedp.SetValue("#code", "peer", chromedp.ByQuery),
		chromedp.SetValue("#name", "Peer cloud", chromedp.ByQuery),
		chromedp.SetValue("#url", peer.URL, chromedp.ByQuery),
		chromedp.SetValue("#username", peer.Username, chromedp.ByQuery),
		chromedp.SetValue("#secret", peer.Password, chromedp.ByQuery),
		chromedp.SetValue("#markup", "20", chromedp.ByQuery),
		press(`form[action="/admin/providers"] button`),
		waitText(".flash", "Registered Peer cloud"),
		press(`form[action$="/check"] button`),
		waitText(".flash", "Peer cloud is healthy"),
		press(`form[action$="/sync"] button`),
		waitText(".flash", "Imported 2 plans of 1 services"),
		waitText("main", "test-db / small"),
	)
	b.fits(t, "provider") // issue 17, item 6: the provider's page fits 1280 and 390 px
	b.logout()

	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/cart"),
		press(`form[action$="/delete"] button`),
		waitText("main", "Your cart is empty"),
	)
	b.orderFrom("peer-test-db", waitText("main", "12.00"), press(`input[name="plan"][value="small"]`))
	id := instanceWhere(t, a, func(i *orders.Instance) bool { return i.ProviderName == "Peer cloud" })
	b.reloadUntil("/my-services/"+id, "h1", "active")
	if got := b.text("#placement"); !strings.Contains(got, "Why peer") || !strings.Contains(got, "chosen: health") {
		t.Errorf("the placement section reads %q", got)
	}
	if got := b.text("#operations"); !strings.Contains(got, "provision") || !strings.Contains(got, "succeeded") {
		t.Errorf("the operations read %q", got)
	}
	b.run(
		chromedp.SetValue("#bname", "shop-app", chromedp.ByQuery),
		press(`form[action$="/bindings"] button`),
		waitText(".flash", "shown once"),
	)
	b.reloadUntil("/my-services/"+id, "#bindings", "Show once")
	b.run(press(`#bindings a`), waitText("#credentials", "postgres://"))
	b.screenshot("credentials")
	b.reloadUntil("/my-services/"+id, "#bindings", "shown")
	if strings.Contains(b.text("main"), "postgres://") {
		t.Error("the credentials are shown a second time")
	}

	// A webhook provider makes buckets: it answers "in progress" and calls back.
	const key = "browser-webhook-secret-0123"
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if provision.Verify(key, r.Header.Get(provision.SignatureHeader), body, time.Now()) != nil {
			w.WriteHeader(401)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		if m["type"] != "provision" {
			w.Write([]byte(`{"state":"succeeded"}`))
			return
		}
		w.Write([]byte(`{"state":"in progress"}`))
		go func() {
			time.Sleep(300 * time.Millisecond)
			cb := []byte(`{"state":"succeeded","dashboard_url":"https://buckets.test/b"}`)
			rq, _ := http.NewRequest("POST", m["callback_url"].(string), bytes.NewReader(cb))
			cbURL := m["callback_url"].(string)
			opID := cbURL[strings.LastIndex(cbURL, "/")+1:] // callbacks are signed over the operation they answer
			rq.Header.Set(provision.SignatureHeader, provision.SignCallback(key, opID, time.Now(), cb))
			if res, err := http.DefaultClient.Do(rq); err == nil {
				res.Body.Close()
			}
		}()
	}))
	t.Cleanup(hook.Close)
	sofia, _ := a.Identity.UserByEmail(ctx, access.System(), "sofia@it.contoso.example")
	sp, _ := a.Identity.Principal(ctx, sofia.ID)
	pv, err := a.Provision.CreateProvider(ctx, sp, provision.ProviderInput{Code: "buckets", Name: "Bucket automation", Kind: provision.KindWebhook, URL: hook.URL, Secret: key})
	if err != nil {
		t.Fatal(err)
	}
	bucket, _ := a.Catalog.Offering(ctx, access.System(), "bucket")
	if _, err := a.Provision.SetOffer(ctx, sp, pv.ID, provision.OfferInput{Plan: bucket.Plans[0].ID, Currency: "EUR", Price: "2.00"}); err != nil {
		t.Fatal(err)
	}
	b.orderFrom("bucket", chromedp.WaitVisible(`input[name="param.bucket_name"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="param.bucket_name"]`, "hooked-bucket", chromedp.ByQuery))
	b.reloadUntil("/my-services", "main", "hooked-bucket")
	id = instanceWhere(t, a, func(i *orders.Instance) bool { return i.Name == "hooked-bucket" })
	b.reloadUntil("/my-services/"+id, "h1", "active")
	if got := b.text("main"); !strings.Contains(got, "Bucket automation") || !strings.Contains(got, "https://buckets.test/b") {
		t.Errorf("the webhook-made instance reads %q", got)
	}
}
