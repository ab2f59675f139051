// Package api is Steward's REST/JSON API under /api/v1. Handlers are thin:
// they decode and validate the request's shape, call a domain service with
// the authenticated principal (the service decides what is allowed), and
// encode the result. Errors become RFC 9457 problem+json responses through
// one adapter. Every route is registered in Routes, and api/openapi.yaml
// describes each of them; a test holds the two together.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/idempotency"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/jsontext"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sso"
	"github.com/steward-itaas/steward/internal/webhook"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 1 << 20

// Server is the REST API.
type Server struct {
	Identity *identity.Service
	Audit    *audit.Service
	Jobs     *jobs.Runner
	Catalog  *catalog.Catalog
	Orders   *orders.Service
	Metering *metering.Service
	Rating   *rating.Service
	Billing  *billing.Service
	// Provision runs providers, placement, operations and bindings.
	Provision *provision.Service
	// Broker is Steward's OSB API (its platforms are managed here).
	Broker *broker.Broker
	// SLA is service level management.
	SLA *sla.Service
	// Desk is the service desk.
	Desk *desk.Service
	// Knowledge is the desk's knowledge base.
	Knowledge *knowledge.Service
	// Webhooks are the outbound webhook subscriptions and their deliveries.
	Webhooks *webhook.Service
	// Notify is the notification centre: inboxes, preferences, the mail log.
	Notify *notify.Service
	// Idempotency remembers answers to requests sent with an Idempotency-Key.
	Idempotency *idempotency.Store
	// SSO is single sign-on: identity providers and their mapping rules.
	SSO     *sso.Service
	Log     *slog.Logger
	Metrics *middleware.Metrics
	// Spec is api/openapi.yaml, served at /api/v1/openapi.yaml and .json.
	SpecYAML, SpecJSON []byte
}

// Route is one registered endpoint.
type Route struct {
	Method, Path string
	// Public routes need no authentication.
	Public  bool
	handler func(w http.ResponseWriter, r *http.Request) error
}

