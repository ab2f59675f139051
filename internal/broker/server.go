package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Mount puts the broker under /osb. wrap instruments each route.
func (b *Broker) Mount(mux *http.ServeMux, wrap func(pattern string, h http.Handler) http.Handler) {
	routes := []struct {
		pattern string
		h       func(w http.ResponseWriter, r *http.Request, c *call)
	}{
		{"GET /osb/v2/catalog", b.catalogHandler},
		{"PUT /osb/v2/service_instances/{instance_id}", b.provisionHandler},
		{"PATCH /osb/v2/service_instances/{instance_id}", b.updateHandler},
		{"DELETE /osb/v2/service_instances/{instance_id}", b.deprovisionHandler},
		{"GET /osb/v2/service_instances/{instance_id}", b.fetchInstanceHandler},
		{"GET /osb/v2/service_instances/{instance_id}/last_operation", b.lastOperationHandler},
		{"PUT /osb/v2/service_instances/{instance_id}/service_bindings/{binding_id}", b.bindHandler},
		{"DELETE /osb/v2/service_instances/{instance_id}/service_bindings/{binding_id}", b.unbindHandler},
		{"GET /osb/v2/service_instances/{instance_id}/service_bindings/{binding_id}", b.fetchBindingHandler},
		{"GET /osb/v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation", b.bindingLastOperationHandler},
	}
	for _, rt := range routes {
		h := rt.h
		mux.Handle(rt.pattern, wrap(rt.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.serve(w, r, h) })))
	}
}

// call is one authenticated broker request.
type call struct {
	platform  *Platform
	principal *access.Principal
}

func (b *Broker) serve(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request, *call)) {
	if rid := r.Header.Get(osb.HeaderRequestIdentity); rid != "" {
		w.Header().Set(osb.HeaderRequestIdentity, rid)
	}
	if status, desc := checkVersion(r.Header.Get(osb.HeaderVersion)); status != 0 {
		reply(w, status, osb.ErrorBody{Description: desc})
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		b.fail(w, r, errs.Unauthenticated("authenticate with the platform's basic-auth credentials"))
		return
	}
	pl, pr, err := b.authenticate(r.Context(), user, pass, b.clientAddr(r))
	if err != nil {
		b.fail(w, r, err)
		return
	}
	h(w, r, &call{platform: pl, principal: pr})
}

// MinVersion is the oldest OSB API version Steward serves whole. Its
// bindings are asynchronous only (bind needs accepts_incomplete=true, the
// platform polls the binding's last_operation and fetches the binding) and
// it declares instances_retrievable and bindings_retrievable: asynchronous
// bindings, their last_operation endpoint and the GET endpoints for
// instances and bindings arrived in v2.14 (its release notes). What later
// versions added and Steward uses (maintenance_info, the request identity
// header, instance metadata) is optional for a platform, and "New fields
// … SHOULD be ignored by clients … that do not understand them" (Change
// Policy for Minor Versions).
const MinVersion = "2.14"

// checkVersion reads X-Broker-API-Version ("API Version Header"): no
// header or one not MAJOR.MINOR is a 400 saying what to send; a version
// older than MinVersion, or another major version, is a 412 naming the
// versions Steward serves. Status 0 means the version is served.
func checkVersion(v string) (status int, desc string) {
	served := fmt.Sprintf("Steward serves OSB API versions %s to 2.x (it speaks %s)", MinVersion, osb.Version)
	if v == "" {
		return http.StatusBadRequest, fmt.Sprintf("the header %s is required: send %s; %s", osb.HeaderVersion, osb.Version, served)
	}
	major, minor, ok := strings.Cut(v, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return http.StatusBadRequest, fmt.Sprintf("%s must be MAJOR.MINOR, such as %s; got %q", osb.HeaderVersion, osb.Version, v)
	}
	_, min, _ := strings.Cut(MinVersion, ".")
	if least, _ := strconv.Atoi(min); ma != 2 || mi < least {
		return http.StatusPreconditionFailed, fmt.Sprintf("this platform sent %s %s; %s: use %s or later (Steward's bindings are asynchronous only, which needs %s)",
			osb.HeaderVersion, v, served, MinVersion, MinVersion)
	}
	return 0, ""
}

