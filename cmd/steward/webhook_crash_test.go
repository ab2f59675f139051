package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/webhook"
)

// TestWebhookKillNine is the webhook crash drill of docs/events.md: a real
// steward process delivers events to a real receiver and is killed with
// SIGKILL while a delivery is in flight (the receiver has it and has not
// answered). After a restart every event is delivered, the one in flight
// again with the same webhook-id, each subject's events in order, every
// request signed (checked from the specification's text, not with
// Steward's signing code).
func TestWebhookKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes a steward process")
	}
	cfg := drillDatabase(t)
	key, err := secret.ParseKey(testKey)
	if err != nil {
		t.Fatal(err)
	}

	type request struct {
		id, event, subject string
		i                  int
		ok                 bool
	}
	var mu sync.Mutex
	var got []request
	var signingSecret string
	hung := make(chan string, 1) // the webhook-id held when the server dies
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		sec := signingSecret
		mu.Unlock()
		if !signed(sec, r.Header, body) {
			t.Errorf("a request is not signed with the subscription's secret: %v", r.Header)
			w.WriteHeader(401)
			return
		}
		var ev struct {
			ID, Subject string
			Data        struct{ I int }
		}
		json.Unmarshal(body, &ev)
		rq := request{id: r.Header.Get("webhook-id"), event: ev.ID, subject: ev.Subject, i: ev.Data.I}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 20 {
			select {
			case hung <- rq.id: // hold this one until the server is gone
				mu.Lock()
				got = append(got, rq)
				mu.Unlock()
				<-r.Context().Done()
				return
			default:
			}
		}
		rq.ok = true
		mu.Lock()
		got = append(got, rq)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)

	const events, subjects = 60, 6
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: cfg, SecretKey: key, WebhookAllowPrivate: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := a.Webhooks.Create(ctx, access.System(), webhook.Input{URL: rcv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	signingSecret = sub.Secret
	mu.Unlock()
	err = a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		for i := range events {
			if err := outbox.Emit(ctx, tx, access.System(), time.Now(), outbox.Event{Type: "order.approved",
				Subject: fmt.Sprintf("orders/ORD-%d", i%subjects), Data: map[string]int{"i": i}}); err != nil {
				return err
			}
		}
		return nil
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}

	start := func() *exec.Cmd {
		cmd, _ := drillServe(t, cfg, []string{"--webhook-allow-private"})
		return cmd
	}
	cmd := start()
	var held string
	select {
	case held = <-hung:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("no delivery reached the receiver")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	cmd = start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	delivered := func() map[string]bool {
		mu.Lock()
		defer mu.Unlock()
		ok := map[string]bool{}
		for _, r := range got {
			if r.ok {
				ok[r.event] = true
			}
		}
		return ok
	}
	deadline := time.Now().Add(3 * time.Minute) // the held claim's lease (a minute) runs out first
	for len(delivered()) < events {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered after the restart", len(delivered()), events)
		}
		time.Sleep(50 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	ids := map[string]string{} // event → webhook-id
	last := map[string]int{}
	resent := 0
	for _, r := range got {
		if prev, ok := ids[r.event]; ok && prev != r.id {
			t.Errorf("event %s came with webhook-id %s, then %s", r.event, prev, r.id)
		}
		ids[r.event] = r.id
		if r.id == held && r.ok {
			resent++
		}
		if !r.ok {
			continue
		}
		if p, seen := last[r.subject]; seen && r.i < p {
			t.Errorf("subject %s: event %d delivered after %d", r.subject, r.i, p)
		}
		last[r.subject] = r.i
	}
	if resent != 1 {
		t.Errorf("the delivery in flight at the kill (webhook-id %s) was delivered %d times after the restart, want 1", held, resent)
	}
	t.Logf("%d requests for %d events; webhook-id %s held at the kill and sent again", len(got), events, held)
}

// signed checks a Standard Webhooks signature as the specification
// describes it: HMAC-SHA256 over "id.timestamp.body" keyed with the base64
// after whsec_, sent as "v1,<base64>" among space-separated signatures.
func signed(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || secret == "" {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if s == "v1,"+want {
			return true
		}
	}
	return false
}