// Routes lists every endpoint of the API. The OpenAPI test walks it.
func (s *Server) Routes() []Route {
	return append([]Route{
		{Method: "GET", Path: "/api/v1/openapi.yaml", Public: true, handler: s.spec("application/yaml", s.SpecYAML)},
		{Method: "GET", Path: "/api/v1/openapi.json", Public: true, handler: s.spec("application/json", s.SpecJSON)},
		{Method: "GET", Path: "/api/v1/me", handler: s.me},
		{Method: "POST", Path: "/api/v1/me/password", handler: s.changePassword},
		{Method: "GET", Path: "/api/v1/roles", handler: s.roles},
		{Method: "GET", Path: "/api/v1/org-units", handler: s.listOrgUnits},
		{Method: "POST", Path: "/api/v1/org-units", handler: s.createOrgUnit},
		{Method: "GET", Path: "/api/v1/org-units/{id}", handler: s.getOrgUnit},
		{Method: "PATCH", Path: "/api/v1/org-units/{id}", handler: s.updateOrgUnit},
		{Method: "DELETE", Path: "/api/v1/org-units/{id}", handler: s.deleteOrgUnit},
		{Method: "GET", Path: "/api/v1/users", handler: s.listUsers},
		{Method: "POST", Path: "/api/v1/users", handler: s.createUser},
		{Method: "GET", Path: "/api/v1/users/{id}", handler: s.getUser},
		{Method: "PATCH", Path: "/api/v1/users/{id}", handler: s.updateUser},
		{Method: "GET", Path: "/api/v1/users/{id}/grants", handler: s.listGrants},
		{Method: "DELETE", Path: "/api/v1/users/{id}/totp", handler: s.resetTOTP},
		{Method: "POST", Path: "/api/v1/grants", handler: s.createGrant},
		{Method: "DELETE", Path: "/api/v1/grants/{id}", handler: s.deleteGrant},
		{Method: "GET", Path: "/api/v1/groups", handler: s.listGroups},
		{Method: "POST", Path: "/api/v1/groups", handler: s.createGroup},
		{Method: "GET", Path: "/api/v1/groups/{id}", handler: s.getGroup},
		{Method: "PUT", Path: "/api/v1/groups/{id}", handler: s.updateGroup},
		{Method: "DELETE", Path: "/api/v1/groups/{id}", handler: s.deleteGroup},
		{Method: "GET", Path: "/api/v1/groups/{id}/grants", handler: s.listGroupGrants},
		{Method: "PUT", Path: "/api/v1/groups/{id}/members/{user_id}", handler: s.setMember(true)},
		{Method: "DELETE", Path: "/api/v1/groups/{id}/members/{user_id}", handler: s.setMember(false)},
		{Method: "GET", Path: "/api/v1/tokens", handler: s.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", handler: s.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", handler: s.revokeToken},
		{Method: "GET", Path: "/api/v1/scim-tokens", handler: s.listDirectoryTokens},
		{Method: "POST", Path: "/api/v1/scim-tokens", handler: s.createDirectoryToken},
		{Method: "GET", Path: "/api/v1/audit", handler: s.listAudit},
		{Method: "GET", Path: "/api/v1/audit/verify", handler: s.verifyAudit},
		{Method: "GET", Path: "/api/v1/jobs", handler: s.listJobs},
		{Method: "POST", Path: "/api/v1/jobs", handler: s.enqueueJob},
		{Method: "GET", Path: "/api/v1/jobs/{id}", handler: s.getJob},

		{Method: "GET", Path: "/api/v1/services", handler: s.listServices},
		{Method: "POST", Path: "/api/v1/services", handler: s.createService},
		{Method: "GET", Path: "/api/v1/services/{id}", handler: s.getService},
		{Method: "PUT", Path: "/api/v1/services/{id}", handler: s.updateService},
		{Method: "GET", Path: "/api/v1/services/{id}/transitions", handler: s.listTransitions},
		{Method: "POST", Path: "/api/v1/services/{id}/transitions", handler: s.transitionService},
		{Method: "GET", Path: "/api/v1/services/{id}/support", handler: s.serviceSupport},
		{Method: "GET", Path: "/api/v1/service-map", handler: s.serviceMap},
		{Method: "GET", Path: "/api/v1/service-map/impact", handler: s.impact},
		{Method: "GET", Path: "/api/v1/service-map/dependencies", handler: s.listDependencies},
		{Method: "POST", Path: "/api/v1/service-map/dependencies", handler: s.addDependency},
		{Method: "DELETE", Path: "/api/v1/service-map/dependencies/{id}", handler: s.removeDependency},
		{Method: "GET", Path: "/api/v1/config-items", handler: s.listConfigItems},
		{Method: "POST", Path: "/api/v1/config-items", handler: s.createConfigItem},
		{Method: "GET", Path: "/api/v1/catalog/offerings", handler: s.listOfferings},
		{Method: "POST", Path: "/api/v1/catalog/offerings", handler: s.createOffering},
		{Method: "GET", Path: "/api/v1/catalog/offerings/{id}", handler: s.getOffering},
		{Method: "PUT", Path: "/api/v1/catalog/offerings/{id}", handler: s.updateOffering},
		{Method: "GET", Path: "/api/v1/catalog/summary", handler: s.catalogSummary},
		{Method: "GET", Path: "/api/v1/quotas", handler: s.listQuotas},
		{Method: "PUT", Path: "/api/v1/quotas", handler: s.setQuota},

		{Method: "POST", Path: "/api/v1/quotes", handler: s.quote},
		{Method: "GET", Path: "/api/v1/orders", handler: s.listOrders},
		{Method: "POST", Path: "/api/v1/orders", handler: s.createOrder},
		{Method: "GET", Path: "/api/v1/orders/{id}", handler: s.getOrder},
		{Method: "POST", Path: "/api/v1/orders/{id}/items", handler: s.addItem},
		{Method: "DELETE", Path: "/api/v1/orders/{id}/items/{item_id}", handler: s.removeItem},
		{Method: "POST", Path: "/api/v1/orders/{id}/submit", handler: s.submitOrder},
		{Method: "POST", Path: "/api/v1/orders/{id}/cancel", handler: s.cancelOrder},
		{Method: "GET", Path: "/api/v1/orders/{id}/events", handler: s.orderEvents},
		{Method: "GET", Path: "/api/v1/orders/{id}/approvals", handler: s.orderApprovals},
		{Method: "GET", Path: "/api/v1/approvals", handler: s.inbox},
		{Method: "POST", Path: "/api/v1/approvals/{id}/decision", handler: s.decide},
		{Method: "GET", Path: "/api/v1/approval-policies", handler: s.listPolicies},
		{Method: "POST", Path: "/api/v1/approval-policies", handler: s.savePolicy},
		{Method: "PUT", Path: "/api/v1/approval-policies/{id}", handler: s.savePolicy},
		{Method: "DELETE", Path: "/api/v1/approval-policies/{id}", handler: s.deletePolicy},
		{Method: "GET", Path: "/api/v1/tasks", handler: s.listTasks},
		{Method: "POST", Path: "/api/v1/tasks/{id}/complete", handler: s.completeTask},
		{Method: "GET", Path: "/api/v1/instances", handler: s.listInstances},
		{Method: "GET", Path: "/api/v1/instances/{id}", handler: s.getInstance},
		{Method: "POST", Path: "/api/v1/instances/{id}/deprovision", handler: s.deprovision},
		{Method: "POST", Path: "/api/v1/instances/{id}/change", handler: s.changeInstance},
		{Method: "GET", Path: "/api/v1/instances/{id}/operations", handler: s.listOperations},
		{Method: "GET", Path: "/api/v1/instances/{id}/components", handler: s.listComponents},
		{Method: "GET", Path: "/api/v1/instances/{id}/bindings", handler: s.listBindings},
		{Method: "POST", Path: "/api/v1/instances/{id}/bindings", handler: s.createBinding},
		{Method: "GET", Path: "/api/v1/instances/{id}/bindings/{binding}", handler: s.getBinding},
		{Method: "DELETE", Path: "/api/v1/instances/{id}/bindings/{binding}", handler: s.deleteBinding},
		{Method: "GET", Path: "/api/v1/providers", handler: s.listProviders},
		{Method: "POST", Path: "/api/v1/providers", handler: s.createProvider},
		{Method: "GET", Path: "/api/v1/providers/{id}", handler: s.getProvider},
		{Method: "PUT", Path: "/api/v1/providers/{id}", handler: s.updateProvider},
		{Method: "POST", Path: "/api/v1/providers/{id}/check", handler: s.checkProvider},
		{Method: "POST", Path: "/api/v1/providers/{id}/sync", handler: s.syncProvider},
		{Method: "PUT", Path: "/api/v1/providers/{id}/offers", handler: s.setOffer},
		{Method: "GET", Path: "/api/v1/placement-policies", handler: s.listPlacementPolicies},
		{Method: "PUT", Path: "/api/v1/placement-policies/{offering}", handler: s.setPlacementPolicy},
		{Method: "POST", Path: "/api/v1/provider-callbacks/{operation}", Public: true, handler: s.providerCallback},
		{Method: "GET", Path: "/api/v1/blueprints", handler: s.listBlueprints},
		{Method: "POST", Path: "/api/v1/blueprints", handler: s.uploadBlueprint},
		{Method: "POST", Path: "/api/v1/blueprints/validate", handler: s.validateBlueprint},
		{Method: "GET", Path: "/api/v1/blueprints/{code}", handler: s.listBlueprintVersions},
		{Method: "GET", Path: "/api/v1/blueprints/{code}/versions/{version}", handler: s.getBlueprintVersion},
		{Method: "GET", Path: "/api/v1/platforms", handler: s.listPlatforms},
		{Method: "POST", Path: "/api/v1/platforms", handler: s.registerPlatform},

		{Method: "POST", Path: "/api/v1/events", handler: s.ingest},
		{Method: "GET", Path: "/api/v1/meters", handler: s.listMeters},
		{Method: "GET", Path: "/api/v1/meters/{code}", handler: s.getMeter},
		{Method: "PUT", Path: "/api/v1/meters/{code}", handler: s.saveMeter},
		{Method: "GET", Path: "/api/v1/usage", handler: s.usage},
		{Method: "GET", Path: "/api/v1/offerings/{offering}/plans/{plan}/prices", handler: s.listPrices},
		{Method: "POST", Path: "/api/v1/offerings/{offering}/plans/{plan}/prices", handler: s.addPrice},
		{Method: "GET", Path: "/api/v1/billing/accounts", handler: s.listAccounts},
		{Method: "GET", Path: "/api/v1/billing/accounts/{org_unit}", handler: s.getAccount},
		{Method: "PUT", Path: "/api/v1/billing/accounts/{org_unit}", handler: s.saveAccount},
		{Method: "GET", Path: "/api/v1/billing/accounts/{org_unit}/balance", handler: s.getBalance},
		{Method: "GET", Path: "/api/v1/billing/accounts/{org_unit}/entries", handler: s.listEntries},
		{Method: "POST", Path: "/api/v1/billing/accounts/{org_unit}/refunds", handler: s.refund},
		{Method: "GET", Path: "/api/v1/billing/runs", handler: s.listRuns},
		{Method: "POST", Path: "/api/v1/billing/runs", handler: s.startRun},
		{Method: "GET", Path: "/api/v1/billing/runs/{run}", handler: s.getRun},
		{Method: "GET", Path: "/api/v1/billing/documents", handler: s.listDocuments},
		{Method: "GET", Path: "/api/v1/billing/documents/{id}", handler: s.getDocument},
		{Method: "GET", Path: "/api/v1/billing/documents/{id}/lines", handler: s.listDocumentLines},
		{Method: "POST", Path: "/api/v1/billing/documents/{id}/finalise", handler: s.finaliseDocument},
		{Method: "POST", Path: "/api/v1/billing/documents/{id}/void", handler: s.voidDocument},
		{Method: "POST", Path: "/api/v1/billing/documents/{id}/payments", handler: s.recordPayment},
		{Method: "POST", Path: "/api/v1/billing/documents/{id}/lines", handler: s.addLine},
		{Method: "POST", Path: "/api/v1/billing/documents/{id}/credit-notes", handler: s.creditNote},
		{Method: "GET", Path: "/api/v1/billing/export", handler: s.export},

		{Method: "GET", Path: "/api/v1/agreements", handler: s.listAgreements},
		{Method: "POST", Path: "/api/v1/agreements", handler: s.saveAgreement},
		{Method: "GET", Path: "/api/v1/agreements/{code}", handler: s.getAgreement},
		{Method: "PUT", Path: "/api/v1/agreements/{code}", handler: s.saveAgreement},
		{Method: "GET", Path: "/api/v1/agreements/{code}/review", handler: s.agreementReview},
		{Method: "GET", Path: "/api/v1/agreements/{code}/targets/{target}/burn", handler: s.agreementBurn},
		{Method: "POST", Path: "/api/v1/agreements/evaluate", handler: s.evaluate},
		{Method: "GET", Path: "/api/v1/breaches", handler: s.listBreaches},
		{Method: "GET", Path: "/api/v1/breaches/{id}", handler: s.getBreach},
		{Method: "GET", Path: "/api/v1/outages", handler: s.listOutages},
		{Method: "POST", Path: "/api/v1/outages", handler: s.recordOutage},
		{Method: "GET", Path: "/api/v1/outages/{id}", handler: s.getOutage},
		{Method: "PUT", Path: "/api/v1/outages/{id}", handler: s.updateOutage},
		{Method: "GET", Path: "/api/v1/incidents", handler: s.listIncidents},
		{Method: "POST", Path: "/api/v1/incidents", handler: s.saveIncident},
		{Method: "PUT", Path: "/api/v1/incidents/{id}", handler: s.saveIncident},
		{Method: "POST", Path: "/api/v1/alertmanager", handler: s.alertmanager},

		{Method: "GET", Path: "/api/v1/notifications", handler: s.listNotifications},
		{Method: "GET", Path: "/api/v1/notifications/unread", handler: s.countNotifications},
		{Method: "POST", Path: "/api/v1/notifications/read", handler: s.readAllNotifications},
		{Method: "POST", Path: "/api/v1/notifications/{id}/read", handler: s.readNotification},
		{Method: "GET", Path: "/api/v1/notification-preferences", handler: s.getNotificationPreferences},
		{Method: "PUT", Path: "/api/v1/notification-preferences", handler: s.putNotificationPreferences},
		{Method: "GET", Path: "/api/v1/mails", handler: s.listMails},

		{Method: "GET", Path: "/api/v1/identity-providers", handler: s.listIdentityProviders},
		{Method: "POST", Path: "/api/v1/identity-providers", handler: s.createIdentityProvider},
		{Method: "GET", Path: "/api/v1/identity-providers/{id}", handler: s.getIdentityProvider},
		{Method: "PUT", Path: "/api/v1/identity-providers/{id}", handler: s.updateIdentityProvider},
		{Method: "DELETE", Path: "/api/v1/identity-providers/{id}", handler: s.deleteIdentityProvider},
		{Method: "POST", Path: "/api/v1/identity-providers/{id}/preview", handler: s.previewIdentityProvider},
		{Method: "GET", Path: "/api/v1/sign-in-settings", handler: s.getSignInSettings},
		{Method: "PUT", Path: "/api/v1/sign-in-settings", handler: s.putSignInSettings},
	}, append(append(append(s.webhookRoutes(), s.deskRoutes()...), s.changeRoutes()...), s.knowledgeRoutes()...)...)
}