// clientAddr is the client's address for throttling: ClientAddr's when the
// composition root set it (behind trusted proxies), else the peer's.
func (b *Broker) clientAddr(r *http.Request) string {
	if b.ClientAddr != nil {
		return b.ClientAddr(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func empty(w http.ResponseWriter, status int) { reply(w, status, struct{}{}) }

func badRequest(w http.ResponseWriter, format string, args ...any) {
	reply(w, http.StatusBadRequest, osb.ErrorBody{Error: "BadRequest", Description: fmt.Sprintf(format, args...)})
}

func concurrency(w http.ResponseWriter, desc string) {
	reply(w, http.StatusUnprocessableEntity, osb.ErrorBody{Error: "ConcurrencyError", Description: desc})
}

// fail answers an error with the one error model Steward's transports
// share (package errs): the code picks the status, the message is safe to
// show, and an internal error is logged with the request ID (the one the
// access log and X-Request-Id carry) and answered 500 without its cause.
// OSB has no 403, 404 or 409 for what Steward's services refuse, so
// refusals (invalid, conflict, forbidden, not_found) are 400s: "MAY be
// returned if the request contains invalid data" (Service Broker Errors).
func (b *Broker) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.As(err)
	switch e.Code {
	case errs.CodeInvalid, errs.CodeConflict, errs.CodeForbidden, errs.CodeNotFound:
		desc := e.Message
		for _, f := range e.Fields {
			desc += "; " + f.Field + ": " + f.Message
		}
		badRequest(w, "%s", desc)
		return
	case errs.CodeUnauthenticated:
		w.Header().Set("WWW-Authenticate", `Basic realm="steward-osb"`)
	case errs.CodeTooMany:
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds(60)))
	case errs.CodeInternal:
		rid := audit.RequestID(r.Context())
		b.log.Error("request failed", "request_id", rid, "osb_request_identity", r.Header.Get(osb.HeaderRequestIdentity),
			"method", r.Method, "path", r.URL.Path, "err", err)
		reply(w, http.StatusInternalServerError, osb.ErrorBody{Description: "Steward could not do this: an unexpected error occurred; it has been logged as request " + rid})
		return
	}
	reply(w, errs.HTTPStatus(e), osb.ErrorBody{Description: e.Message})
}

// asyncBody checks accepts_incomplete and decodes the body into v; false
// means the request was answered.
func asyncBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return requireAsync(w, r) && decode(w, r, v)
}

func requireAsync(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Get("accepts_incomplete") == "true" {
		return true
	}
	reply(w, http.StatusUnprocessableEntity, osb.ErrorBody{Error: "AsyncRequired",
		Description: "Steward fulfils through approvals and providers, so this request needs accepts_incomplete=true"})
	return false
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		badRequest(w, "the body is not the JSON object this request takes: %v", err)
		return false
	}
	return true
}

