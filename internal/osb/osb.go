// Package osb is the Open Service Broker API v2.17 on the wire: its
// messages, and a client that speaks it to a broker (any OSB broker,
// including another Steward). Steward's own broker (package broker) uses
// the same messages.
package osb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is the API version Steward speaks.
const Version = "2.17"

// The OSB headers.
const (
	HeaderVersion           = "X-Broker-API-Version"
	HeaderOriginatingID     = "X-Broker-API-Originating-Identity"
	HeaderRequestIdentity   = "X-Broker-API-Request-Identity"
	OriginatingPlatformName = "steward"
)

// Catalog is what a broker offers.
type Catalog struct {
	Services []Service `json:"services"`
}

// Service is an offering in OSB terms.
type Service struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	Description          string         `json:"description"`
	Tags                 []string       `json:"tags,omitempty"`
	Bindable             bool           `json:"bindable"`
	InstancesRetrievable bool           `json:"instances_retrievable,omitempty"`
	BindingsRetrievable  bool           `json:"bindings_retrievable,omitempty"`
	PlanUpdateable       bool           `json:"plan_updateable,omitempty"`
	Metadata             map[string]any `json:"metadata,omitempty"`
	Plans                []Plan         `json:"plans"`
}

// Plan is a plan in OSB terms.
type Plan struct {
	ID                     string         `json:"id"`
	Name                   string         `json:"name"`
	Description            string         `json:"description"`
	Metadata               *PlanMetadata  `json:"metadata,omitempty"`
	Free                   *bool          `json:"free,omitempty"`
	Bindable               *bool          `json:"bindable,omitempty"`
	PlanUpdateable         *bool          `json:"plan_updateable,omitempty"`
	MaximumPollingDuration int            `json:"maximum_polling_duration,omitempty"`
	Schemas                map[string]any `json:"schemas,omitempty"`
	// MaintenanceInfo is the version of what makes the plan's instances.
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// MaintenanceInfo is a plan's or an instance's maintenance information:
// Version is a semantic version (2.0) of what makes its instances, which a
// platform may send back when provisioning or updating.
type MaintenanceInfo struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// PlanMetadata carries the conventional display fields and costs.
type PlanMetadata struct {
	DisplayName string   `json:"displayName,omitempty"`
	Bullets     []string `json:"bullets,omitempty"`
	// Costs follows the profile's convention: amounts by lower-case
	// currency, per unit ("MONTHLY").
	Costs []Cost `json:"costs,omitempty"`
	// Steward extensions: the plan's exact list price.
	Currency string `json:"x-steward-currency,omitempty"`
	Price    string `json:"x-steward-price,omitempty"`
}

// Cost is one price of a plan; amounts are JSON numbers by currency.
type Cost struct {
	Amount map[string]json.Number `json:"amount"`
	Unit   string                 `json:"unit"`
}

// IsBindable resolves the plan's bindable against its service's.
func (p Plan) IsBindable(s Service) bool {
	if p.Bindable != nil {
		return *p.Bindable
	}
	return s.Bindable
}

// IsUpdateable resolves the plan's plan_updateable against its service's.
func (p Plan) IsUpdateable(s Service) bool {
	if p.PlanUpdateable != nil {
		return *p.PlanUpdateable
	}
	return s.PlanUpdateable
}

// ProvisionRequest is the body of PUT /v2/service_instances/:id.
type ProvisionRequest struct {
	ServiceID        string         `json:"service_id"`
	PlanID           string         `json:"plan_id"`
	Context          map[string]any `json:"context,omitempty"`
	OrganizationGUID string         `json:"organization_guid,omitempty"`
	SpaceGUID        string         `json:"space_guid,omitempty"`
	Parameters       map[string]any `json:"parameters,omitempty"`
	// MaintenanceInfo, when sent, must match the plan's in the catalog.
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// UpdateRequest is the body of PATCH /v2/service_instances/:id.
type UpdateRequest struct {
	ServiceID      string          `json:"service_id"`
	PlanID         string          `json:"plan_id,omitempty"`
	Context        map[string]any  `json:"context,omitempty"`
	Parameters     map[string]any  `json:"parameters,omitempty"`
	PreviousValues *PreviousValues `json:"previous_values,omitempty"`
	// MaintenanceInfo, when sent, must match the plan's in the catalog;
	// one newer than the instance's asks for a maintenance update.
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// PreviousValues is what an instance was before an update.
type PreviousValues struct {
	ServiceID       string           `json:"service_id,omitempty"`
	PlanID          string           `json:"plan_id,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// BindRequest is the body of PUT /v2/service_instances/:id/service_bindings/:bid.
type BindRequest struct {
	ServiceID    string         `json:"service_id"`
	PlanID       string         `json:"plan_id"`
	Context      map[string]any `json:"context,omitempty"`
	AppGUID      string         `json:"app_guid,omitempty"`
	BindResource map[string]any `json:"bind_resource,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
}

// LastOperation is the body of a last_operation answer.
type LastOperation struct {
	State       string `json:"state"`
	Description string `json:"description,omitempty"`
}

// The operation states.
const (
	InProgress = "in progress"
	Succeeded  = "succeeded"
	Failed     = "failed"
)

// ErrorBody is a broker's error answer.
type ErrorBody struct {
	Error       string `json:"error,omitempty"`
	Description string `json:"description,omitempty"`
	// InstanceUsable and UpdateRepeatable are only for a failed update or
	// deprovision (the spec defaults both to true).
	InstanceUsable   *bool `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool `json:"update_repeatable,omitempty"`
}

// Identity is the originating identity Steward sends: the person (or
// platform) the request is made for, and the org unit it is billed to.
type Identity struct {
	UserID  string `json:"user_id,omitempty"`
	Email   string `json:"email,omitempty"`
	OrgUnit string `json:"org_unit,omitempty"`
}

// Header renders the identity as the X-Broker-API-Originating-Identity value.
func (id Identity) Header(platform string) string {
	b, _ := json.Marshal(id)
	return platform + " " + base64.StdEncoding.EncodeToString(b)
}

// ParseIdentity reads an X-Broker-API-Originating-Identity value: the
// platform and its JSON object of properties.
func ParseIdentity(h string) (platform string, props map[string]any, err error) {
	platform, value, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || platform == "" {
		return "", nil, errors.New("the originating identity must be a platform name, a space and a base64 JSON object")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return "", nil, errors.New("the originating identity's value is not base64")
	}
	if err := json.Unmarshal(raw, &props); err != nil {
		return "", nil, errors.New("the originating identity's value is not a JSON object")
	}
	return platform, props, nil
}

// Error is a failed call to a broker. Definite errors are the broker's
// considered answer (4xx); the others (transport errors, timeouts, 5xx,
// answers that do not parse) leave the outcome unknown, so what was asked
// may exist at the broker: orphan mitigation applies to them.
type Error struct {
	Status      int
	Code        string
	Description string
	Definite    bool
	RetryAfter  time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Status > 0 {
		fmt.Fprintf(&b, "the broker answered %d", e.Status)
	} else {
		b.WriteString("the broker did not answer")
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	return b.String()
}

// Result is a broker's successful answer to a state-changing call.
type Result struct {
	Status int
	// Async: the broker accepted the request and works on it (202); poll
	// Operation's last_operation.
	Async        bool
	Operation    string
	DashboardURL string
	// Credentials come with a synchronous binding.
	Credentials map[string]any
	// Gone: the broker had nothing to delete (410), which counts as done.
	Gone       bool
	RetryAfter time.Duration
}

// Client calls one broker.
type Client struct {
	URL      string
	Username string
	Password string
	HTTP     *http.Client
}

// DefaultTimeout bounds one call to a broker; the spec asks platforms to
// wait at least 60 s, Steward's jobs retry and poll rather than wait longer.
const DefaultTimeout = 60 * time.Second

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

// do sends one request and returns the status, body and headers of the answer.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, id *Identity, body any) (int, []byte, http.Header, error) {
	u := strings.TrimRight(c.URL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, &Error{Description: err.Error(), Definite: true}
	}
	req.Header.Set(HeaderVersion, Version)
	req.Header.Set(HeaderRequestIdentity, uuid.NewString())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id != nil {
		req.Header.Set(HeaderOriginatingID, id.Header(OriginatingPlatformName))
	}
	if c.Username != "" || c.Password != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, nil, &Error{Description: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, nil, resp.Header, &Error{Status: resp.StatusCode, Description: "reading the answer: " + err.Error()}
	}
	return resp.StatusCode, b, resp.Header, nil
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// failure turns an unexpected answer into an Error.
func failure(status int, b []byte, h http.Header) *Error {
	e := &Error{Status: status, Definite: status >= 400 && status < 500, RetryAfter: retryAfter(h)}
	var eb ErrorBody
	if json.Unmarshal(b, &eb) == nil {
		e.Code, e.Description = eb.Error, eb.Description
	} else if status >= 400 && status < 500 {
		e.Description = strings.TrimSpace(string(b))
		if len(e.Description) > 200 {
			e.Description = e.Description[:200]
		}
	}
	if status < 400 {
		e.Description = fmt.Sprintf("unexpected status %d", status)
	}
	return e
}

// malformed is an answer with the right status and a body that does not parse.
func malformed(status int, err error) *Error {
	return &Error{Status: status, Description: "the answer is not valid JSON: " + err.Error()}
}

// Catalog fetches the broker's catalog.
func (c *Client) Catalog(ctx context.Context) (*Catalog, error) {
	status, b, h, err := c.do(ctx, http.MethodGet, "/v2/catalog", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, failure(status, b, h)
	}
	var cat Catalog
	if err := json.Unmarshal(b, &cat); err != nil {
		return nil, malformed(status, err)
	}
	for _, s := range cat.Services {
		if s.ID == "" || s.Name == "" || len(s.Plans) == 0 {
			return nil, &Error{Status: status, Description: "the catalog lists a service without an id, a name or plans"}
		}
	}
	return &cat, nil
}

// change decodes the answer to provision, update, deprovision, bind and unbind.
func change(status int, b []byte, h http.Header, err error, goneOK bool, okStatuses ...int) (*Result, error) {
	if err != nil {
		return nil, err
	}
	r := &Result{Status: status, RetryAfter: retryAfter(h)}
	switch {
	case status == http.StatusGone && goneOK:
		r.Gone = true
		return r, nil
	case status == http.StatusAccepted:
		r.Async = true
	default:
		found := false
		for _, s := range okStatuses {
			found = found || s == status
		}
		if !found {
			return nil, failure(status, b, h)
		}
	}
	var body struct {
		Operation    string         `json:"operation"`
		DashboardURL string         `json:"dashboard_url"`
		Credentials  map[string]any `json:"credentials"`
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			return nil, malformed(status, err)
		}
	} else if status != http.StatusOK || r.Async {
		return nil, malformed(status, errors.New("empty body"))
	}
	r.Operation, r.DashboardURL, r.Credentials = body.Operation, body.DashboardURL, body.Credentials
	return r, nil
}

func incomplete() url.Values { return url.Values{"accepts_incomplete": {"true"}} }

func instancePath(id string) string { return "/v2/service_instances/" + url.PathEscape(id) }

func bindingPath(instanceID, bindingID string) string {
	return instancePath(instanceID) + "/service_bindings/" + url.PathEscape(bindingID)
}

// Provision asks for an instance, accepting an asynchronous answer.
func (c *Client) Provision(ctx context.Context, id string, req ProvisionRequest, who *Identity) (*Result, error) {
	status, b, h, err := c.do(ctx, http.MethodPut, instancePath(id), incomplete(), who, req)
	return change(status, b, h, err, false, http.StatusCreated, http.StatusOK)
}

// Update changes an instance's plan or parameters.
func (c *Client) Update(ctx context.Context, id string, req UpdateRequest, who *Identity) (*Result, error) {
	status, b, h, err := c.do(ctx, http.MethodPatch, instancePath(id), incomplete(), who, req)
	return change(status, b, h, err, false, http.StatusOK)
}

// Deprovision deletes an instance; Gone counts as done.
func (c *Client) Deprovision(ctx context.Context, id, serviceID, planID string, who *Identity) (*Result, error) {
	q := incomplete()
	q.Set("service_id", serviceID)
	q.Set("plan_id", planID)
	status, b, h, err := c.do(ctx, http.MethodDelete, instancePath(id), q, who, nil)
	return change(status, b, h, err, true, http.StatusOK)
}

// Bind asks for a binding.
func (c *Client) Bind(ctx context.Context, instanceID, bindingID string, req BindRequest, who *Identity) (*Result, error) {
	status, b, h, err := c.do(ctx, http.MethodPut, bindingPath(instanceID, bindingID), incomplete(), who, req)
	return change(status, b, h, err, false, http.StatusCreated, http.StatusOK)
}

// Unbind deletes a binding; Gone counts as done.
func (c *Client) Unbind(ctx context.Context, instanceID, bindingID, serviceID, planID string, who *Identity) (*Result, error) {
	q := incomplete()
	q.Set("service_id", serviceID)
	q.Set("plan_id", planID)
	status, b, h, err := c.do(ctx, http.MethodDelete, bindingPath(instanceID, bindingID), q, who, nil)
	return change(status, b, h, err, true, http.StatusOK)
}

// Poll is a last_operation answer; Gone is a 410 (for a deprovision, done).
type Poll struct {
	LastOperation
	Gone       bool
	RetryAfter time.Duration
}

func poll(status int, b []byte, h http.Header, err error) (*Poll, error) {
	if err != nil {
		return nil, err
	}
	p := &Poll{RetryAfter: retryAfter(h)}
	if status == http.StatusGone {
		p.Gone = true
		return p, nil
	}
	if status != http.StatusOK {
		return nil, failure(status, b, h)
	}
	if err := json.Unmarshal(b, &p.LastOperation); err != nil {
		return nil, malformed(status, err)
	}
	switch p.State {
	case InProgress, Succeeded, Failed:
	default:
		return nil, &Error{Status: status, Description: fmt.Sprintf("last_operation state %q is not one of in progress, succeeded, failed", p.State)}
	}
	return p, nil
}

// LastOperation polls an instance's operation.
func (c *Client) LastOperation(ctx context.Context, id, serviceID, planID, operation string) (*Poll, error) {
	q := url.Values{"service_id": {serviceID}, "plan_id": {planID}}
	if operation != "" {
		q.Set("operation", operation)
	}
	status, b, h, err := c.do(ctx, http.MethodGet, instancePath(id)+"/last_operation", q, nil, nil)
	return poll(status, b, h, err)
}

// BindingLastOperation polls a binding's operation.
func (c *Client) BindingLastOperation(ctx context.Context, instanceID, bindingID, serviceID, planID, operation string) (*Poll, error) {
	q := url.Values{"service_id": {serviceID}, "plan_id": {planID}}
	if operation != "" {
		q.Set("operation", operation)
	}
	status, b, h, err := c.do(ctx, http.MethodGet, bindingPath(instanceID, bindingID)+"/last_operation", q, nil, nil)
	return poll(status, b, h, err)
}

// FetchBinding reads a binding's credentials (after an asynchronous bind).
func (c *Client) FetchBinding(ctx context.Context, instanceID, bindingID, serviceID, planID string) (map[string]any, error) {
	q := url.Values{"service_id": {serviceID}, "plan_id": {planID}}
	status, b, h, err := c.do(ctx, http.MethodGet, bindingPath(instanceID, bindingID), q, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, failure(status, b, h)
	}
	var body struct {
		Credentials map[string]any `json:"credentials"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, malformed(status, err)
	}
	return body.Credentials, nil
}
