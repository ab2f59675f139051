package provision

import (
	"bytes"
	"context"
	"crypto/hmac"
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

// SignatureHeader carries a webhook's signature: "t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" under the provider's secret>". Steward signs
// what it sends a webhook provider, and the provider signs its callbacks.
const SignatureHeader = "Steward-Signature"

// SignatureTolerance is how old a signed callback may be.
const SignatureTolerance = 5 * time.Minute

// Sign returns the signature header value for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body at now.
func Verify(secret, header string, body []byte, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errs.Unauthenticated("the %s header must be t=<unix seconds>,v1=<hex HMAC-SHA256>", SignatureHeader)
	}
	if d := now.Sub(time.Unix(n, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return errs.Unauthenticated("the signature is %s old; sign callbacks when sending them (clocks may differ by at most %s)", d.Round(time.Second), SignatureTolerance)
	}
	want := Sign(secret, time.Unix(n, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errs.Unauthenticated("the signature does not match the body under the provider's secret")
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
		req.Parameters = s.itemParameters(ctx, op.ItemID)
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
// body must be signed with the provider's secret. Errors: unauthenticated
// for a bad signature; conflict when the operation already ended.
func (s *Service) Callback(ctx context.Context, operationID, signature string, body []byte) (*Operation, error) {
	if !sqldb.ValidID(operationID) {
		return nil, errs.NotFound("operation %q not found", operationID)
	}
	op, err := getOp(ctx, s.db.Read(), operationID)
	if err != nil {
		return nil, err
	}
	pv, err := getProvider(ctx, s.db.Read(), op.ProviderID)
	if err != nil {
		return nil, err
	}
	key, err := s.box.Open(pv.secret)
	if err != nil {
		return nil, err
	}
	if pv.Kind != KindWebhook {
		return nil, errs.Invalid("operation %s is at an OSB provider, which is polled, not called back", operationID)
	}
	if err := Verify(key, signature, body, s.now()); err != nil {
		return nil, err
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