func requestHash(serviceID, planID string, params map[string]any) string {
	b, _ := json.Marshal([]any{serviceID, planID, params})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (b *Broker) catalogHandler(w http.ResponseWriter, r *http.Request, c *call) {
	offs, err := b.catalog.Offerings(r.Context(), c.principal, catalog.OfferingFilter{})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	bindable, err := b.provision.BindablePlans(r.Context())
	if err != nil {
		b.fail(w, r, err)
		return
	}
	out := osb.Catalog{Services: []osb.Service{}}
	infos := map[string]*osb.MaintenanceInfo{} // by blueprint ref
	for _, o := range offs {
		if !o.Brokered {
			continue
		}
		if ok, _ := o.Orderable(); !ok {
			continue
		}
		desc := o.Summary
		if desc == "" {
			desc = o.Name
		}
		s := osb.Service{ID: o.ID, Name: o.Code, Description: desc, InstancesRetrievable: true, BindingsRetrievable: true, PlanUpdateable: true,
			Metadata: map[string]any{"displayName": o.Name}, Plans: []osb.Plan{}}
		params, err := parametersSchema(o.FormSchema)
		if err != nil {
			b.fail(w, r, errs.Internal(err, "offering %s has an order form that does not parse", o.Code))
			return
		}
		for _, p := range o.Plans {
			if p.Retired {
				continue
			}
			free := p.Recurring.Minor == 0 && p.OneTime.Minor == 0 && len(p.Prices) == 0
			bind := bindable[p.ID]
			s.Bindable = s.Bindable || bind
			desc := p.Description
			if desc == "" {
				desc = p.Name
			}
			mi, ok := infos[p.Blueprint]
			if !ok {
				if mi, err = b.maintenanceInfo(r.Context(), p.Blueprint); err != nil {
					b.fail(w, r, err)
					return
				}
				infos[p.Blueprint] = mi
			}
			major, _ := json.Marshal(json.RawMessage(p.Recurring.Decimal()))
			s.Plans = append(s.Plans, osb.Plan{ID: p.ID, Name: p.Code, Description: desc, Free: &free, Bindable: &bind,
				Metadata: &osb.PlanMetadata{DisplayName: p.Name, Currency: p.Currency, Price: p.Recurring.Decimal(),
					Costs: []osb.Cost{{Amount: map[string]json.Number{strings.ToLower(p.Currency): json.Number(major)}, Unit: costUnit(p.RecurringInterval)}}},
				Schemas:         map[string]any{"service_instance": map[string]any{"create": map[string]any{"parameters": params}, "update": map[string]any{"parameters": params}}},
				MaintenanceInfo: mi})
		}
		if len(s.Plans) > 0 {
			out.Services = append(out.Services, s)
		}
	}
	reply(w, http.StatusOK, out)
}

// costUnit is the unit of a plan's recurring cost in the catalog's
// metadata (OSB 2.17, "Cost Object": "the pricing unit for this cost,
// e.g. MONTHLY"): the interval its base fee bills per.
func costUnit(iv rating.Interval) string {
	switch iv {
	case rating.Quarter:
		return "QUARTERLY"
	case rating.Year:
		return "YEARLY"
	}
	return "MONTHLY"
}

// maintenanceInfo is the maintenance information of a plan or an instance
// made by the blueprint version ref (code@N), nil for none: a plan a
// provider makes has its implementation version at the provider, where
// Steward cannot see it. Blueprint versions are whole numbers counting
// up, so version N is the semantic version "N.0.0" ("Maintenance Info
// Object": "MUST be a string conforming to a semantic version 2.0"), and
// the description names the blueprint version and its upload note (what
// it changed).
func (b *Broker) maintenanceInfo(ctx context.Context, ref string) (*osb.MaintenanceInfo, error) {
	if ref == "" {
		return nil, nil
	}
	code, ver, _ := strings.Cut(ref, "@")
	n, err := strconv.Atoi(ver)
	if err != nil {
		return nil, errs.Internal(err, "blueprint reference %q has no version", ref)
	}
	desc := fmt.Sprintf("made by blueprint %s version %d", code, n)
	bp, err := b.provision.BlueprintVersion(ctx, access.System(), code, n)
	switch {
	case err == nil && bp.Note != "":
		desc += ": " + bp.Note
	case err != nil && !errs.Is(err, errs.CodeNotFound):
		return nil, err
	}
	return &osb.MaintenanceInfo{Version: fmt.Sprintf("%d.0.0", n), Description: desc}, nil
}

// maintenanceConflict checks the maintenance_info a platform sent against
// the catalog's for the plan (made by the blueprint version ref):
// Provisioning and Updating, 422 "MUST be returned if the
// maintenance_info.version provided in the request does not match", with
// MaintenanceInfoConflict. Only the version counts ("Any field except for
// maintenance_info.version will be ignored"). It answers and reports true
// on a conflict.
func (b *Broker) maintenanceConflict(w http.ResponseWriter, r *http.Request, sent *osb.MaintenanceInfo, planCode, ref string) bool {
	if sent == nil {
		return false
	}
	mi, err := b.maintenanceInfo(r.Context(), ref)
	if err != nil {
		b.fail(w, r, err)
		return true
	}
	switch {
	case mi == nil:
		reply(w, http.StatusUnprocessableEntity, osb.ErrorBody{Error: "MaintenanceInfoConflict",
			Description: fmt.Sprintf("the plan %s declares no maintenance_info (it was sent %s): fetch the catalog again", planCode, sent.Version)})
	case mi.Version != sent.Version:
		reply(w, http.StatusUnprocessableEntity, osb.ErrorBody{Error: "MaintenanceInfoConflict",
			Description: fmt.Sprintf("the maintenance information of the plan %s has changed: it is %s (%s), not %s; fetch the catalog again", planCode, mi.Version, mi.Description, sent.Version)})
	default:
		return false
	}
	return true
}

// parametersSchema is an offering's order form as the catalog's schema of
// an instance's parameters, for create and update alike (an update's
// parameters replace the instance's and are checked by the same form).
// "Input Parameters Schema Object": "The $schema key MUST be present in the
// schema declaring the version of JSON schema being used", and "Platforms
// MUST support at least JSON Schema draft v4". Steward checks parameters
// against the form with a draft 2020-12 validator, but the subset a form
// may use (catalog.Form: type, enum, minimum, maximum, minLength,
// maxLength, pattern, default, title, description, required) means the
// same in draft 4, so the catalog declares draft 4, which every platform
// reads. Unknown parameters are refused, so additionalProperties is false.
func parametersSchema(form json.RawMessage) (map[string]any, error) {
	if len(bytes.TrimSpace(form)) == 0 {
		form = json.RawMessage(catalog.EmptyForm)
	}
	var schema map[string]any
	if err := json.Unmarshal(form, &schema); err != nil {
		return nil, err
	}
	schema["$schema"] = "http://json-schema.org/draft-04/schema#"
	schema["additionalProperties"] = false
	return schema, nil
}

// mapping is a platform's instance as the broker knows it.
type mapping struct {
	offeringID, planID, hash, orderID, changeOrderID, deleteOrderID string
	// changeHash is the hash of the update request that made changeOrderID.
	changeHash string
}

func (b *Broker) mapping(ctx context.Context, q sqldb.Querier, platformID, id string) (*mapping, error) {
	var m mapping
	var change, del, changeHash sql.NullString
	err := q.QueryRowContext(ctx, `SELECT offering_id, plan_id, request_hash, order_id, change_order_id, delete_order_id, change_hash FROM broker_instances
		WHERE platform_id = $1 AND id = $2`, platformID, id).Scan(&m.offeringID, &m.planID, &m.hash, &m.orderID, &change, &del, &changeHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	m.changeOrderID, m.deleteOrderID, m.changeHash = change.String, del.String, changeHash.String
	return &m, sqldb.Err(err, "broker instance")
}

// instanceOf is the instance the mapping's provision order made, if any.
func (b *Broker) instanceOf(ctx context.Context, m *mapping) (*orders.Order, *orders.Instance, error) {
	o, err := b.orders.Order(ctx, access.System(), m.orderID)
	if err != nil {
		return nil, nil, err
	}
	if len(o.Items) == 0 || o.Items[0].InstanceID == "" {
		return o, nil, nil
	}
	inst, err := orders.GetInstance(ctx, b.db.Read(), o.Items[0].InstanceID)
	return o, inst, err
}

// checkIDs checks the service_id and plan_id a request names against the
// platform's instance: its service, and the plan it is on (the plan it was
// ordered with until it exists). Binding, Unbinding and Deprovisioning:
// they "MUST be the ID of the Service Offering/Plan" of the instance, and a
// 400 "MAY be returned if the request contains invalid data".
func (b *Broker) checkIDs(ctx context.Context, m *mapping, serviceID, planID string) error {
	plan := m.planID
	_, inst, err := b.instanceOf(ctx, m)
	if err != nil {
		return err
	}
	if inst != nil {
		plan = inst.PlanID
	}
	var v errs.Validator
	v.Check(serviceID == m.offeringID, "service_id", "instance", fmt.Sprintf("service_id %q is not the service of this instance, %s", serviceID, m.offeringID))
	v.Check(planID == plan, "plan_id", "instance", fmt.Sprintf("plan_id %q is not the plan this instance is on, %s", planID, plan))
	return v.Err("the request names another service or plan than the instance's")
}

// requireIDs checks that the service_id and plan_id query parameters are
// there (Unbinding and Deprovisioning: both REQUIRED).
func requireIDs(q url.Values) error {
	var v errs.Validator
	v.Check(q.Get("service_id") != "", "service_id", "required", "the query parameter service_id is required: the ID of the instance's service")
	v.Check(q.Get("plan_id") != "", "plan_id", "required", "the query parameter plan_id is required: the ID of the plan the instance is on")
	return v.Err("the request is missing mandatory data")
}

// resolve picks the org unit and the person an instance is for: the
// request context's org_unit (a code), else the originating identity's
// user (by email or username) when they belong under the platform's org
// unit, else the platform's own.
func (b *Broker) resolve(ctx context.Context, c *call, reqContext map[string]any, originating string) (orgUnitID, userID string, err error) {
	orgUnitID, userID = c.platform.OrgUnitID, c.platform.UserID
	if originating != "" {
		_, props, err := osb.ParseIdentity(originating)
		if err != nil {
			return "", "", errs.Invalid("%v", err)
		}
		for _, k := range []string{"email", "username"} {
			email, _ := props[k].(string)
			if email == "" {
				continue
			}
			var id, ou, path string
			err := b.db.Read().QueryRowContext(ctx, `SELECT u.id, u.org_unit_id, ou.path FROM users u JOIN org_units ou ON ou.id = u.org_unit_id WHERE u.email = $1`,
				strings.ToLower(email)).Scan(&id, &ou, &path)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return "", "", sqldb.Err(err, "originating user")
			}
			if err == nil && strings.HasPrefix(path, c.platform.orgUnitPath) {
				orgUnitID, userID = ou, id
				break
			}
		}
	}
	if code, _ := reqContext["org_unit"].(string); code != "" {
		var id, path string
		err := b.db.Read().QueryRowContext(ctx, `SELECT id, path FROM org_units WHERE code = $1`, code).Scan(&id, &path)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", "", sqldb.Err(err, "org unit")
		}
		if err == nil && strings.HasPrefix(path, c.platform.orgUnitPath) {
			orgUnitID = id
		}
	}
	return orgUnitID, userID, nil
}

