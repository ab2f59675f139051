package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/notify/smtptest"
	"github.com/steward-itaas/steward/internal/webhook"
)

// receivedEvent is a CloudEvent as a webhook receiver got it.
type receivedEvent struct {
	ID, Type, Subject string
	Time              time.Time
	WebhookID         string
}

// TestBrowserPeopleLoop is issue 19's done-when, one chain in Chromium
// against real parts: a person signs in through a real OpenID provider
// (the zitadel example OP) and is made a Retail consumer by its claims;
// she orders five silver VMs in the portal; the sponsor receives the mail
// on a real SMTP server and approves from its signed link; the agents'
// group is mailed the task; a webhook receiver gets the order's signed
// CloudEvents (verified with the Standard Webhooks library), in order.
// CI runs it on SQLite and on PostgreSQL.
func TestBrowserPeopleLoop(t *testing.T) {
	ctx, sys := context.Background(), access.System()

	// The webhook receiver: checks every signature independently.
	var mu sync.Mutex
	var whSecret string
	var events []receivedEvent
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(whSecret)
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ev receivedEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		ev.WebhookID = r.Header.Get("webhook-id")
		events = append(events, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)

	base, a, mail := startMailingApp(t, func(c *app.Config) { c.WebhookAllowPrivate, c.WorkerID = true, t.Name() })
	sub, err := a.Webhooks.Create(ctx, sys, webhook.Input{URL: rcv.URL, Description: "ITSM bridge",
		EventTypes: []string{"order.submitted", "approval.requested", "order.approved", "task.created"}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	whSecret = sub.Secret
	mu.Unlock()
	contosoID(t, a, base) // the company's identity provider, and Steward's rules for it

	// 1. Nia signs in through the provider and orders in the portal.
	b := newBrowser(t, base)
	b.run(
		chromedp.Navigate(base+"/catalog/vm"),
		press(`a[href^="/login/sso/corp"]`),
		chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.SendKeys("#username", "nia", chromedp.ByQuery),
		chromedp.SendKeys("#password", "verysecure", chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
		until(`!!document.querySelector(".who") && location.pathname === "/catalog/vm"`, "the offering, signed in"),
		chromedp.WaitVisible(`input[name="param.hostname"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="param.hostname"]`, "pos-sync", chromedp.ByQuery),
		press(`input[name="plan"][value="silver"]`),
		chromedp.SetValue("#quantity", "5", chromedp.ByQuery),
		press(`.order-form button[type="submit"]`),
		waitText("main", "Added Virtual machine to your cart"),
		press(`form[action="/cart/submit"] button`),
		waitText("main", "awaiting approval"),
	)
	ref := strings.Fields(b.text("h1"))[1]
	b.screenshot("people-loop-ordered")
	b.logout()

	// 2. The sponsor's mail, and the decision from its link.
	ours := func(m smtptest.Message) bool { return strings.Contains(m.Subject, ref) }
	var link string
	mail.WaitFor(t, "the sponsor's mail", func(m []smtptest.Message) bool {
		for _, x := range m {
			if x.To == "arun@contoso.example" && ours(x) {
				link = mailLink.FindString(x.Text)
			}
		}
		return link != ""
	})
	b.run(chromedp.Navigate(link), waitText("h1", ref))
	b.screenshot("people-loop-mail-approval")
	b.run(press(`button[value="approve"]`), waitText("main", "Approved"))

	// 3. The agents' group hears of the task; Nia of the approval.
	mail.WaitFor(t, "the agents' and the requester's mails", func(m []smtptest.Message) bool {
		var agent, requester bool
		for _, x := range m {
			agent = agent || x.To == "alex@it.contoso.example" && strings.HasPrefix(x.Subject, "New task:") && ours(x)
			requester = requester || x.To == "nia@contoso.example" && x.Subject == "Order "+ref+" is approved"
		}
		return agent && requester
	})

	// 4. The receiver got the order's events, signed, in order, each once.
	want := []string{"steward.order.submitted", "steward.approval.requested", "steward.order.approved", "steward.task.created"}
	var got []receivedEvent
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		got = got[:0]
		for _, e := range events {
			if e.Subject == "orders/"+ref {
				got = append(got, e)
			}
		}
		mu.Unlock()
		if len(got) >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d of the order's events: %+v", len(got), got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := map[string]bool{}
	for i, e := range got {
		if i < len(want) && e.Type != want[i] {
			t.Errorf("event %d of orders/%s is %s, want %s (all: %+v)", i, ref, e.Type, want[i], got)
		}
		if i > 0 && e.Time.Before(got[i-1].Time) {
			t.Errorf("event %s arrived after a later one", e.Type)
		}
		if seen[e.WebhookID] || e.WebhookID == "" {
			t.Errorf("webhook-id %q is missing or repeated", e.WebhookID)
		}
		seen[e.WebhookID] = true
	}

	// 5. The subscription's delivery log and the search page fit a desktop
	// and a phone (issue 17, item 6).
	b.login("admin@it.contoso.example", demo.Password)
	b.run(chromedp.Navigate(b.base+"/admin/webhooks/"+sub.ID), waitText("main", "ITSM bridge"), waitText("main", "delivered"))
	b.fits(t, "webhook-deliveries")
	b.run(chromedp.Navigate(b.base+"/search?q=vm"), waitText("main", "Virtual machine"))
	b.fits(t, "search")
}
