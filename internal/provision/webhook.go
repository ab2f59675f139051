package provision

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// SignatureHeader carries a webhook's signature. Steward signs what it
// sends a webhook provider with "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" under the provider's secret>" (the body names the
// operation). A provider signs its callbacks with "t=<unix seconds>,v2=<hex
// HMAC-SHA256 of "<t>.<operation ID>.<body>">", so that a callback answers
// only the operation it was signed for (docs/provisioning.md).
const SignatureHeader = "Steward-Signature"

// SignatureTolerance is how old a signed callback may be.
const SignatureTolerance = 5 * time.Minute

// Sign returns the signature header value (v1) for a request body Steward
// sends at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts+".", body)
}

// SignCallback returns the signature header value (v2) of a callback for
// the operation: what a webhook provider sends with its callback.
func SignCallback(secret, operationID string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v2=" + mac(secret, ts+"."+operationID+".", body)
}

func mac(secret, prefix string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(prefix))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// signature is a parsed signature header.
type signature struct {
	ts     string
	at     time.Time
	v1, v2 string
}

// parseSignature reads a signature header and checks its age against now.
// Its errors depend on the header and the clock only.
func parseSignature(header, want string, now time.Time) (*signature, error) {
	var sig signature
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			sig.ts = v
		case "v1":
			sig.v1 = v
		case "v2":
			sig.v2 = v
		}
	}
	n, err := strconv.ParseInt(sig.ts, 10, 64)
	if err != nil || (want == "v1" && sig.v1 == "") || (want == "v2" && sig.v2 == "") {
		return nil, errs.Unauthenticated("the %s header must be t=<unix seconds>,%s=<hex HMAC-SHA256>", SignatureHeader, want)
	}
	sig.at = time.Unix(n, 0)
	if d := now.Sub(sig.at); d > SignatureTolerance || d < -SignatureTolerance {
		return nil, errs.Unauthenticated("the signature is %s old; sign callbacks when sending them (clocks may differ by at most %s)", d.Round(time.Second), SignatureTolerance)
	}
	return &sig, nil
}

// Verify checks a v1 signature header against body at now.
func Verify(secret, header string, body []byte, now time.Time) error {
	sig, err := parseSignature(header, "v1", now)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(mac(secret, sig.ts+".", body)), []byte(sig.v1)) {
		return errs.Unauthenticated("the signature does not match the body under the provider's secret")
	}
	return nil
}

// errCallbackSignature is the one answer to a callback whose signature
// does not verify, whether or not its operation exists.
func errCallbackSignature() error {
	return errs.Unauthenticated(`the signature does not match: sign "<t>.<operation ID>.<body>" with HMAC-SHA256 under the provider's secret and send it as t=<t>,v2=<hex>`)
}

// VerifyCallback checks a v2 signature header of a callback for the
// operation against body at now.
func VerifyCallback(secret, operationID, header string, body []byte, now time.Time) error {
	sig, err := parseSignature(header, "v2", now)
	if err != nil {
		return err
	}
	return sig.verify(secret, operationID, body)
}

func (sig *signature) verify(secret, operationID string, body []byte) error {
	if !hmac.Equal([]byte(mac(secret, sig.ts+"."+operationID+".", body)), []byte(sig.v2)) {
		return errCallbackSignature()
	}
	return nil
}