func (b *Broker) provisionHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	var req osb.ProvisionRequest
	if !asyncBody(w, r, &req) {
		return
	}
	// Provisioning, body: service_id*, plan_id*, organization_guid* and
	// space_guid* are REQUIRED, each "MUST be a non-empty string".
	var v errs.Validator
	v.Check(req.ServiceID != "", "service_id", "required", "service_id is required: the ID of a service from GET /v2/catalog")
	v.Check(req.PlanID != "", "plan_id", "required", "plan_id is required: the ID of one of the service's plans")
	v.Check(req.OrganizationGUID != "", "organization_guid", "required", "organization_guid is required (a non-empty string), also when context is sent")
	v.Check(req.SpaceGUID != "", "space_guid", "required", "space_guid is required (a non-empty string), also when context is sent")
	if err := v.Err("the provision request is missing mandatory data"); err != nil {
		b.fail(w, r, err)
		return
	}
	id := r.PathValue("instance_id")
	hash := requestHash(req.ServiceID, req.PlanID, req.Parameters)
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, id)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if m != nil {
		b.provisionAgain(w, r, c, m, hash)
		return
	}
	off, err := b.catalog.Offering(ctx, c.principal, req.ServiceID)
	if err != nil && !errs.Is(err, errs.CodeNotFound) && !errs.Is(err, errs.CodeForbidden) {
		b.fail(w, r, err) // a database failure is not the platform's mistake
		return
	}
	if err != nil || !off.Brokered {
		badRequest(w, "service_id %q is not a service in this broker's catalog", req.ServiceID)
		return
	}
	plan := off.Plan(req.PlanID)
	if plan == nil || plan.ID != req.PlanID || plan.Retired {
		badRequest(w, "plan_id %q is not a plan of %s that takes orders", req.PlanID, off.Code)
		return
	}
	if b.maintenanceConflict(w, r, req.MaintenanceInfo, plan.Code, plan.Blueprint) {
		return
	}
	orgUnitID, userID, err := b.resolve(ctx, c, req.Context, r.Header.Get(osb.HeaderOriginatingID))
	if err != nil {
		b.fail(w, r, err)
		return
	}
	o, err := b.orders.CreateOrder(ctx, c.principal, orders.OrderInput{OrgUnitID: orgUnitID, Note: "ordered by platform " + c.platform.Name + " as instance " + id,
		Items: []orders.ItemInput{{Offering: off.ID, Plan: plan.ID, Parameters: req.Parameters, RequestedFor: userID}}})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	err = b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO broker_instances (platform_id, id, offering_id, plan_id, request_hash, order_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.platform.ID, id, off.ID, plan.ID, hash, o.ID, sqldb.Time(b.now()))
		return sqldb.Err(err, "broker instance")
	})
	if err != nil {
		b.orders.Cancel(ctx, c.principal, o.ID, "a concurrent request for the same instance won")
		if errs.Is(err, errs.CodeConflict) {
			reply(w, http.StatusConflict, struct{}{})
			return
		}
		b.fail(w, r, err)
		return
	}
	if _, err := b.orders.Submit(ctx, c.principal, o.ID); err != nil {
		b.forget(ctx, c, id, o.ID)
		b.fail(w, r, err)
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"operation": o.ID})
}

