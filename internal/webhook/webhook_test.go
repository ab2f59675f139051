package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
	"github.com/steward-itaas/steward/internal/webhook"
)

// verify checks a request's Standard Webhooks signature, written from the
// specification's text and independent of the package's signing code (the
// receiver also checks it with the specification's own Go library):
// the signed content is "<webhook-id>.<webhook-timestamp>.<body>", the key
// is the base64 after "whsec_", the signature header is a space-separated
// list of "v1,<base64 HMAC-SHA256>", and a timestamp more than five
// minutes off is refused (replay protection).
func verify(secret string, h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing headers: id %q timestamp %q signature %q", id, ts, sigs)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %v", ts, err)
	}
	if math.Abs(float64(time.Now().Unix()-sec)) > 300 {
		return fmt.Errorf("timestamp %s is outside the tolerance", ts)
	}
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return fmt.Errorf("secret %q is not whsec_<base64>", secret)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := m.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	return fmt.Errorf("no signature in %q matches", sigs)
}

// received is one request the receiver got.
type received struct {
	id, ctype string
	event     map[string]any
	status    int
}

// receiver is a real HTTP receiver that verifies every request and
// answers what answer says.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
	answer func(n int, id string) int // n: this webhook-id's attempt, from 1
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, answer: func(int, string) int { return 204 }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := verify(r.secret, req.Header, body); err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(401)
			return
		}
		// ...and with the official Go library of Standard Webhooks.
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err == nil {
			err = wh.Verify(body, req.Header)
		}
		if err != nil {
			t.Errorf("the Standard Webhooks library refuses the request: %v", err)
			w.WriteHeader(401)
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("body: %v", err)
		}
		id := req.Header.Get("webhook-id")
		n := 1
		for _, g := range r.got {
			if g.id == id {
				n++
			}
		}
		status := r.answer(n, id)
		r.got = append(r.got, received{id: id, ctype: req.Header.Get("Content-Type"), event: ev, status: status})
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) snapshot() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type env struct {
	t   testing.TB
	db  *sqldb.DB
	box *secret.Box
	d   *outbox.Dispatcher
	ctx context.Context
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := sqldbtest.Open(t)
	box, err := secret.New(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, box: box, d: outbox.NewDispatcher(db, nil, slog.New(slog.DiscardHandler)), ctx: context.Background()}
}

// fast are delivery settings for tests: quick retries, private addresses allowed.
func fast(worker string) webhook.Options {
	return webhook.Options{AllowPrivate: true, Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		Poll: 10 * time.Millisecond, Timeout: 5 * time.Second, WorkerID: worker, Source: "https://steward.test"}
}

func (e *env) service(o webhook.Options) *webhook.Service {
	s := webhook.New(e.db, nil, e.box, slog.New(slog.DiscardHandler), o)
	return s
}

