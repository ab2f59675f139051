package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
	"github.com/steward-itaas/steward/internal/webhook"
)

// The whole path of an event, wired as serve wires it: the demo
// organisation's orders, invoices and outages emit events in their
// transactions; the outbox dispatcher hands them to the webhook sink; the
// deliverer running beside the server POSTs them to a real receiver,
// which checks each signature with the Standard Webhooks library and each
// subject's order.
func TestDomainEventsReachAWebhookReceiver(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var secret string
	type got struct {
		typ, subject string
		at           time.Time
	}
	var received []got
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(400)
			return
		}
		var ev struct {
			Type, Subject string
			Time          time.Time
		}
		json.Unmarshal(body, &ev)
		received = append(received, got{ev.Type, ev.Subject, ev.Time})
		w.WriteHeader(200)
	}))
	defer rcv.Close()

	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), WebhookAllowPrivate: true, WorkerID: t.Name()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sub, err := a.Webhooks.Create(ctx, access.System(), webhook.Input{URL: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = sub.Secret
	mu.Unlock()
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		// Every event dispatched and every delivery delivered (one in
		// flight is neither pending nor delivered: wait for it too).
		page, err := a.Webhooks.Deliveries(ctx, access.System(), sub.ID, webhook.DeliveryFilter{State: webhook.StateDelivered, Page: sqldb.Page{Limit: sqldb.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		all, _ := a.Webhooks.Deliveries(ctx, access.System(), sub.ID, webhook.DeliveryFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}})
		var undispatched int
		a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox_events WHERE dispatched_at IS NULL`).Scan(&undispatched)
		if undispatched == 0 && len(all.Items) > 0 && len(page.Items) == len(all.Items) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries delivered of %d", len(page.Items), len(all.Items))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	types := map[string]int{}
	last := map[string]time.Time{}
	for _, r := range received {
		types[r.typ]++
		if r.at.Before(last[r.subject]) {
			t.Errorf("subject %s: an event of %s arrived after one of %s", r.subject, r.at, last[r.subject])
		}
		last[r.subject] = r.at
	}
	if types["steward.order.submitted"] == 0 {
		t.Errorf("no order events among %v", types)
	}
	t.Logf("%d events received: %v", len(received), types)
}