// remember records a day-2 order on the platform's instance, in column
// (change_order_id or delete_order_id), for last_operation.
func (b *Broker) remember(ctx context.Context, c *call, id, column, orderID string) error {
	return b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE broker_instances SET `+column+` = $1 WHERE platform_id = $2 AND id = $3`, orderID, c.platform.ID, id)
		return sqldb.Err(err, "broker instance")
	})
}

// rememberChange records the change order an update made, and the hash of
// the update's request, which a repeat of it is known by.
func (b *Broker) rememberChange(ctx context.Context, c *call, id, orderID, hash string) error {
	return b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE broker_instances SET change_order_id = $1, change_hash = $2 WHERE platform_id = $3 AND id = $4`, orderID, hash, c.platform.ID, id)
		return sqldb.Err(err, "broker instance")
	})
}

// changing returns the platform's update of the instance that is still on
// its way, or nil.
func (b *Broker) changing(ctx context.Context, m *mapping) (*orders.Order, error) {
	if m.changeOrderID == "" {
		return nil, nil
	}
	o, err := b.orders.Order(ctx, access.System(), m.changeOrderID)
	if err != nil || !o.State.Open() {
		return nil, err
	}
	return o, nil
}

// dayTwoFailed answers an update or deprovision orders would not take: 422
// ConcurrencyError while another operation is on its way.
func (b *Broker) dayTwoFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errs.Is(err, errs.CodeConflict) {
		concurrency(w, errs.As(err).Message)
		return
	}
	b.fail(w, r, err)
}