// Register adds every route to mux.
func (s *Server) Register(mux *http.ServeMux) {
	for _, rt := range s.Routes() {
		pattern := rt.Method + " " + rt.Path
		var h http.Handler = s.adapt(rt.handler)
		if !rt.Public {
			h = s.authenticate(s.idempotent(h))
		}
		mux.Handle(pattern, s.Metrics.Wrap(pattern, h))
	}
	// Anything else under /api/ is a problem+json 404, not the portal.
	mux.Handle("/api/", s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return errs.NotFound("there is no %s %s in the API; see /api/v1/openapi.yaml", r.Method, r.URL.Path)
	}))
}

func (s *Server) spec(contentType string, body []byte) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", contentType)
		_, err := w.Write(body)
		return err
	}
}

// adapt turns an error-returning handler into an http.Handler that answers
// errors as problem+json and logs internal ones.
func (s *Server) adapt(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.problem(w, r, err)
		}
	})
}

// Problem is an RFC 9457 problem details object, with the field errors of
// an invalid request.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Instance  string            `json:"instance,omitempty"`
	Code      errs.Code         `json:"code"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
}

func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.As(err)
	status := errs.HTTPStatus(e)
	if e.Code == errs.CodeInternal {
		s.Log.Error("request failed", "request_id", middleware.RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := Problem{
		Type: "urn:steward:problem:" + string(e.Code), Title: http.StatusText(status), Status: status,
		Detail: e.Message, Instance: r.URL.Path, Code: e.Code, RequestID: middleware.RequestID(r.Context()), Errors: e.Fields,
	}
	if e.Code == errs.CodeUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward"`)
	}
	if e.Code == errs.CodeTooMany {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds(60)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// authenticate resolves the principal from a Bearer API token or a portal
// session cookie. With a cookie, unsafe methods must echo the session's CSRF
// token in X-CSRF-Token. Requests with neither are unauthenticated.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		p, err := Authenticate(r, s.Identity)
		if err != nil {
			return err
		}
		next.ServeHTTP(w, r.WithContext(middleware.WithPrincipal(r.Context(), p)))
		return nil
	})
}

