package provision_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/api"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// docSign signs a callback as docs/provisioning.md tells a webhook
// provider to, written from the doc rather than with provision's own
// signing code: "t=<unix seconds>,v2=<hex HMAC-SHA256 of
// "<t>.<operation_id>.<body>" under the provider's secret>".
func docSign(secret, operationID string, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + operationID + "."))
	m.Write(body)
	return "t=" + ts + ",v2=" + hex.EncodeToString(m.Sum(nil))
}

type answer struct {
	status int
	body   string
}

// callback POSTs body to the operation's callback URL with the signature.
func callback(t *testing.T, base, operationID, sig string, body []byte) answer {
	t.Helper()
	r, _ := http.NewRequest("POST", base+"/api/v1/provider-callbacks/"+operationID, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set(provision.SignatureHeader, sig)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var problem map[string]any
	json.NewDecoder(res.Body).Decode(&problem)
	delete(problem, "instance")   // the path asked for, and
	delete(problem, "request_id") // this request's ID, differ
	b, _ := json.Marshal(problem)
	return answer{res.StatusCode, string(b)}
}

// Issue 15, finding 15: the callback signature covers the operation it
// answers, so a signed body for one operation cannot be replayed against
// another; and before the signature is verified, the endpoint answers alike
// for an operation that exists, one at an OSB provider and one that does not.
func TestWebhookCallbackSignature(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.a.Handler())
	t.Cleanup(srv.Close)
	e.a.Provision.PublicURL = srv.URL
	const key = "webhook-signing-secret-0123"
	h := newHook(t, key)
	h.set(200, `{"state":"in progress"}`)
	_, bucket := e.webhookBuckets(h, key)
	oa, _ := e.order(bucket.ID, bucket.Plans[0].Code, map[string]any{"bucket_name": "bucket-a"})
	ob, _ := e.order(bucket.ID, bucket.Plans[0].Code, map[string]any{"bucket_name": "bucket-b"})
	e.drain()
	opOf := func(o *orders.Order) string {
		t.Helper()
		_, inst := e.state(o)
		opsPage, err := e.a.Provision.Operations(e.ctx, access.System(), inst.ID, sqldb.Page{})
		ops := opsPage.Items
		if err != nil || len(ops) != 1 || ops[0].State != provision.OpInProgress {
			t.Fatalf("operations of %s = %+v, %v; want one in progress", o.Reference(), ops, err)
		}
		return ops[0].ID
	}
	a, b := opOf(oa), opOf(ob)

	// An operation at an OSB provider, which is polled, never called back.
	br := osbtest.NewBroker(t, osbtest.Behaviour{Polls: 1000})
	e.peer(br, "peer", "0")
	e.a.Provision.MinPoll, e.a.Provision.MaxPoll = time.Hour, time.Hour // one call, no polls due
	peerDB, _ := e.a.Catalog.Offering(e.ctx, access.System(), "peer-test-db")
	op, _ := e.order(peerDB.ID, "small")
	e.drain()
	osbOp := opOf(op)

	body := []byte(`{"state":"succeeded","dashboard_url":"https://auto.test/a"}`)
	now := time.Now()
	forA := docSign(key, a, now, body)

	// Unauthenticated, every operation ID is answered alike.
	for _, sig := range []string{"", "t=1,v2=00", forA, docSign("another-secret-0123456", b, now, body)} {
		want := callback(t, srv.URL, sqldb.NewID(), sig, body)
		if want.status != 401 {
			t.Errorf("a callback for no operation, signed %q = %d %s, want 401", sig, want.status, want.body)
		}
		for name, id := range map[string]string{"a webhook operation": b, "an OSB operation": osbOp, "a malformed ID": "x%20y"} {
			if got := callback(t, srv.URL, id, sig, body); got != want {
				t.Errorf("signed %q, %s is answered %d %s; an unknown one %d %s", sig, name, got.status, got.body, want.status, want.body)
			}
		}
	}
	// A's signed body replayed against B is refused, and leaves B alone.
	if got := callback(t, srv.URL, b, forA, body); got.status != 401 {
		t.Fatalf("A's signed callback replayed against B = %d %s, want 401", got.status, got.body)
	}
	// Issue 15, finding 9 (review, nit): a body over api.MaxBodyBytes is
	// refused naming the limit, never cut to it and acted on, even when
	// what it would be cut to is a signed answer.
	signedPrefix := append([]byte(`{"state":"failed"}`), bytes.Repeat([]byte(" "), api.MaxBodyBytes-len(`{"state":"failed"}`))...)
	if got := callback(t, srv.URL, b, docSign(key, b, now, signedPrefix), append(signedPrefix, "trailing"...)); got.status != 422 ||
		!strings.Contains(got.body, fmt.Sprint(api.MaxBodyBytes)) {
		t.Fatalf("a callback over the body limit whose first %d bytes are signed = %d %s, want 422 naming the limit", api.MaxBodyBytes, got.status, got.body)
	}
	if st, _ := e.state(ob); st != orders.StateFulfilling {
		t.Fatalf("B after a callback over the body limit: %s, want still fulfilling", st)
	}
	// Signed for the operation it answers, as the doc says, it is accepted.
	if got := callback(t, srv.URL, a, forA, body); got.status != 200 {
		t.Fatalf("A's own signed callback = %d %s, want 200", got.status, got.body)
	}
	if st, inst := e.state(oa); st != orders.StateCompleted || inst.DashboardURL != "https://auto.test/a" {
		t.Fatalf("after A's callback: %s, %q", st, inst.DashboardURL)
	}
	if st, _ := e.state(ob); st != orders.StateFulfilling {
		t.Fatalf("B after A's replayed callback: %s, want still fulfilling", st)
	}
}