// forget drops a mapping whose order could not be submitted, cancelling the order.
func (b *Broker) forget(ctx context.Context, c *call, id, orderID string) {
	b.orders.Cancel(ctx, c.principal, orderID, "refused at submission")
	b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM broker_instances WHERE platform_id = $1 AND id = $2`, c.platform.ID, id)
		return err
	})
}

// provisionAgain answers a PUT for an instance the platform asked for before.
func (b *Broker) provisionAgain(w http.ResponseWriter, r *http.Request, c *call, m *mapping, hash string) {
	if m.hash != hash {
		reply(w, http.StatusConflict, osb.ErrorBody{Description: "an instance with this ID exists with other attributes"})
		return
	}
	o, inst, err := b.instanceOf(r.Context(), m)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if o.State == orders.StateDraft {
		if _, err := b.orders.Submit(r.Context(), c.principal, o.ID); err != nil {
			b.fail(w, r, err)
			return
		}
	}
	if inst != nil && inst.State == orders.InstanceActive {
		reply(w, http.StatusOK, map[string]any{"dashboard_url": inst.DashboardURL, "metadata": instanceMetadata(inst)})
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"operation": o.ID})
}

func instanceMetadata(inst *orders.Instance) map[string]any {
	return map[string]any{"labels": map[string]any{"steward_instance_id": inst.ID}, "attributes": map[string]any{"name": inst.Name, "state": string(inst.State)}}
}

// orderState maps an order to an OSB operation state.
func (b *Broker) orderState(ctx context.Context, o *orders.Order, inst *orders.Instance) osb.LastOperation {
	switch o.State {
	case orders.StateCompleted:
		return osb.LastOperation{State: osb.Succeeded, Description: o.Reference() + " completed"}
	case orders.StateFailed, orders.StateRejected, orders.StateCancelled:
		desc := o.Reference() + " " + string(o.State)
		if inst != nil {
			if op, err := b.provision.LatestOperation(ctx, inst.ID, ""); err == nil && op.State == provision.OpFailed {
				desc += ": " + op.Description
			}
		}
		if evs, err := b.orders.Events(ctx, access.System(), o.ID); err == nil && len(evs) > 0 && evs[len(evs)-1].Comment != "" {
			desc += " (" + evs[len(evs)-1].Comment + ")"
		}
		return osb.LastOperation{State: osb.Failed, Description: desc}
	case orders.StateAwaitingApproval:
		return osb.LastOperation{State: osb.InProgress, Description: o.Reference() + " is awaiting approval"}
	}
	desc := o.Reference() + " is being fulfilled"
	if inst != nil && inst.ProviderName != "" {
		desc += " by " + inst.ProviderName
	}
	return osb.LastOperation{State: osb.InProgress, Description: desc}
}

func (b *Broker) lastOperationHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, r.PathValue("instance_id"))
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if m == nil {
		reply(w, http.StatusNotFound, osb.ErrorBody{Description: "no such instance"})
		return
	}
	opID := r.URL.Query().Get("operation")
	if opID == "" {
		opID = m.orderID
		if m.changeOrderID != "" {
			opID = m.changeOrderID
		}
		if m.deleteOrderID != "" {
			opID = m.deleteOrderID
		}
	}
	if opID != m.orderID && opID != m.changeOrderID && opID != m.deleteOrderID {
		badRequest(w, "operation %q is not an operation of this instance", opID)
		return
	}
	o, inst, err := b.instanceOf(ctx, m)
	if err == nil && opID != o.ID {
		o, err = b.orders.Order(ctx, access.System(), opID)
	}
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if inst != nil && o.Kind == orders.KindProvision && o.State == orders.StateFulfilling {
		w.Header().Set("Retry-After", "2")
	}
	reply(w, http.StatusOK, b.orderState(ctx, o, inst))
}

func (b *Broker) fetchInstanceHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, r.PathValue("instance_id"))
	if err != nil {
		b.fail(w, r, err)
		return
	}
	var inst *orders.Instance
	if m != nil {
		if _, inst, err = b.instanceOf(ctx, m); err != nil {
			b.fail(w, r, err)
			return
		}
	}
	if inst == nil || inst.State != orders.InstanceActive {
		reply(w, http.StatusNotFound, osb.ErrorBody{Description: "no such instance (or it is still being provisioned)"})
		return
	}
	// Fetching a Service Instance: 422 "MUST be returned if the Service
	// Instance is being updated", with ConcurrencyError.
	if o, err := b.changing(ctx, m); err != nil {
		b.fail(w, r, err)
		return
	} else if o != nil {
		concurrency(w, o.Reference()+" is updating this instance; fetch it when the update's last_operation has succeeded or failed")
		return
	}
	out := map[string]any{"service_id": inst.OfferingID, "plan_id": inst.PlanID, "dashboard_url": inst.DashboardURL,
		"parameters": inst.Parameters, "metadata": instanceMetadata(inst)}
	// Fetching a Service Instance: the broker "MAY return the maintenance
	// information currently associated with the Service Instance".
	mi, err := b.maintenanceInfo(ctx, inst.Blueprint)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if mi != nil {
		out["maintenance_info"] = mi
	}
	reply(w, http.StatusOK, out)
}

func (b *Broker) updateHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	var req osb.UpdateRequest
	if !asyncBody(w, r, &req) {
		return
	}
	// Updating a Service Instance, body: service_id* is REQUIRED.
	var v errs.Validator
	v.Check(req.ServiceID != "", "service_id", "required", "service_id is required: the ID of the instance's service")
	if err := v.Err("the update request is missing mandatory data"); err != nil {
		b.fail(w, r, err)
		return
	}
	id := r.PathValue("instance_id")
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, id)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if m == nil {
		badRequest(w, "there is no instance %q", id)
		return
	}
	if req.ServiceID != m.offeringID {
		badRequest(w, "service_id %q is not this instance's service", req.ServiceID)
		return
	}
	// A re-sent PATCH "MUST return a 202 Accepted … if the requested update
	// has not yet completed", with the original operation; another update
	// meanwhile is a ConcurrencyError (Blocking Operations).
	hash := requestHash(req.ServiceID, req.PlanID, req.Parameters)
	if o, err := b.changing(ctx, m); err != nil {
		b.fail(w, r, err)
		return
	} else if o != nil {
		if m.changeHash == hash {
			reply(w, http.StatusAccepted, map[string]any{"operation": o.ID})
			return
		}
		concurrency(w, o.Reference()+" is updating this instance with another request; wait until its last_operation has succeeded or failed")
		return
	}
	_, inst, err := b.instanceOf(ctx, m)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if inst == nil || inst.State != orders.InstanceActive {
		concurrency(w, "the instance is not active yet (or any more)")
		return
	}
	if req.MaintenanceInfo != nil && !b.maintenanceUpdate(w, r, c, req, inst) {
		return
	}
	if (req.PlanID == "" || req.PlanID == inst.PlanID) && req.Parameters == nil {
		empty(w, http.StatusOK)
		return
	}
	o, err := b.orders.RequestChange(ctx, c.principal, inst.ID, orders.ChangeInput{Plan: req.PlanID, Parameters: req.Parameters, Note: "changed by platform " + c.platform.Name})
	if err == nil {
		err = b.rememberChange(ctx, c, id, o.ID, hash)
	}
	if err != nil {
		b.dayTwoFailed(w, r, err)
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"operation": o.ID})
}

// maintenanceUpdate checks an update's maintenance_info: it must match the
// catalog's for the plan the instance is to be on (MaintenanceInfoConflict
// otherwise). Matching while the instance was made by another blueprint
// version asks for a maintenance update ("Enable Platforms to update
// maintenance information"), which Steward cannot do: a blueprint version
// makes an instance once and is never re-run on it, so Steward refuses
// with 422 ("MUST be returned if the requested change is not supported"),
// instance_usable true and update_repeatable false. It answers and
// reports false when the update must not go on.
func (b *Broker) maintenanceUpdate(w http.ResponseWriter, r *http.Request, c *call, req osb.UpdateRequest, inst *orders.Instance) bool {
	off, err := b.catalog.Offering(r.Context(), c.principal, inst.OfferingID)
	if err != nil {
		b.fail(w, r, err)
		return false
	}
	target := req.PlanID
	if target == "" {
		target = inst.PlanID
	}
	plan := off.Plan(target)
	if plan == nil || plan.ID != target {
		badRequest(w, "plan_id %q is not a plan of %s", target, off.Code)
		return false
	}
	if b.maintenanceConflict(w, r, req.MaintenanceInfo, plan.Code, plan.Blueprint) {
		return false
	}
	if plan.ID != inst.PlanID || plan.Blueprint == inst.Blueprint {
		return true
	}
	usable, repeatable := true, false
	reply(w, http.StatusUnprocessableEntity, osb.ErrorBody{InstanceUsable: &usable, UpdateRepeatable: &repeatable,
		Description: fmt.Sprintf("this instance was made by blueprint %s and the plan %s is now made by %s (maintenance_info %s); Steward does not remake an instance with another blueprint version in place: provision a new instance of the plan and deprovision this one",
			inst.Blueprint, plan.Code, strings.Replace(plan.Blueprint, "@", " version ", 1), req.MaintenanceInfo.Version)})
	return false
}

func (b *Broker) deprovisionHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	if !requireAsync(w, r) {
		return
	}
	q := r.URL.Query()
	if err := requireIDs(q); err != nil {
		b.fail(w, r, err)
		return
	}
	id := r.PathValue("instance_id")
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, id)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if m == nil {
		empty(w, http.StatusGone)
		return
	}
	if err := b.checkIDs(ctx, m, q.Get("service_id"), q.Get("plan_id")); err != nil {
		b.fail(w, r, err)
		return
	}
	if m.deleteOrderID != "" {
		o, err := b.orders.Order(ctx, access.System(), m.deleteOrderID)
		if err != nil {
			b.fail(w, r, err)
			return
		}
		switch {
		case o.State == orders.StateCompleted:
			empty(w, http.StatusGone)
			return
		case o.State.Open():
			reply(w, http.StatusAccepted, map[string]any{"operation": o.ID})
			return
		}
	}
	o, inst, err := b.instanceOf(ctx, m)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if o.State.Open() {
		concurrency(w, o.Reference()+" is still provisioning this instance; wait for it to finish")
		return
	}
	if inst == nil || inst.State == orders.InstanceFailed || inst.State == orders.InstanceDeprovisioned {
		if err := b.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM broker_instances WHERE platform_id = $1 AND id = $2`, c.platform.ID, id)
			return sqldb.Err(err, "broker instance")
		}); err != nil {
			b.fail(w, r, err)
			return
		}
		empty(w, http.StatusOK)
		return
	}
	del, err := b.orders.RequestDeprovision(ctx, c.principal, inst.ID, "deprovisioned by platform "+c.platform.Name)
	if err == nil {
		err = b.remember(ctx, c, id, "delete_order_id", del.ID)
	}
	if err != nil {
		b.dayTwoFailed(w, r, err)
		return
	}
	if del.State == orders.StateCompleted {
		empty(w, http.StatusOK)
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"operation": del.ID})
}