// webhookRequest is what Steward POSTs to a webhook provider.
type webhookRequest struct {
	Type        string         `json:"type"` // health, provision, update, deprovision, bind, unbind, cleanup
	OperationID string         `json:"operation_id,omitempty"`
	InstanceID  string         `json:"instance_id,omitempty"`
	BindingID   string         `json:"binding_id,omitempty"`
	Offering    string         `json:"offering,omitempty"`
	Plan        string         `json:"plan,omitempty"`
	RemotePlan  string         `json:"remote_plan,omitempty"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	OrgUnit     string         `json:"org_unit,omitempty"`
	Owner       string         `json:"owner,omitempty"`
	CallbackURL string         `json:"callback_url,omitempty"`
}

// WebhookAnswer is a webhook provider's answer, and the body of its callback.
type WebhookAnswer struct {
	// State is "succeeded", "failed" or (answering, not calling back) "in progress".
	State        string         `json:"state"`
	Description  string         `json:"description"`
	DashboardURL string         `json:"dashboard_url"`
	Credentials  map[string]any `json:"credentials"`
	// Outputs are what a provision made that later blueprint steps may use
	// (as steps.<name>.outputs), such as a host name.
	Outputs map[string]any `json:"outputs,omitempty"`
}

// callWebhook POSTs a signed request and reads the answer; 4xx answers are
// definite failures, transport errors, 5xx and unreadable answers are not.
func (s *Service) callWebhook(ctx context.Context, pv *Provider, req webhookRequest) (*WebhookAnswer, error) {
	key, err := s.box.Open(pv.secret)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, pv.URL, bytes.NewReader(body))
	if err != nil {
		return nil, &osb.Error{Description: err.Error(), Definite: true}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(SignatureHeader, Sign(key, s.now(), body))
	resp, err := s.HTTP.Do(hr)
	if err != nil {
		return nil, &osb.Error{Description: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var a WebhookAnswer
		json.Unmarshal(b, &a)
		return nil, &osb.Error{Status: resp.StatusCode, Description: a.Description, Definite: resp.StatusCode < 500}
	}
	var a WebhookAnswer
	if err := json.Unmarshal(b, &a); err != nil && req.Type != "health" {
		return nil, &osb.Error{Status: resp.StatusCode, Description: "the answer is not valid JSON: " + err.Error()}
	}
	return &a, nil
}

func (s *Service) callWebhookOp(ctx context.Context, pv *Provider, of *Offer, op *Operation, who *osb.Identity, target string, params map[string]any) (*callResult, error) {
	req := webhookRequest{Type: string(op.Kind), OperationID: op.ID, InstanceID: target, BindingID: op.BindingID, Offering: of.OfferingCode,
		Plan: of.PlanName, RemotePlan: of.RemotePlanID, Parameters: params, OrgUnit: who.OrgUnit, Owner: who.Email,
		CallbackURL: strings.TrimRight(s.PublicURL, "/") + "/api/v1/provider-callbacks/" + op.ID}
	if op.Kind == OpUpdate {
		params, err := s.itemParameters(ctx, op.ItemID)
		if err != nil {
			return nil, err
		}
		req.Parameters = params
	}
	a, err := s.callWebhook(ctx, pv, req)
	if err != nil {
		return nil, err
	}
	switch a.State {
	case osb.InProgress:
		return &callResult{async: true, operation: op.ID}, nil
	case osb.Succeeded:
		return &callResult{outcome: outcome{ok: true, description: a.Description, dashboardURL: a.DashboardURL, credentials: a.Credentials, outputs: a.Outputs}}, nil
	case osb.Failed:
		return &callResult{outcome: outcome{description: a.Description}}, nil
	}
	return nil, &osb.Error{Status: 200, Description: fmt.Sprintf("state %q is not succeeded, failed or in progress", a.State)}
}

// Callback is a webhook provider reporting how an operation ended. The
// callback must be signed with the provider's secret over the operation ID
// and the body (VerifyCallback). Until the signature is verified, every
// operation ID is answered alike, whether its operation exists, is at an
// OSB provider or not: unauthenticated. Errors: unauthenticated for a
// missing, stale or bad signature; invalid for a body that is not a final
// answer; conflict when the operation already ended.
func (s *Service) Callback(ctx context.Context, operationID, header string, body []byte) (*Operation, error) {
	sig, err := parseSignature(header, "v2", s.now())
	if err != nil {
		return nil, err
	}
	op, key, err := s.callbackKey(ctx, operationID)
	if err != nil {
		return nil, err
	}
	if err := sig.verify(key, operationID, body); err != nil || op == nil {
		return nil, errCallbackSignature()
	}
	var a WebhookAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, errs.Invalid("the callback is not JSON: %v", err)
	}
	if a.State != osb.Succeeded && a.State != osb.Failed {
		return nil, errs.Invalid("state must be succeeded or failed, not %q", a.State)
	}
	if op.Finished() {
		return nil, errs.Conflict("operation %s already %s", op.ID, op.State)
	}
	if err := s.finish(ctx, op, outcome{ok: a.State == osb.Succeeded, description: a.Description, dashboardURL: a.DashboardURL, credentials: a.Credentials,
		outputs: a.Outputs}); err != nil {
		return nil, err
	}
	return getOp(ctx, s.db.Read(), op.ID)
}

// callbackKey is the operation a callback names and its provider's secret,
// when the operation exists at a webhook provider; otherwise a nil
// operation and a random key, so that the signature is checked (and
// fails) in the same way.
func (s *Service) callbackKey(ctx context.Context, operationID string) (*Operation, string, error) {
	none := func() (*Operation, string, error) { return nil, rand.Text(), nil }
	if !sqldb.ValidID(operationID) {
		return none()
	}
	op, err := getOp(ctx, s.db.Read(), operationID)
	if errs.Is(err, errs.CodeNotFound) {
		return none()
	}
	if err != nil {
		return nil, "", err
	}
	pv, err := getProvider(ctx, s.db.Read(), op.ProviderID)
	if err != nil {
		return nil, "", err
	}
	if pv.Kind != KindWebhook {
		return none()
	}
	key, err := s.box.Open(pv.secret)
	if err != nil {
		return nil, "", err
	}
	return op, key, nil
}
