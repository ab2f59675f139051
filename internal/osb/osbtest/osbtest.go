// Package osbtest is for tests that speak the Open Service Broker API: the
// spec's own openapi.yaml (v2.17, Apache 2.0, from
// github.com/openservicebrokerapi/servicebroker; the same file as
// ../shared/specs/osb-openapi-v2.17.yaml) to check requests and
// responses against, and Broker, a small independent broker over real
// HTTP whose behaviour a test sets (asynchronous, failing, slow, broken).
package osbtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed osb-openapi-v2.17.yaml
var spec []byte

// Validator checks OSB exchanges against the spec, for a broker at base.
type Validator struct{ router routers.Router }

// proseAnswers are answers the OSB 2.17 prose (osb-spec-v2.17.md) gives
// that its openapi.yaml leaves out; the file says "If the spec and this
// document conflict, the spec is the authority", so the validator adds
// them, each with an Error body. Path "" means every operation. (The
// file's provision and update bodies also lack the prose's
// maintenance_info; it passes as an extra field, which the file allows.
// The prose's "MUST be a non-empty string" on REQUIRED strings is not in
// the file either: tests send such requests as out of spec.)
var proseAnswers = []struct {
	method, path, status, rule string
}{
	// "Platform to Service Broker Authentication": "MUST return a 401
	// Unauthorized response if the authentication fails" (the file lists
	// 401 for some operations only).
	{"", "", "401", "Platform to Service Broker Authentication"},
	// "API Version Header": "MAY reject the request with 412 Precondition
	// Failed" (a version the broker cannot serve), and "MAY reject the
	// request with 400 Bad Request" (no header).
	{"", "", "412", "API Version Header"},
	{"", "", "400", "API Version Header"},
	// "Service Broker Errors": "MUST return an appropriate HTTP response
	// code"; the prose speaks of the 5xx range, the file of none. Steward
	// answers 500 for its own failures, 503 when it cannot now (a
	// cancelled request), and 429 to a guesser of a platform's password (a
	// code the spec names nowhere).
	{"", "", "500", "Service Broker Errors"},
	{"", "", "503", "Service Broker Errors"},
	{"", "", "429", "Service Broker Errors"},
	// "Fetching a Service Instance": "422 Unprocessable Entity: MUST be
	// returned if the Service Instance is being updated" (ConcurrencyError).
	{"get", "/v2/service_instances/{instance_id}", "422", "Fetching a Service Instance"},
}

// NewValidator loads the spec for a broker whose API root (where /v2 starts) is base.
func NewValidator(t testing.TB, base string) *Validator {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatalf("load the OSB spec: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	errorSchema := &openapi3.SchemaRef{Ref: "#/components/schemas/Error", Value: doc.Components.Schemas["Error"].Value}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, a := range proseAnswers {
				if (a.path != "" && a.path != path) || (a.method != "" && !strings.EqualFold(a.method, method)) || op.Responses.Value(a.status) != nil {
					continue
				}
				op.Responses.Set(a.status, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("from the prose: " + a.rule).WithJSONSchemaRef(errorSchema)})
			}
		}
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &Validator{router: r}
}

func (v *Validator) input(req *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s is not in the OSB spec: %w", req.Method, req.URL.Path, err)
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	return &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}, nil
}

// Request checks a request (with its body) against the spec.
func (v *Validator) Request(req *http.Request, body []byte) error {
	in, err := v.input(req, body)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), in)
}

// Response checks a response against the spec's responses for the request.
func (v *Validator) Response(req *http.Request, body []byte, status int, h http.Header, got []byte) error {
	in, err := v.input(req, body)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: h, Body: io.NopCloser(bytes.NewReader(got)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}})
}

// Behaviour sets how the broker answers.
type Behaviour struct {
	// Polls is how many last_operation polls answer "in progress" before
	// the outcome; 0 answers provision and deprovision synchronously.
	Polls int
	// RetryAfter is sent on 202s and polls, in seconds (0: none).
	RetryAfter int
	// FailProvision makes provisioning end in "failed".
	FailProvision bool
	// Provision5xx answers provision with 500 (the outcome unknown).
	Provision5xx bool
	// Malformed answers provision with 201 and a body that is not JSON.
	Malformed bool
	// Refuse answers provision with 422 and this error code.
	Refuse string
	// Block, when set, holds every request until it is closed (timeouts).
	Block chan struct{}
}

// Instance is what the broker holds.
type Instance struct {
	ServiceID, PlanID string
	Parameters        map[string]any
	Identity          string
	pending           int
	deleting          bool
	failed            bool
}