// Authenticate returns the principal of an API request.
func Authenticate(r *http.Request, ids *identity.Service) (*access.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, errs.Unauthenticated("the Authorization header must be \"Bearer <API token>\"")
		}
		return ids.TokenPrincipal(r.Context(), strings.TrimSpace(token))
	}
	if c, err := r.Cookie(identity.SessionCookie); err == nil {
		p, csrf, err := ids.SessionPrincipal(r.Context(), c.Value)
		if err != nil {
			return nil, err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !identity.CheckCSRF(csrf, r.Header.Get("X-CSRF-Token")) {
			return nil, errs.Forbidden("a browser session must send its CSRF token in the X-CSRF-Token header")
		}
		return p, nil
	}
	return nil, errs.Unauthenticated("send an API token as \"Authorization: Bearer <token>\"; create one in the portal under Tokens or with steward admin create-token")
}

func principal(r *http.Request) *access.Principal { return middleware.Principal(r.Context()) }

// decode reads a JSON body into v: application/json only, at most
// MaxBodyBytes, no unknown fields, exactly one value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errs.Invalid("send the body as JSON with Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	return decodeBytes(body, v)
}

// decodeBytes reads exactly one JSON value into v, refusing what
// encoding/json would let through silently: invalid UTF-8 (it would become
// U+FFFD, so two different inputs could read the same) and a null body
// (it would leave v as it was: an empty input).
func decodeBytes(body []byte, v any) error {
	if !utf8.Valid(body) {
		n := 0
		for n < len(body) {
			r, size := utf8.DecodeRune(body[n:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			n += size
		}
		return errs.Invalid("the body is not valid UTF-8 (at byte %d)", n)
	}
	if at := jsontext.LoneSurrogate(body); at >= 0 {
		return errs.Invalid("the body escapes half of a UTF-16 surrogate pair (at byte %d), which is not a character", at)
	}
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return errs.Invalid("the body is null; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonErrorIn(err, body)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return errs.Invalid("the body must hold exactly one JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a problem a client can act on.
func jsonError(err error) error { return jsonErrorIn(err, nil) }

// jsonErrorIn is jsonError for a decoded body, whose field paths it can
// name with their indexes.
func jsonErrorIn(err error, body []byte) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errs.Invalid("the body is larger than %d bytes", MaxBodyBytes)
	case errors.As(err, &syn):
		return errs.Invalid("the body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if body != nil {
			if p := pathAt(body, typ.Offset); p != "" {
				field = p
			}
		}
		return &errs.Error{Code: errs.CodeInvalid, Message: "a field has the wrong type",
			Fields: []errs.FieldError{{Field: field, Rule: "type", Message: fmt.Sprintf("%s must be a %s", field, jsonType(typ.Type.String()))}}}
	case errors.Is(err, io.EOF):
		return errs.Invalid("the body is empty; send a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Code: errs.CodeInvalid, Message: "the body has a field the API does not know",
			Fields: []errs.FieldError{{Field: field, Rule: "unknown", Message: "remove " + field + "; see /api/v1/openapi.yaml for the fields"}}}
	}
	return errs.Invalid("the body could not be read as JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// pathAt names the value of body that ends at offset the way validation
// errors name fields: items[0].quantity (encoding/json says items.quantity,
// without the index). It returns "" when it cannot tell.
func pathAt(body []byte, offset int64) string {
	type level struct {
		array bool
		index int
		key   string
	}
	var stack []level
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	expectKey := false
	path := func() string {
		var b strings.Builder
		for _, l := range stack {
			if l.array {
				fmt.Fprintf(&b, "[%d]", l.index)
			} else if l.key != "" {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			}
		}
		return b.String()
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			expectKey = len(stack) > 0 && !stack[len(stack)-1].array
			if len(stack) > 0 && stack[len(stack)-1].array {
				stack[len(stack)-1].index++
			}
			continue
		}
		if expectKey {
			stack[len(stack)-1].key = tok.(string)
			expectKey = false
			continue
		}
		// A value: a scalar, or the start of an object or array.
		if dec.InputOffset() >= offset {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{})
			expectKey = true
		case json.Delim('['):
			stack = append(stack, level{array: true})
		default:
			if len(stack) > 0 {
				if stack[len(stack)-1].array {
					stack[len(stack)-1].index++
				} else {
					expectKey = true
				}
			}
		}
	}
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "bool" || goType == "*bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.Contains(goType, "time.Time"):
		return "RFC 3339 date-time string"
	case strings.Contains(goType, "string"), strings.Contains(goType, "Role"), strings.Contains(goType, "Kind"):
		return "string"
	}
	return "JSON " + goType
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// pageParams reads the page asked for: limit (1 to 500, 50 when absent
// or 0) and cursor (the next of the previous page).
func pageParams(r *http.Request) (sqldb.Page, error) {
	n, err := limitParam(r)
	return sqldb.Page{Limit: n, Cursor: r.URL.Query().Get("cursor")}, err
}

// limitParam reads the optional page size: 1 to 500, 50 when absent or 0.
func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return sqldb.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > sqldb.MaxLimit {
		return 0, &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
			Fields: []errs.FieldError{{Field: "limit", Rule: "range", Message: "limit must be a whole number from 1 to 500"}}}
	}
	if n == 0 {
		n = sqldb.DefaultLimit
	}
	return n, nil
}

// writeList answers one page of a list: the body {"items", "next"} and,
// when a page follows, a Link header (RFC 8288) to it: this request's URL
// with the cursor replaced.
func writeList[T any](w http.ResponseWriter, r *http.Request, l sqldb.Paged[T]) error {
	if l.Items == nil {
		l.Items = []T{}
	}
	if l.Next != "" {
		u := *r.URL
		q := u.Query()
		q.Set("cursor", l.Next)
		u.RawQuery = q.Encode()
		w.Header().Set("Link", "<"+u.Path+"?"+u.RawQuery+`>; rel="next"`)
	}
	return writeJSON(w, http.StatusOK, l)
}

// ctx returns the request context.
func ctx(r *http.Request) context.Context { return r.Context() }