// run delivers in the background until the test ends.
func (e *env) run(s *webhook.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// orgUnit adds an org unit under parent ("" for a root) and returns its ID.
func (e *env) orgUnit(code, parentPath string) (string, string) {
	e.t.Helper()
	id := sqldb.NewID()
	path := parentPath + id + "/"
	if parentPath == "" {
		path = "/" + id + "/"
	}
	err := e.db.Tx(e.ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(e.ctx, `INSERT INTO org_units (id, kind, code, name, path, created_at, updated_at) VALUES ($1, 'department', $2, $2, $3, $4, $4)`,
			id, code, path, sqldb.Time(time.Now()))
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id, path
}

// emit stores events and dispatches them to the sink.
func (e *env) emit(sink outbox.Sink, events ...outbox.Event) {
	e.t.Helper()
	err := e.db.Tx(e.ctx, func(tx *sqldb.Tx) error {
		for _, ev := range events {
			if err := outbox.Emit(e.ctx, tx, access.System(), time.Now(), ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	d := outbox.NewDispatcher(e.db, nil, slog.New(slog.DiscardHandler))
	d.Add("webhooks", sink)
	for {
		n, err := d.Once(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) deliveries(s *webhook.Service, subID string) []*webhook.Delivery {
	e.t.Helper()
	var all []*webhook.Delivery
	page := sqldb.Page{Limit: 500}
	for {
		p, err := s.Deliveries(e.ctx, access.System(), subID, webhook.DeliveryFilter{Page: page})
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		page.Cursor = p.Next
	}
}

func (e *env) all(s *webhook.Service, subID string, state webhook.State) func() bool {
	return func() bool {
		for _, d := range e.deliveries(s, subID) {
			if d.State != state {
				return false
			}
		}
		return true
	}
}

func ev(typ, subject string, i int) outbox.Event {
	return outbox.Event{Type: typ, Subject: subject, Data: map[string]any{"i": i, "order_number": subject}}
}

// Every event reaches the receiver as a signed CloudEvent; a subject's
// events arrive in order although some attempts fail and are retried, a
// retry carries the webhook-id of the first attempt, and two deliverers
// on one database (two replicas) share the work without sending anything
// twice.
func TestDeliversSignedEventsInOrderPerSubject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	// Every third event's first two attempts fail.
	failing := map[string]bool{}
	rcv.answer = func(n int, id string) int {
		if failing[id] && n <= 2 {
			return 503
		}
		return 200
	}
	a, b := e.service(fast("a")), e.service(fast("b"))
	sub, err := a.Create(e.ctx, access.System(), webhook.Input{URL: rcv.srv.URL + "/hook", Description: "all"})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = sub.Secret
	var events []outbox.Event
	for i := range 30 {
		events = append(events, ev("order.approved", fmt.Sprintf("orders/ORD-%d", i%3), i))
	}
	e.emit(a, events...)
	ds := e.deliveries(a, sub.ID)
	if len(ds) != 30 {
		t.Fatalf("%d deliveries, want 30", len(ds))
	}
	rcv.mu.Lock()
	for i, d := range ds {
		if i%3 == 0 {
			failing[d.ID] = true
		}
	}
	rcv.mu.Unlock()
	e.run(a)
	e.run(b)
	waitFor(t, "every delivery delivered", e.all(a, sub.ID, webhook.StateDelivered))

	got := rcv.snapshot()
	last := map[string]float64{}
	ok := map[string]int{}
	ids := map[string]string{} // event id → webhook-id
	for _, r := range got {
		if r.ctype != "application/cloudevents+json" {
			t.Errorf("content type %q", r.ctype)
		}
		ce := r.event
		if ce["specversion"] != "1.0" || ce["type"] != "steward.order.approved" || ce["source"] != "https://steward.test" ||
			ce["datacontenttype"] != "application/json" || ce["time"] == "" {
			t.Errorf("cloudevent %v", ce)
		}
		subj := ce["subject"].(string)
		i := ce["data"].(map[string]any)["i"].(float64)
		if i < last[subj] {
			t.Errorf("subject %s: event %v arrived after %v", subj, i, last[subj])
		}
		last[subj] = i
		evID := ce["id"].(string)
		if prev, seen := ids[evID]; seen && prev != r.id {
			t.Errorf("event %s sent with webhook-id %s, then %s", evID, prev, r.id)
		}
		ids[evID] = r.id
		if r.status == 200 {
			ok[evID]++
		}
	}
	if len(ok) != 30 {
		t.Errorf("%d events answered 200, want 30", len(ok))
	}
	for id, n := range ok {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(got) != 30+2*10 {
		t.Errorf("%d requests, want 50 (30 events, 10 of them failing twice)", len(got))
	}
	for _, d := range e.deliveries(a, sub.ID) {
		if d.LastStatus != 200 || d.DeliveredAt == nil || (failing[d.ID] && d.Attempts != 3) {
			t.Errorf("delivery log %+v", d)
		}
	}
}

// A subscription receives only the types it names and, with an org unit,
// only the events of that org unit's subtree; a disabled one nothing.
func TestSubscriptionFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(fast("w"))
	retail, retailPath := e.orgUnit("RETAIL", "")
	stores, _ := e.orgUnit("STORES", retailPath)
	mfg, _ := e.orgUnit("MFG", "")
	sys := access.System()
	all, _ := s.Create(e.ctx, sys, webhook.Input{URL: "https://hooks.example.com/all"})
	typed, _ := s.Create(e.ctx, sys, webhook.Input{URL: "https://hooks.example.com/typed", EventTypes: []string{"order.rejected", "order.approved", "order.approved"}})
	scoped, err := s.Create(e.ctx, sys, webhook.Input{URL: "https://hooks.example.com/retail", OrgUnitID: retail})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	disabled, _ := s.Create(e.ctx, sys, webhook.Input{URL: "https://hooks.example.com/off", Enabled: &off})
	if got := typed.EventTypes; len(got) != 2 || got[0] != "order.approved" {
		t.Errorf("event types kept as %v, want sorted without duplicates", got)
	}
	e.emit(s,
		outbox.Event{Type: "order.approved", Subject: "orders/1", OrgUnitID: stores},
		outbox.Event{Type: "order.submitted", Subject: "orders/2", OrgUnitID: mfg},
		outbox.Event{Type: "invoice.finalised", Subject: "invoices/3", OrgUnitID: retail},
		outbox.Event{Type: "provider.unhealthy", Subject: "providers/4"},
	)
	count := func(id string) (n []string) {
		for _, d := range e.deliveries(s, id) {
			n = append(n, d.Subject)
		}
		return n
	}
	if got := count(all.ID); len(got) != 4 {
		t.Errorf("all: %v", got)
	}
	if got := count(typed.ID); len(got) != 1 || got[0] != "orders/1" {
		t.Errorf("typed: %v", got)
	}
	if got := count(scoped.ID); len(got) != 2 || got[0] != "invoices/3" || got[1] != "orders/1" {
		t.Errorf("retail's subtree: %v", got)
	}
	if got := count(disabled.ID); len(got) != 0 {
		t.Errorf("disabled: %v", got)
	}
	// The same batch dispatched again writes nothing twice.
	err = e.db.Tx(e.ctx, func(tx *sqldb.Tx) error {
		return s.Take(e.ctx, tx, []outbox.Stored{{ID: e.deliveries(s, all.ID)[0].EventID, Type: "order.approved", Subject: "orders/1"}})
	})
	if err != nil || len(count(all.ID)) != 4 {
		t.Errorf("a second take: %v, %d deliveries", err, len(count(all.ID)))
	}
}

// A receiver that keeps failing: each delivery is retried until RetryFor,
// then dead-lettered; the subscription is disabled with a reason and an
// audit record; once the receiver is fixed, enabling it and redelivering
// sends the same webhook-id again.
func TestDeadLetterDisableAndRedeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	broken := true
	rcv.answer = func(int, string) int {
		if broken {
			return 500
		}
		return 200
	}
	o := fast("w")
	// Retries every 10 ms for 3 s: several, however loaded the machine (a
	// retry window of 200 ms once ended before the second attempt).
	o.RetryFor, o.DisableAfter = 3*time.Second, time.Millisecond
	s := e.service(o)
	sub, err := s.Create(e.ctx, access.System(), webhook.Input{URL: rcv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = sub.Secret
	e.emit(s, ev("order.failed", "orders/9", 1))
	e.run(s)
	waitFor(t, "the delivery dead-lettered", e.all(s, sub.ID, webhook.StateDead))
	waitFor(t, "the subscription disabled", func() bool {
		got, err := s.Subscription(e.ctx, access.System(), sub.ID)
		return err == nil && !got.Enabled
	})
	got, _ := s.Subscription(e.ctx, access.System(), sub.ID)
	if !strings.Contains(got.DisabledReason, "dead-lettered") || got.FailingSince == nil {
		t.Errorf("disabled subscription: %+v", got)
	}
	// The disabling's audit record: on PostgreSQL chained into the log
	// moments after that commit, by the worker that made it
	// (docs/architecture.md, "Audit log").
	var n int
	waitFor(t, "the disabling's audit record", func() bool {
		e.db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'webhook.disable' AND object_id = $1`, sub.ID).Scan(&n)
		return n > 0
	})
	if n != 1 {
		t.Errorf("%d audit records of the disabling, want 1", n)
	}
	// Its owner is told (issue 19: "automatic disabling after persistent
	// failure with a notification to the owner"), in the same transaction.
	var notice string
	if err := e.db.Read().QueryRowContext(e.ctx, `SELECT notice_json FROM outbox_events WHERE type = 'webhook.disabled' AND subject = $1`, "webhooks/"+sub.ID).Scan(&notice); err != nil {
		t.Errorf("no webhook.disabled event for the subscription: %v", err)
	} else if !strings.Contains(notice, sub.OwnerID) || !strings.Contains(notice, "/admin/webhooks/"+sub.ID) || !strings.Contains(notice, "dead-lettered") {
		t.Errorf("the owner's notice: %s (owner %s)", notice, sub.OwnerID)
	}
	d := e.deliveries(s, sub.ID)[0]
	if d.Attempts < 2 || d.LastStatus != 500 || d.LastError == "" {
		t.Errorf("dead delivery: %+v", d)
	}
	tries := len(rcv.snapshot())

	rcv.mu.Lock()
	broken = false
	rcv.mu.Unlock()
	on := true
	if _, err := s.Update(e.ctx, access.System(), sub.ID, webhook.Input{URL: rcv.srv.URL, Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Redeliver(e.ctx, access.System(), sub.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the redelivery", e.all(s, sub.ID, webhook.StateDelivered))
	all := rcv.snapshot()
	if len(all) != tries+1 || all[len(all)-1].id != d.ID || all[0].id != d.ID {
		t.Errorf("redelivery: %d requests after %d, last id %s, want %s", len(all), tries, all[len(all)-1].id, d.ID)
	}
	if got, _ := s.Subscription(e.ctx, access.System(), sub.ID); got.FailingSince != nil || got.DisabledReason != "" {
		t.Errorf("after a delivery: %+v", got)
	}
}

// A rotated secret signs what is sent from then on; a test event reaches
// the receiver as steward.webhook.test.
func TestTestPingAndRotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	s := e.service(fast("w"))
	sub, err := s.Create(e.ctx, access.System(), webhook.Input{URL: rcv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := s.RotateSecret(e.ctx, access.System(), sub.ID)
	if err != nil || rot.Secret == sub.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Fatalf("rotate: %v %v", rot, err)
	}
	rcv.secret = rot.Secret // the old one no longer verifies
	d, err := s.Test(e.ctx, access.System(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.run(s)
	waitFor(t, "the test event", e.all(s, sub.ID, webhook.StateDelivered))
	got := rcv.snapshot()
	if len(got) != 1 || got[0].id != d.ID || got[0].event["type"] != "steward.webhook.test" {
		t.Errorf("test event: %+v", got)
	}
}

// Bad receivers are bounded in time and memory and shown in the log: one
// that hangs, one that answers 10 MB, a redirect loop, an unreachable
// address.
func TestBadReceiversAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range 10 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(big.Close)
	var loops int
	var mu sync.Mutex
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		loops++
		mu.Unlock()
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	o := fast("w")
	o.Timeout, o.RetryFor = 300*time.Millisecond, 2*time.Hour
	o.Backoff = func(int) time.Duration { return time.Hour }
	s := e.service(o)
	subs := map[string]string{}
	for name, u := range map[string]string{"hang": hang.URL, "big": big.URL, "loop": loop.URL + "/a", "unreachable": deadURL} {
		sub, err := s.Create(e.ctx, access.System(), webhook.Input{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		subs[name] = sub.ID
	}
	e.emit(s, ev("order.completed", "orders/1", 1))
	e.run(s)
	attempted := func(id string) func() bool {
		return func() bool { return e.deliveries(s, id)[0].LastAttemptAt != nil }
	}
	for name, id := range subs {
		waitFor(t, name+" attempted", attempted(id))
		d := e.deliveries(s, id)[0]
		if d.State != webhook.StatePending || d.LastError == "" || len(d.LastResponse) > webhook.MaxResponseKept {
			t.Errorf("%s: state %s, error %q, kept %d bytes", name, d.State, d.LastError, len(d.LastResponse))
		}
		t.Logf("%s: status %d, %d ms, error %q", name, d.LastStatus, d.LastDurationMS, d.LastError)
	}
	if d := e.deliveries(s, subs["hang"])[0]; d.LastDurationMS > 5000 || !strings.Contains(d.LastError, "timed out") {
		t.Errorf("hanging receiver: %d ms, %q", d.LastDurationMS, d.LastError)
	}
	if d := e.deliveries(s, subs["big"])[0]; d.LastStatus != 502 || len(d.LastResponse) != webhook.MaxResponseKept {
		t.Errorf("10 MB answer: status %d, kept %d bytes", d.LastStatus, len(d.LastResponse))
	}
	if d := e.deliveries(s, subs["loop"])[0]; d.LastStatus != 302 || !strings.Contains(d.LastError, "redirects are not followed") || loops != 1 {
		t.Errorf("redirect loop: %+v after %d requests", d, loops)
	}

}

// Org-unit administrators manage their subtree's subscriptions only, and
// must name an org unit they cover when they create one.
func TestScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(fast("w"))
	retail, retailPath := e.orgUnit("RETAIL", "")
	mfg, mfgPath := e.orgUnit("MFG", "")
	admin := &access.Principal{UserID: "u1", Grants: []access.Grant{{Role: access.RoleAdmin, ScopeKind: access.ScopeOrgUnit, ScopeID: retail, OrgUnitPath: retailPath}}}
	auditor := &access.Principal{UserID: "u2", Grants: []access.Grant{{Role: access.RoleAuditor, ScopeKind: access.ScopeGlobal}}}
	consumer := &access.Principal{UserID: "u3", Grants: []access.Grant{{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: retail, OrgUnitPath: retailPath}}}
	if _, err := s.Create(e.ctx, admin, webhook.Input{URL: "https://h.example.com/"}); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("provider-wide by an org-unit admin: %v", err)
	}
	if _, err := s.Create(e.ctx, admin, webhook.Input{URL: "https://h.example.com/", OrgUnitID: mfg}); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("another org unit's: %v", err)
	}
	if _, err := s.Create(e.ctx, consumer, webhook.Input{URL: "https://h.example.com/", OrgUnitID: retail}); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("by a consumer: %v", err)
	}
	mine, err := s.Create(e.ctx, admin, webhook.Input{URL: "https://h.example.com/", OrgUnitID: retail})
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := s.Create(e.ctx, access.System(), webhook.Input{URL: "https://h.example.com/", OrgUnitID: mfg})
	global, _ := s.Create(e.ctx, access.System(), webhook.Input{URL: "https://h.example.com/"})
	_ = mfgPath
	list, err := s.Subscriptions(e.ctx, admin, webhook.Filter{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != mine.ID {
		t.Errorf("org-unit admin lists %v %v", list.Items, err)
	}
	if _, err := s.Subscription(e.ctx, admin, theirs.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("reading another org unit's: %v", err)
	}
	if _, err := s.Update(e.ctx, admin, mine.ID, webhook.Input{URL: "https://h.example.com/", OrgUnitID: mfg}); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("moving one's own to another org unit: %v", err)
	}
	if err := s.Delete(e.ctx, admin, global.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("deleting a provider-wide one: %v", err)
	}
	all, err := s.Subscriptions(e.ctx, auditor, webhook.Filter{})
	if err != nil || len(all.Items) != 3 {
		t.Errorf("auditor lists %d, %v", len(all.Items), err)
	}
	if _, err := s.RotateSecret(e.ctx, auditor, mine.ID); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("auditor rotating: %v", err)
	}
	if _, err := s.Subscriptions(e.ctx, consumer, webhook.Filter{}); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("consumer listing: %v", err)
	}
	if _, err := s.Create(e.ctx, access.System(), webhook.Input{URL: "ftp://x", EventTypes: []string{"no.such"}}); !errs.Is(err, errs.CodeInvalid) || len(errs.As(err).Fields) != 2 {
		t.Errorf("bad input: %v", err)
	}
}

// A deliverer killed while it holds deliveries (kill -9 mid-attempt) leaves
// its claims to expire; another then sends them, with the same webhook-id
// the receiver may already have seen: at least once.
func TestClaimsOfADeadDelivererExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t)
	o := fast("dies")
	// Long enough that the other deliverer's first look comes before it
	// ends, however loaded the machine; the test then waits for it to end.
	o.Lease = 5 * time.Second
	dies := e.service(o)
	sub, err := dies.Create(e.ctx, access.System(), webhook.Input{URL: rcv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = sub.Secret
	e.emit(dies, ev("order.approved", "orders/1", 1), ev("order.approved", "orders/2", 2))
	before := e.deliveries(dies, sub.ID)
	if n, err := dies.ClaimAndDie(e.ctx); err != nil || n != 2 {
		t.Fatalf("claimed %d: %v", n, err)
	}
	lives := e.service(fast("lives"))
	if n, err := lives.DeliverDue(e.ctx); err != nil || n != 0 {
		t.Fatalf("delivered %d held by another deliverer: %v", n, err)
	}
	e.run(lives)
	waitFor(t, "the expired claims delivered", e.all(lives, sub.ID, webhook.StateDelivered))
	ids := map[string]bool{}
	for _, d := range before {
		ids[d.ID] = true
	}
	for _, r := range rcv.snapshot() {
		if !ids[r.id] {
			t.Errorf("webhook-id %s is not a delivery's ID", r.id)
		}
	}
	if len(rcv.snapshot()) != 2 {
		t.Errorf("%d requests, want 2", len(rcv.snapshot()))
	}
}

// Addresses in private ranges are refused when a URL is saved and, for a
// URL saved while they were allowed, when connecting.
func TestPrivateAddressesRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := fast("lenient")
	s := e.service(o)
	strict := e.service(webhook.Options{WorkerID: "strict", Poll: 10 * time.Millisecond, Backoff: o.Backoff})
	for _, u := range []string{"http://127.0.0.1:8080/", "http://[::1]/x", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data", "http://localhost/", "http://0.0.0.0/", "http://192.168.1.1/"} {
		_, err := strict.Create(e.ctx, access.System(), webhook.Input{URL: u})
		if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(fmt.Sprint(errs.As(err).Fields), "url") {
			t.Errorf("%s: %v, want invalid url", u, err)
		}
	}
	// ...and when connecting, whatever the URL said when it was saved.
	rcv := newReceiver(t)
	sub, err := s.Create(e.ctx, access.System(), webhook.Input{URL: rcv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secret = sub.Secret
	if _, err := strict.Test(e.ctx, access.System(), sub.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := strict.DeliverDue(e.ctx); err != nil || n != 1 {
		t.Fatalf("attempted %d: %v", n, err)
	}
	d := e.deliveries(s, sub.ID)[0]
	if !strings.Contains(d.LastError, "server-side request forgery") || len(rcv.snapshot()) != 0 {
		t.Errorf("private address at dial time: %q, %d requests arrived", d.LastError, len(rcv.snapshot()))
	}
}

// Purge deletes old delivered and dead deliveries, never pending ones.
func TestPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(fast("w"))
	sub, err := s.Create(e.ctx, access.System(), webhook.Input{URL: "https://hooks.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	e.emit(s, ev("order.approved", "orders/1", 1), ev("order.approved", "orders/2", 2))
	ds := e.deliveries(s, sub.ID)
	e.db.Tx(e.ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(e.ctx, `UPDATE webhook_deliveries SET state = 'delivered' WHERE id = $1`, ds[0].ID)
		return err
	})
	n, err := webhook.Purge(e.ctx, e.db, time.Now().Add(time.Hour))
	if err != nil || n != 1 || len(e.deliveries(s, sub.ID)) != 1 {
		t.Errorf("purged %d (%v), %d left", n, err, len(e.deliveries(s, sub.ID)))
	}
}

// The ranges a webhook may not reach without --webhook-allow-private.
func TestForbiddenAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.169.254": true,
		"100.64.0.1": true, "0.0.0.0": true, "0.1.2.3": true, "255.255.255.255": true, "224.0.0.1": true, "198.18.0.1": true,
		"::1": true, "::": true, "fe80::1": true, "fc00::1": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "64:ff9b::a00:1": true,
		"93.184.215.14": false, "8.8.8.8": false, "2606:4700::1111": false, "100.128.0.1": false,
	} {
		if got := webhook.Forbidden(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Forbidden(%s) = %v, want %v", addr, got, want)
		}
	}
}