// Broker is a test OSB broker with one service and two plans.
type Broker struct {
	*httptest.Server
	ServiceID, SmallPlan, LargePlan string
	Username, Password              string

	mu        sync.Mutex
	behaviour Behaviour
	instances map[string]*Instance
	bindings  map[string]string // binding → instance
	log       []string
	errs      []error
	validator *Validator
}

// NewBroker starts a broker; it is closed when the test ends.
func NewBroker(t testing.TB, b Behaviour) *Broker {
	br := &Broker{ServiceID: "svc-db-0001", SmallPlan: "plan-small-0001", LargePlan: "plan-large-0001", Username: "broker", Password: "s3cret-broker",
		behaviour: b, instances: map[string]*Instance{}, bindings: map[string]string{}}
	br.Server = httptest.NewServer(http.HandlerFunc(br.serve))
	br.validator = NewValidator(t, br.URL)
	t.Cleanup(br.Close)
	t.Cleanup(func() {
		for _, err := range br.Errors() {
			t.Errorf("the broker got a request the OSB spec does not allow: %v", err)
		}
	})
	return br
}

// Set changes the behaviour.
func (br *Broker) Set(b Behaviour) {
	br.mu.Lock()
	br.behaviour = b
	br.mu.Unlock()
}

// Instances returns a copy of what the broker holds.
func (br *Broker) Instances() map[string]Instance {
	br.mu.Lock()
	defer br.mu.Unlock()
	out := map[string]Instance{}
	for k, v := range br.instances {
		if !v.failed {
			out[k] = *v
		}
	}
	return out
}

// Log is the requests received, as "METHOD path".
func (br *Broker) Log() []string {
	br.mu.Lock()
	defer br.mu.Unlock()
	return append([]string(nil), br.log...)
}

// Errors are the spec violations seen in requests.
func (br *Broker) Errors() []error {
	br.mu.Lock()
	defer br.mu.Unlock()
	return append([]error(nil), br.errs...)
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (br *Broker) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	br.mu.Lock()
	b := br.behaviour
	br.log = append(br.log, r.Method+" "+r.URL.Path)
	if err := br.validator.Request(r, body); err != nil {
		br.errs = append(br.errs, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
	}
	br.mu.Unlock()
	if b.Block != nil {
		select {
		case <-b.Block:
		case <-r.Context().Done():
			return
		}
	}
	if u, p, ok := r.BasicAuth(); !ok || u != br.Username || p != br.Password {
		write(w, http.StatusUnauthorized, map[string]string{"description": "bad credentials"})
		return
	}
	if r.Header.Get("X-Broker-API-Version") == "" {
		write(w, http.StatusPreconditionFailed, map[string]string{"description": "no version"})
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	br.mu.Lock()
	defer br.mu.Unlock()
	if b.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(b.RetryAfter))
	}
	switch {
	case r.Method == "GET" && parts[0] == "catalog":
		tru, fal := true, false
		write(w, 200, map[string]any{"services": []any{map[string]any{"id": br.ServiceID, "name": "test-db", "description": "A database from the test broker",
			"bindable": true, "plan_updateable": true, "plans": []any{
				map[string]any{"id": br.SmallPlan, "name": "small", "description": "Small", "free": fal, "bindable": tru,
					"metadata": map[string]any{"costs": []any{map[string]any{"amount": map[string]any{"eur": 10.0}, "unit": "MONTHLY"}}}},
				map[string]any{"id": br.LargePlan, "name": "large", "description": "Large", "free": fal,
					"metadata": map[string]any{"costs": []any{map[string]any{"amount": map[string]any{"eur": 40.5}, "unit": "MONTHLY"}}}},
			}}}})
	case parts[0] != "service_instances" || len(parts) < 2:
		write(w, 404, map[string]string{})
	case len(parts) == 2 && r.Method == "PUT":
		br.provision(w, r, parts[1], body, b)
	case len(parts) == 2 && r.Method == "PATCH":
		in := br.instances[parts[1]]
		var req struct {
			PlanID string `json:"plan_id"`
		}
		json.Unmarshal(body, &req)
		if in == nil {
			write(w, 400, map[string]string{"description": "no such instance"})
			return
		}
		if req.PlanID != "" {
			in.PlanID = req.PlanID
		}
		write(w, 200, map[string]string{})
	case len(parts) == 2 && r.Method == "DELETE":
		in := br.instances[parts[1]]
		if in == nil || in.failed {
			delete(br.instances, parts[1])
			write(w, 410, map[string]string{})
			return
		}
		if b.Polls > 0 {
			in.deleting, in.pending = true, b.Polls
			write(w, 202, map[string]string{"operation": "deprovision"})
			return
		}
		delete(br.instances, parts[1])
		write(w, 200, map[string]string{})
	case len(parts) == 3 && parts[2] == "last_operation":
		in := br.instances[parts[1]]
		if in == nil {
			write(w, 410, map[string]string{})
			return
		}
		if in.pending > 0 {
			in.pending--
			write(w, 200, map[string]string{"state": "in progress", "description": "working"})
			return
		}
		switch {
		case in.deleting:
			delete(br.instances, parts[1])
			write(w, 410, map[string]string{})
		case in.failed:
			write(w, 200, map[string]string{"state": "failed", "description": "the test broker ran out of disks"})
		default:
			write(w, 200, map[string]string{"state": "succeeded"})
		}
	case len(parts) == 4 && parts[2] == "service_bindings" && r.Method == "PUT":
		if br.instances[parts[1]] == nil {
			write(w, 400, map[string]string{"description": "no such instance"})
			return
		}
		br.bindings[parts[3]] = parts[1]
		write(w, 201, map[string]any{"credentials": map[string]any{"uri": "postgres://app:pw-" + parts[3][:8] + "@db.test/" + parts[1][:8], "username": "app"}})
	case len(parts) == 4 && parts[2] == "service_bindings" && r.Method == "DELETE":
		if _, ok := br.bindings[parts[3]]; !ok {
			write(w, 410, map[string]string{})
			return
		}
		delete(br.bindings, parts[3])
		write(w, 200, map[string]string{})
	default:
		write(w, 404, map[string]string{})
	}
}

