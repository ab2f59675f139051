package webhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/webhook"
)

// BenchmarkWebhooks measures the two halves of a burst (a billing run
// finalising many invoices): the outbox dispatching events to three
// subscriptions (deliveries written per second, in the dispatcher's
// transactions), and one deliverer sending them to a local receiver
// (deliveries per second, 100 subjects, in order per subject).
//
//	go test ./internal/webhook -run - -bench Webhooks -benchtime 1x
func BenchmarkWebhooks(b *testing.B) {
	const events, subjects = 5000, 100
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		ctx := context.Background()
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
		s := webhook.New(e.db, nil, e.box, slog.New(slog.DiscardHandler), webhook.Options{AllowPrivate: true, WorkerID: "bench", Parallel: 16})
		for range 3 {
			if _, err := s.Create(ctx, access.System(), webhook.Input{URL: rcv.URL}); err != nil {
				b.Fatal(err)
			}
		}
		err := e.db.Tx(ctx, func(tx *sqldb.Tx) error {
			for i := range events {
				if err := outbox.Emit(ctx, tx, access.System(), time.Now(), outbox.Event{Type: "invoice.finalised",
					Subject: fmt.Sprintf("invoices/INV-%d", i%subjects), Data: map[string]int{"i": i}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		d := outbox.NewDispatcher(e.db, nil, slog.New(slog.DiscardHandler))
		d.Add("webhooks", s)
		b.StartTimer()
		start := time.Now()
		for {
			n, err := d.Once(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		took := time.Since(start)
		b.ReportMetric(float64(3*events)/took.Seconds(), "written/s")
		start = time.Now()
		sent := 0
		for sent < 3*events {
			n, err := s.DeliverDue(ctx)
			if err != nil {
				b.Fatal(err)
			}
			sent += n
		}
		took = time.Since(start)
		b.ReportMetric(float64(sent)/took.Seconds(), "sent/s")
		b.StopTimer()
		rcv.Close()
	}
}