// bindingMapping is a platform's binding as the broker knows it.
func (b *Broker) bindingMapping(ctx context.Context, platformID, instanceID, id string) (hash, bindingID string, err error) {
	err = b.db.Read().QueryRowContext(ctx, `SELECT request_hash, binding_id FROM broker_bindings WHERE platform_id = $1 AND id = $2 AND instance_id = $3`,
		platformID, id, instanceID).Scan(&hash, &bindingID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return hash, bindingID, sqldb.Err(err, "broker binding")
}

func (b *Broker) bindHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	var req osb.BindRequest
	if !asyncBody(w, r, &req) {
		return
	}
	var v errs.Validator
	v.Check(req.ServiceID != "", "service_id", "required", "service_id is required: the ID of the instance's service")
	v.Check(req.PlanID != "", "plan_id", "required", "plan_id is required: the ID of the plan the instance is on")
	if err := v.Err("the bind request is missing mandatory data"); err != nil {
		b.fail(w, r, err)
		return
	}
	iid, bid := r.PathValue("instance_id"), r.PathValue("binding_id")
	hash := requestHash(req.ServiceID, req.PlanID, req.Parameters)
	prev, bindingID, err := b.bindingMapping(ctx, c.platform.ID, iid, bid)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, iid)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if m == nil {
		badRequest(w, "there is no instance %q", iid)
		return
	}
	if err := b.checkIDs(ctx, m, req.ServiceID, req.PlanID); err != nil {
		b.fail(w, r, err)
		return
	}
	_, inst, err := b.instanceOf(ctx, m)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if bindingID != "" {
		if prev != hash {
			reply(w, http.StatusConflict, osb.ErrorBody{Description: "a binding with this ID exists with other attributes"})
			return
		}
		bd, err := b.provision.BindingCredentials(ctx, inst.ID, bindingID)
		if err != nil {
			b.fail(w, r, err)
			return
		}
		if bd.State == provision.BindingReady {
			reply(w, http.StatusOK, map[string]any{"credentials": bd.Credentials})
			return
		}
		reply(w, http.StatusAccepted, map[string]any{"operation": bindingID})
		return
	}
	if inst == nil || inst.State != orders.InstanceActive {
		concurrency(w, "the instance is not active yet")
		return
	}
	bd, err := b.provision.CreateBinding(ctx, c.principal, inst.ID, provision.BindingInput{Name: "osb " + c.platform.Name + " " + bid})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	err = b.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO broker_bindings (platform_id, instance_id, id, request_hash, binding_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.platform.ID, iid, bid, hash, bd.ID, sqldb.Time(b.now()))
		return sqldb.Err(err, "broker binding")
	})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"operation": bd.ID})
}