func (br *Broker) provision(w http.ResponseWriter, r *http.Request, id string, body []byte, b Behaviour) {
	var req struct {
		ServiceID  string         `json:"service_id"`
		PlanID     string         `json:"plan_id"`
		Parameters map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		write(w, 400, map[string]string{"description": err.Error()})
		return
	}
	if b.Refuse != "" {
		write(w, 422, map[string]string{"error": b.Refuse, "description": "refused by the test broker"})
		return
	}
	if old := br.instances[id]; old != nil && !old.failed {
		if old.PlanID != req.PlanID {
			write(w, 409, map[string]string{})
			return
		}
		if old.pending > 0 {
			write(w, 202, map[string]string{"operation": "provision"})
			return
		}
		write(w, 200, map[string]string{"dashboard_url": "https://db.test/" + id})
		return
	}
	in := &Instance{ServiceID: req.ServiceID, PlanID: req.PlanID, Parameters: req.Parameters, Identity: r.Header.Get("X-Broker-API-Originating-Identity")}
	br.instances[id] = in
	switch {
	case b.Provision5xx:
		write(w, 500, map[string]string{"description": "the test broker crashed (but made the instance)"})
	case b.Malformed:
		w.WriteHeader(201)
		w.Write([]byte("{not json"))
	case b.Polls > 0:
		in.pending, in.failed = b.Polls, b.FailProvision
		write(w, 202, map[string]string{"operation": "provision", "dashboard_url": "https://db.test/" + id})
	case b.FailProvision:
		delete(br.instances, id)
		write(w, 400, map[string]string{"error": "BadRequest", "description": "the test broker refuses"})
	default:
		write(w, 201, map[string]string{"dashboard_url": "https://db.test/" + id})
	}
}

// Checked is a reverse proxy to the broker whose API root is target that
// checks every exchange against the spec, as Validator does: point a
// platform (or Steward's OSB client) at its URL and the test fails, when
// it ends, on any request or answer the spec does not allow. When the
// broker does not answer, the proxy drops the connection, so the caller
// sees what it would have seen without the proxy.
func Checked(t testing.TB, target string) *httptest.Server {
	var mu sync.Mutex
	var problems []error
	var v *Validator
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		check := func(err error) {
			if err != nil {
				mu.Lock()
				problems = append(problems, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
				mu.Unlock()
			}
		}
		check(v.Request(r, body))
		out, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(target, "/")+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			panic(err)
		}
		out.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(out)
		var got []byte
		if err == nil {
			got, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if err != nil {
			if conn, _, herr := w.(http.Hijacker).Hijack(); herr == nil {
				conn.Close()
			}
			return
		}
		check(v.Response(r, body, res.StatusCode, res.Header, got))
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		w.Write(got)
	}))
	srv.Start()
	v = NewValidator(t, srv.URL)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, err := range problems {
			t.Errorf("an exchange with the broker breaks the OSB spec: %v", err)
		}
	})
	t.Cleanup(srv.Close)
	return srv
}