// bindingOf returns the platform's binding, or nil.
func (b *Broker) bindingOf(ctx context.Context, c *call, r *http.Request) (*provision.Binding, error) {
	iid, bid := r.PathValue("instance_id"), r.PathValue("binding_id")
	_, bindingID, err := b.bindingMapping(ctx, c.platform.ID, iid, bid)
	if err != nil || bindingID == "" {
		return nil, err
	}
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, iid)
	if err != nil || m == nil {
		return nil, err
	}
	_, inst, err := b.instanceOf(ctx, m)
	if err != nil || inst == nil {
		return nil, err
	}
	return b.provision.BindingCredentials(ctx, inst.ID, bindingID)
}

func (b *Broker) bindingLastOperationHandler(w http.ResponseWriter, r *http.Request, c *call) {
	bd, err := b.bindingOf(r.Context(), c, r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if bd == nil {
		reply(w, http.StatusNotFound, osb.ErrorBody{Description: "no such binding"})
		return
	}
	switch bd.State {
	case provision.BindingReady:
		reply(w, http.StatusOK, osb.LastOperation{State: osb.Succeeded})
	case provision.BindingDeleted:
		empty(w, http.StatusGone)
	case provision.BindingFailed:
		desc := "the provider could not make the binding"
		if op, err := b.provision.LatestOperation(r.Context(), bd.InstanceID, bd.ID); err == nil {
			desc = op.Description
		}
		reply(w, http.StatusOK, osb.LastOperation{State: osb.Failed, Description: desc})
	default:
		reply(w, http.StatusOK, osb.LastOperation{State: osb.InProgress, Description: "the binding is " + string(bd.State)})
	}
}

func (b *Broker) fetchBindingHandler(w http.ResponseWriter, r *http.Request, c *call) {
	bd, err := b.bindingOf(r.Context(), c, r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if bd == nil || bd.State != provision.BindingReady {
		reply(w, http.StatusNotFound, osb.ErrorBody{Description: "no such binding (or it is not ready yet)"})
		return
	}
	reply(w, http.StatusOK, map[string]any{"credentials": bd.Credentials})
}

func (b *Broker) unbindHandler(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	if !requireAsync(w, r) {
		return
	}
	q := r.URL.Query()
	if err := requireIDs(q); err != nil {
		b.fail(w, r, err)
		return
	}
	m, err := b.mapping(ctx, b.db.Read(), c.platform.ID, r.PathValue("instance_id"))
	if err == nil && m != nil {
		err = b.checkIDs(ctx, m, q.Get("service_id"), q.Get("plan_id"))
	}
	if err != nil {
		b.fail(w, r, err)
		return
	}
	bd, err := b.bindingOf(ctx, c, r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if bd == nil || bd.State == provision.BindingDeleted {
		empty(w, http.StatusGone)
		return
	}
	switch bd.State {
	case provision.BindingDeleting:
		reply(w, http.StatusAccepted, map[string]any{"operation": bd.ID})
		return
	case provision.BindingCreating:
		concurrency(w, "the binding is still being made")
		return
	}
	out, err := b.provision.DeleteBinding(ctx, c.principal, bd.InstanceID, bd.ID)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if out.State == provision.BindingDeleted {
		empty(w, http.StatusOK)
		return
	}
	reply(w, http.StatusAccepted, map[string]any{"operation": bd.ID})
}
