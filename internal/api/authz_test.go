package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/api"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
	"github.com/steward-itaas/steward/internal/sso"
	"github.com/steward-itaas/steward/internal/webhook"
)

// matrixEnv is the demo organisation served over HTTP, with a token for
// each principal of the authorisation matrix.
type matrixEnv struct {
	t    *testing.T
	app  *app.App
	base string
}

func (m *matrixEnv) call(method, path, token string, body []byte) (int, []byte) {
	m.t.Helper()
	return m.send(method, path, token, "", body)
}

func (m *matrixEnv) send(method, path, token, ctype string, body []byte) (int, []byte) {
	m.t.Helper()
	if ctype == "" {
		ctype = "application/json"
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, m.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// items reads a list answer ({"items": [...]} or [...]) as maps.
func (m *matrixEnv) items(path, token string) []map[string]any {
	m.t.Helper()
	code, b := m.call("GET", path, token, nil)
	if code != 200 {
		m.t.Fatalf("GET %s = %d %s", path, code, b)
	}
	var wrapped struct {
		Items []map[string]any `json:"items"`
	}
	if json.Unmarshal(b, &wrapped) == nil && wrapped.Items != nil {
		return wrapped.Items
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		m.t.Fatalf("GET %s: not a list: %s", path, b)
	}
	return list
}

func newMatrixEnv(t *testing.T) *matrixEnv {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), SecretKey: bytes.Repeat([]byte{7}, 32), WorkerID: t.Name(),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &matrixEnv{t: t, app: a, base: srv.URL}
}

// token makes a user with the grants (scope codes: "" global, else an org
// unit code) and returns a token of theirs, limited to limit if given.
func (m *matrixEnv) token(email string, limit []access.Role, grants ...[2]string) (string, *access.Principal) {
	m.t.Helper()
	ctx, sys := context.Background(), access.System()
	ids := m.app.Identity
	u, err := ids.UserByEmail(ctx, sys, email)
	if err != nil {
		u, err = ids.CreateUser(ctx, sys, identity.CreateUserInput{Email: email, Name: email})
		if err != nil {
			m.t.Fatal(err)
		}
	}
	units, err := ids.OrgUnits(ctx, sys)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, g := range grants {
		in := identity.CreateGrantInput{UserID: u.ID, Role: access.Role(g[0]), ScopeKind: access.ScopeGlobal}
		if g[1] != "" {
			in.ScopeKind = access.ScopeOrgUnit
			for _, o := range units {
				if o.Code == g[1] {
					in.ScopeID = o.ID
				}
			}
		}
		if _, err := ids.CreateGrant(ctx, sys, in); err != nil {
			m.t.Fatalf("grant %v to %s: %v", g, email, err)
		}
	}
	nt, err := ids.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: u.ID, Name: "matrix", Roles: limit, ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		m.t.Fatal(err)
	}
	p, err := ids.TokenPrincipal(ctx, nt.Secret)
	if err != nil {
		m.t.Fatal(err)
	}
	return nt.Secret, p
}

func str(v any) string { s, _ := v.(string); return s }

func firstWhere(list []map[string]any, key, value string) map[string]any {
	for _, x := range list {
		if value == "" || str(x[key]) == value {
			return x
		}
	}
	return nil
}

// victims are objects of Retail (and provider-wide ones) that the matrix
// tries to reach.
type victims map[string]string

func (m *matrixEnv) victims(aud, admin, agent string) (victims, access.Resource) {
	m.t.Helper()
	ctx, sys := context.Background(), access.System()
	v := victims{}
	var retail access.Resource
	for _, o := range m.items("/api/v1/org-units", aud) {
		if str(o["code"]) == "RETAIL" {
			v["org_unit"] = str(o["id"])
			retail = access.InOrgUnit(str(o["path"]))
		}
	}
	dana := firstWhere(m.items("/api/v1/users", aud), "email", "dana@contoso.example")
	v["user"] = str(dana["id"])
	v["grant"] = str(m.items("/api/v1/users/"+v["user"]+"/grants", aud)[0]["id"])
	v["group"] = str(firstWhere(m.items("/api/v1/groups", aud), "name", "Service Desk")["id"])
	nt, err := m.app.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: v["user"], Name: "dana's", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		m.t.Fatal(err)
	}
	v["token"] = nt.ID
	v["job"] = str(m.items("/api/v1/jobs", aud)[0]["id"])
	v["service"] = str(firstWhere(m.items("/api/v1/services", aud), "code", "desktop")["id"])
	_, b := m.call("GET", "/api/v1/service-map", aud, nil)
	var sm struct {
		Dependencies []map[string]any `json:"dependencies"`
	}
	json.Unmarshal(b, &sm)
	v["dependency"] = str(sm.Dependencies[0]["id"])
	off := firstWhere(m.items("/api/v1/catalog/offerings", aud), "code", "vm")
	v["offering"], v["offering_code"] = str(off["id"]), "vm"
	orders := m.items("/api/v1/orders", aud)
	v["order"] = str(firstWhere(orders, "state", "awaiting_approval")["id"])
	draft := firstWhere(orders, "state", "draft")
	v["draft"] = str(draft["id"])
	v["item"] = str(draft["items"].([]any)[0].(map[string]any)["id"])
	v["approval"] = str(m.items("/api/v1/orders/"+v["order"]+"/approvals", aud)[0]["id"])
	v["policy"] = str(m.items("/api/v1/approval-policies", aud)[0]["id"])
	if tasks := m.items("/api/v1/tasks", agent); len(tasks) > 0 {
		v["task"] = str(tasks[0]["id"])
	}
	v["other_service"] = str(firstWhere(m.items("/api/v1/services", aud), "code", "network")["id"])
	v["vm_service"] = str(firstWhere(m.items("/api/v1/catalog/offerings", aud), "code", "vm")["service_id"])
	v["instance"] = str(firstWhere(m.items("/api/v1/instances", aud), "state", "active")["id"])
	v["meter"] = str(m.items("/api/v1/meters", aud)[0]["code"])
	docs := m.items("/api/v1/billing/documents", aud)
	doc := firstWhere(docs, "org_unit_id", v["org_unit"])
	v["document"] = str(doc["id"])
	v["run"] = str(docs[0]["run_id"])
	ag := m.items("/api/v1/agreements", aud)[0]["agreement"].(map[string]any)
	v["agreement"] = str(ag["code"])
	v["breach"] = str(m.items("/api/v1/breaches", aud)[0]["id"])
	v["outage"] = str(m.items("/api/v1/outages", aud)[0]["id"])
	v["incident"] = str(m.items("/api/v1/incidents", aud)[0]["id"])
	danaP, err := m.app.Identity.Principal(ctx, v["user"])
	if err != nil {
		m.t.Fatal(err)
	}
	tk, err := m.app.Desk.Raise(ctx, danaP, desk.RaiseInput{Service: "desktop", Summary: "Matrix: the printer on the 3rd floor"})
	if err != nil {
		m.t.Fatal(err)
	}
	v["ticket"] = tk.ID
	req, err := m.app.Desk.Raise(ctx, danaP, desk.RaiseInput{Kind: desk.Request, Service: "desktop", Summary: "Matrix: a mailbox for the new starter"})
	if err != nil {
		m.t.Fatal(err)
	}
	v["request"] = req.ID
	att, err := m.app.Desk.Attach(ctx, danaP, tk.ID, desk.AttachInput{Filename: "printer.txt", Data: []byte("paper jam")})
	if err != nil {
		m.t.Fatal(err)
	}
	v["attachment"] = att.ID
	// Alex's request for change on the desktop service, waiting for the
	// change authority; a standard change template and a freeze.
	alex, err := m.app.Identity.UserByEmail(ctx, sys, "alex@it.contoso.example")
	if err != nil {
		m.t.Fatal(err)
	}
	alexP, err := m.app.Identity.Principal(ctx, alex.ID)
	if err != nil {
		m.t.Fatal(err)
	}
	chg, err := m.app.Desk.Raise(ctx, alexP, desk.RaiseInput{Kind: desk.Change, Service: "desktop", OrgUnit: "RETAIL", Summary: "Matrix: patch the print servers",
		Change: &desk.ChangeInput{Plan: "Patch.", BackoutPlan: "Unpatch.", PlannedStart: "2030-01-05T20:00:00Z", PlannedEnd: "2030-01-05T21:00:00Z"}})
	if err != nil {
		m.t.Fatal(err)
	}
	v["change"], v["change_approval"], v["change_requester"] = chg.ID, chg.Change.Approvals[0].ID, alex.ID
	tpl, err := m.app.Desk.SaveTemplate(ctx, sys, "", desk.TemplateInput{Name: "Matrix template", Service: "desktop", Summary: "Restart the spooler",
		Plan: "Restart.", BackoutPlan: "None.", DurationMinutes: 15})
	if err != nil {
		m.t.Fatal(err)
	}
	v["change_template"] = tpl.ID
	fz, err := m.app.Desk.AddFreeze(ctx, sys, desk.FreezeInput{Name: "Matrix freeze", StartsAt: "2030-12-20T00:00:00Z", EndsAt: "2031-01-02T00:00:00Z"})
	if err != nil {
		m.t.Fatal(err)
	}
	v["change_freeze"] = fz.ID
	// A published article and a draft about the desktop service, the
	// published one linked to Dana's ticket.
	for _, name := range []string{"article", "draft_article"} {
		a, err := m.app.Knowledge.Create(ctx, sys, knowledge.Input{Service: "desktop", Title: "Connect to the 3rd floor printer (" + name + ")", Body: "Add **PRN-3F**."})
		if err != nil {
			m.t.Fatal(err)
		}
		v[name] = a.ID
	}
	if _, err := m.app.Knowledge.Publish(ctx, sys, v["article"]); err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.app.Knowledge.Link(ctx, sys, tk.ID, knowledge.LinkInput{Article: v["article"]}); err != nil {
		m.t.Fatal(err)
	}
	hook, err := m.app.Webhooks.Create(ctx, sys, webhook.Input{URL: "https://hooks.example.com/retail", OrgUnitID: v["org_unit"]})
	if err != nil {
		m.t.Fatal(err)
	}
	v["webhook"] = hook.ID
	ping, err := m.app.Webhooks.Test(ctx, sys, hook.ID)
	if err != nil {
		m.t.Fatal(err)
	}
	v["delivery"] = ping.ID
	idp, err := m.app.SSO.CreateProvider(ctx, sys, sso.ProviderInput{Code: "corp", Name: "Corp", IssuerURL: "https://login.example.com", ClientID: "steward"})
	if err != nil {
		m.t.Fatal(err)
	}
	v["identity_provider"] = idp.ID
	for k, x := range v {
		if x == "" && k != "task" {
			m.t.Fatalf("no victim %s found in the demo", k)
		}
	}
	last := time.Now().UTC().AddDate(0, -1, 0)
	v["month"], v["next_month"], v["month_after"] = last.Format("2006-01"), last.AddDate(0, 1, 0).Format("2006-01"), last.AddDate(0, 2, 0).Format("2006-01")
	v["month_start"] = time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	v["month_end"] = time.Date(last.Year(), last.Month()+1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	// A meter with usage of the Retail instance, read by the hour this month.
	now := time.Now().UTC()
	v["usage_from"] = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format(time.RFC3339)
	v["usage_to"] = now.Truncate(time.Hour).Add(time.Hour).Format(time.RFC3339)
	for _, mt := range m.items("/api/v1/meters", aud) {
		code, b := m.call("GET", "/api/v1/usage?meter="+str(mt["code"])+"&org_unit="+v["org_unit"]+"&from="+v["usage_from"]+"&to="+v["usage_to"], aud, nil)
		if code == 200 && bytes.Contains(b, []byte(v["instance"])) {
			v["usage_meter"] = str(mt["code"])
		}
	}
	// Objects the demo does not have: well-formed IDs nobody may reach.
	v["missing"] = "01a20000-0000-7000-8000-000000000000"
	return v, retail
}

// expect says who may pass a route's authorisation, for a principal p
// (nil: anonymous).
type expect func(p *access.Principal) bool

func public(*access.Principal) bool { return true }

func signedIn(p *access.Principal) bool { return p != nil }

func can(a access.Action, res access.Resource) expect {
	return func(p *access.Principal) bool { return p.Can(a, res) }
}

func anywhere(a access.Action) expect {
	return func(p *access.Principal) bool { return p.CanAnywhere(a) }
}

// Issue 15, defences: TestAuthorizationMatrix walks every route of the
// REST API × every role on the whole provider and on another org unit
// (Manufacturing) × a token limited to usage_reporter of the consumer who
// owns Retail's objects × no token, against Retail's objects, with the
// expected outcome of each from one table. A read must answer 2xx exactly
// when the table allows it (403/404/401 otherwise); a write must be refused
// (401/403/404) wherever the table does not allow it (writes that would be
// allowed are not sent: they would change the objects under the test); a
// list must never show an object the table says the caller may not read;
// nothing answers 5xx. A route without a row fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	m := newMatrixEnv(t)
	type principal struct {
		name, token string
		p           *access.Principal
	}
	var who []principal
	for _, r := range access.Roles {
		tok, p := m.token("matrix-"+string(r)+"@example.com", nil, [2]string{string(r), ""})
		who = append(who, principal{string(r) + " (global)", tok, p})
		tok, p = m.token("matrix-"+string(r)+"-mfg@example.com", nil, [2]string{string(r), "MFG"})
		who = append(who, principal{string(r) + " (on MFG)", tok, p})
	}
	// Dana owns Retail's orders and instances; her token limited to
	// usage_reporter must have none of her rights as their owner.
	tok, p := m.token("dana@contoso.example", []access.Role{access.RoleUsageReporter}, [2]string{"usage_reporter", "RETAIL"})
	who = append(who, principal{"dana's usage_reporter token", tok, p})
	who = append(who, principal{"anonymous", "", nil})

	aud, _ := m.token("matrix-reader@example.com", nil, [2]string{"auditor", ""})
	agent, _ := m.token("matrix-worker@example.com", nil, [2]string{"agent", ""})
	v, retail := m.victims(aud, "", agent)
	svc := access.Resource{ServiceID: v["service"]}
	// Dana's ticket about the desktop service: read by ticket.read on
	// Retail or the service, and by whoever works the service's tickets;
	// watched by those who may read it and raise tickets or work it.
	ticketRes := access.Resource{OrgUnitPath: retail.OrgUnitPath, ServiceID: v["service"]}
	readTicket := or(can(access.TicketRead, ticketRes), can(access.TicketWork, svc))
	watchTicket := func(p *access.Principal) bool {
		return readTicket(p) && (p.CanAnywhere(access.TicketCreate) || p.Can(access.TicketWork, svc))
	}
	provider := access.Resource{}
	// Change management: the calendar, agenda and templates are for the
	// provider's side and change managers; a change's decision is for a
	// change manager covering its service (not only its org unit) who did
	// not raise it.
	plansChanges := or(or(anywhere(access.TicketWork), anywhere(access.TicketRead)), or(anywhere(access.ChangeApprove), anywhere(access.ChangeManage)))
	// A change is withdrawn by its requester (who raised it here), those
	// who work it, and change managers who may read it.
	withdrawsChange := func(p *access.Principal) bool {
		return p.Owns(v["change_requester"], access.TicketCreate) || p.Can(access.TicketWork, svc) || readTicket(p) && p.Can(access.ChangeManage, ticketRes)
	}
	// A service request turns into an order for its requester (Dana) and
	// those who work it, if they may also order for its org unit.
	ordersRequest := func(p *access.Principal) bool {
		return readTicket(p) && (p.Owns(v["user"], access.TicketCreate) || p.Can(access.TicketWork, svc)) && p.Can(access.OrderCreate, retail)
	}
	decidesChange := func(p *access.Principal) bool {
		if p == nil || p.UserID == v["change_requester"] {
			return false
		}
		for _, g := range p.Grants {
			if g.Role == access.RoleChangeManager && g.Covers(svc) {
				return true
			}
		}
		return false
	}
	// Knowledge articles of the service: written by ticket.work on it or
	// desk.manage; published ones read by whoever may read the catalog or
	// writes articles somewhere.
	writeArticle := or(can(access.TicketWork, svc), can(access.DeskManage, provider))
	readArticle := or(anywhere(access.CatalogRead), or(anywhere(access.TicketWork), can(access.DeskManage, provider)))

	type row struct {
		route string // the registered route: "METHOD pattern"
		path  string // the path sent, with {victim} names
		may   expect
		body  any    // for writes; nil sends no body
		ctype string // the body's type; default JSON
		list  string
		// refusal, when set, is what a 422 answer says when it refuses an
		// item for its scope (a batch refuses events one by one).
		refusal string
	}
	bodies := m.bodies(v)
	rows := []row{
		{route: "GET /api/v1/openapi.yaml", may: public},
		{route: "GET /api/v1/openapi.json", may: public},
		{route: "GET /api/v1/me", may: signedIn},
		{route: "POST /api/v1/me/password", may: func(p *access.Principal) bool { return p != nil && !p.Limited() }, body: map[string]any{"current_password": "not the password", "new_password": "another long password"}},
		{route: "GET /api/v1/roles", may: signedIn},
		{route: "GET /api/v1/org-units", list: "org_unit", may: can(access.OrgUnitRead, retail)},
		{route: "POST /api/v1/org-units", may: can(access.OrgUnitManage, retail), body: map[string]any{"parent_id": v["org_unit"], "kind": "department", "code": "MX-NEW", "name": "New"}},
		{route: "GET /api/v1/org-units/{id}", path: "/api/v1/org-units/{org_unit}", may: can(access.OrgUnitRead, retail)},
		{route: "PATCH /api/v1/org-units/{id}", path: "/api/v1/org-units/{org_unit}", may: can(access.OrgUnitManage, retail), body: map[string]any{"name": "Taken"}},
		{route: "DELETE /api/v1/org-units/{id}", path: "/api/v1/org-units/{org_unit}", may: can(access.OrgUnitManage, retail)},
		{route: "GET /api/v1/users", list: "user", may: or(can(access.UserRead, retail), self(v["user"]))},
		{route: "POST /api/v1/users", may: can(access.UserManage, retail), body: map[string]any{"email": "mx-new@example.com", "name": "New", "org_unit_id": v["org_unit"]}},
		{route: "GET /api/v1/users/{id}", path: "/api/v1/users/{user}", may: or(can(access.UserRead, retail), self(v["user"]))},
		{route: "PATCH /api/v1/users/{id}", path: "/api/v1/users/{user}", may: can(access.UserManage, retail), body: map[string]any{"name": "Taken"}},
		{route: "GET /api/v1/users/{id}/grants", path: "/api/v1/users/{user}/grants", may: or(can(access.UserRead, retail), self(v["user"]))},
		{route: "DELETE /api/v1/users/{id}/totp", path: "/api/v1/users/{user}/totp", may: can(access.UserManage, retail)},
		{route: "POST /api/v1/grants", may: can(access.GrantManage, retail), body: map[string]any{"user_id": v["user"], "role": "approver", "scope_kind": "org_unit", "scope_id": v["org_unit"]}},
		{route: "DELETE /api/v1/grants/{id}", path: "/api/v1/grants/{grant}", may: can(access.GrantManage, retail)},
		{route: "GET /api/v1/groups", may: anywhere(access.GroupRead)},
		{route: "POST /api/v1/groups", may: can(access.GroupManage, provider), body: map[string]any{"name": "Taken"}},
		{route: "GET /api/v1/groups/{id}", path: "/api/v1/groups/{group}", may: anywhere(access.GroupRead)},
		{route: "PUT /api/v1/groups/{id}", path: "/api/v1/groups/{group}", may: can(access.GroupManage, provider), body: map[string]any{"name": "Taken"}},
		{route: "DELETE /api/v1/groups/{id}", path: "/api/v1/groups/{group}", may: can(access.GroupManage, provider)},
		{route: "GET /api/v1/groups/{id}/grants", path: "/api/v1/groups/{group}/grants", may: anywhere(access.GroupRead)},
		{route: "PUT /api/v1/groups/{id}/members/{user_id}", path: "/api/v1/groups/{group}/members/{user}", may: can(access.GroupManage, provider)},
		{route: "DELETE /api/v1/groups/{id}/members/{user_id}", path: "/api/v1/groups/{group}/members/{user}", may: can(access.GroupManage, provider)},
		{route: "GET /api/v1/tokens", path: "/api/v1/tokens?user_id={user}", may: can(access.UserManage, retail)},
		{route: "POST /api/v1/tokens", may: func(p *access.Principal) bool { return p.Can(access.UserManage, retail) && !p.Limited() }, body: map[string]any{"user_id": v["user"], "name": "stolen", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
		{route: "GET /api/v1/scim-tokens", may: can(access.UserManage, provider)},
		{route: "POST /api/v1/scim-tokens", may: func(p *access.Principal) bool {
			return p.Can(access.UserManage, provider) && p.Can(access.GrantManage, provider) && !p.Limited()
		}, body: map[string]any{"name": "Entra ID", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
		{route: "DELETE /api/v1/tokens/{id}", path: "/api/v1/tokens/{token}", may: can(access.UserManage, retail)},
		{route: "GET /api/v1/audit", may: can(access.AuditRead, provider)},
		{route: "GET /api/v1/audit/verify", may: can(access.AuditRead, provider)},
		{route: "GET /api/v1/jobs", may: can(access.JobRead, provider)},
		{route: "POST /api/v1/jobs", may: can(access.JobManage, provider), body: map[string]any{"kind": "sessions.purge"}},
		{route: "GET /api/v1/jobs/{id}", path: "/api/v1/jobs/{job}", may: can(access.JobRead, provider)},
		{route: "GET /api/v1/services", may: anywhere(access.ServiceRead)},
		{route: "POST /api/v1/services", may: can(access.PortfolioManage, provider), body: map[string]any{"code": "mx-new", "name": "New", "kind": "business"}},
		{route: "GET /api/v1/services/{id}", path: "/api/v1/services/{service}", may: can(access.ServiceRead, svc)},
		{route: "PUT /api/v1/services/{id}", path: "/api/v1/services/{service}", may: can(access.ServiceManage, svc), body: bodies.service},
		{route: "GET /api/v1/services/{id}/transitions", path: "/api/v1/services/{service}/transitions", may: can(access.ServiceRead, svc)},
		{route: "POST /api/v1/services/{id}/transitions", path: "/api/v1/services/{service}/transitions", may: can(access.PortfolioManage, svc), body: map[string]any{"to": "retiring", "reason": "matrix"}},
		{route: "GET /api/v1/services/{id}/support", path: "/api/v1/services/{service}/support", may: anywhere(access.ServiceRead)},
		{route: "GET /api/v1/service-map", may: anywhere(access.ServiceRead)},
		{route: "GET /api/v1/service-map/impact", path: "/api/v1/service-map/impact?node={service}", may: anywhere(access.ServiceRead)},
		{route: "GET /api/v1/service-map/dependencies", may: anywhere(access.ServiceRead)},
		{route: "POST /api/v1/service-map/dependencies", may: can(access.ServiceManage, svc), body: map[string]any{"from_service_id": v["service"], "to_service_id": v["other_service"], "kind": "depends_on"}},
		{route: "DELETE /api/v1/service-map/dependencies/{id}", path: "/api/v1/service-map/dependencies/{dependency}", may: can(access.ServiceManage, svc)},
		{route: "GET /api/v1/config-items", may: anywhere(access.ServiceRead)},
		{route: "POST /api/v1/config-items", may: can(access.PortfolioManage, provider), body: map[string]any{"code": "mx-ci", "name": "CI", "kind": "hardware"}},
		{route: "GET /api/v1/catalog/offerings", may: anywhere(access.CatalogRead)},
		{route: "POST /api/v1/catalog/offerings", may: can(access.ServiceManage, svc), body: map[string]any{"code": "mx-off", "service_id": v["service"], "name": "Off", "plans": []any{map[string]any{"code": "p", "name": "P", "currency": "EUR", "recurring": "1.00"}}}},
		{route: "GET /api/v1/catalog/offerings/{id}", path: "/api/v1/catalog/offerings/{offering}", may: anywhere(access.CatalogRead)},
		{route: "PUT /api/v1/catalog/offerings/{id}", path: "/api/v1/catalog/offerings/{offering}", may: can(access.ServiceManage, svc), body: bodies.offering},
		{route: "GET /api/v1/catalog/summary", may: anywhere(access.CatalogRead)},
		{route: "GET /api/v1/quotas", list: "org_unit", may: can(access.OrderRead, retail)},
		{route: "PUT /api/v1/quotas", may: can(access.QuotaManage, retail), body: map[string]any{"org_unit_id": v["org_unit"], "offering_id": v["offering"], "max_instances": 1}},
		{route: "POST /api/v1/quotes", may: anywhere(access.CatalogRead), body: map[string]any{"items": []any{map[string]any{"offering": "vm", "plan": "bronze", "quantity": 1, "parameters": map[string]any{"hostname": "mx"}}}}},
		{route: "GET /api/v1/orders", list: "order", may: can(access.OrderRead, retail)},
		{route: "POST /api/v1/orders", may: can(access.OrderCreate, retail), body: map[string]any{"org_unit_id": v["org_unit"], "items": []any{map[string]any{"offering": "vm", "plan": "bronze", "quantity": 1, "parameters": map[string]any{"hostname": "mx"}}}}},
		{route: "GET /api/v1/orders/{id}", path: "/api/v1/orders/{order}", may: can(access.OrderRead, retail)},
		{route: "POST /api/v1/orders/{id}/items", path: "/api/v1/orders/{draft}/items", may: can(access.OrderCreate, retail), body: map[string]any{"offering": "vm", "plan": "bronze", "quantity": 1, "parameters": map[string]any{"hostname": "mx"}}},
		{route: "DELETE /api/v1/orders/{id}/items/{item_id}", path: "/api/v1/orders/{draft}/items/{item}", may: can(access.OrderCreate, retail)},
		{route: "POST /api/v1/orders/{id}/submit", path: "/api/v1/orders/{draft}/submit", may: can(access.OrderCreate, retail)},
		{route: "POST /api/v1/orders/{id}/cancel", path: "/api/v1/orders/{order}/cancel", may: can(access.OrderCreate, retail), body: map[string]any{"comment": "matrix"}},
		{route: "GET /api/v1/orders/{id}/events", path: "/api/v1/orders/{order}/events", may: can(access.OrderRead, retail)},
		{route: "GET /api/v1/orders/{id}/approvals", path: "/api/v1/orders/{order}/approvals", may: can(access.OrderRead, retail)},
		{route: "GET /api/v1/approvals", list: "approval", may: can(access.OrderApprove, retail)},
		{route: "POST /api/v1/approvals/{id}/decision", path: "/api/v1/approvals/{approval}/decision", may: can(access.OrderApprove, retail), body: map[string]any{"approve": true, "comment": "matrix"}},
		{route: "GET /api/v1/approval-policies", may: anywhere(access.CatalogRead)},
		{route: "POST /api/v1/approval-policies", may: can(access.PolicyManage, provider), body: map[string]any{"name": "mx", "expression": "true", "approver_kind": "sponsor"}},
		{route: "PUT /api/v1/approval-policies/{id}", path: "/api/v1/approval-policies/{policy}", may: can(access.PolicyManage, provider), body: map[string]any{"name": "mx", "expression": "true", "approver_kind": "sponsor"}},
		{route: "DELETE /api/v1/approval-policies/{id}", path: "/api/v1/approval-policies/{policy}", may: can(access.PolicyManage, provider)},
		{route: "GET /api/v1/tasks", list: "task", may: anywhere(access.TaskWork)},
		{route: "POST /api/v1/tasks/{id}/complete", path: "/api/v1/tasks/{task}/complete", may: can(access.TaskWork, provider), body: map[string]any{"done": true, "note": "matrix"}},
		{route: "GET /api/v1/instances", list: "instance", may: can(access.InstanceRead, retail)},
		{route: "GET /api/v1/instances/{id}", path: "/api/v1/instances/{instance}", may: can(access.InstanceRead, retail)},
		{route: "POST /api/v1/instances/{id}/deprovision", path: "/api/v1/instances/{instance}/deprovision", may: can(access.OrderCreate, retail), body: map[string]any{"comment": "matrix"}},
		{route: "POST /api/v1/instances/{id}/change", path: "/api/v1/instances/{instance}/change", may: can(access.OrderCreate, retail), body: map[string]any{"plan": "silver"}},
		{route: "GET /api/v1/instances/{id}/operations", path: "/api/v1/instances/{instance}/operations", may: can(access.InstanceRead, retail)},
		{route: "GET /api/v1/instances/{id}/components", path: "/api/v1/instances/{instance}/components", may: can(access.InstanceRead, retail)},
		{route: "GET /api/v1/instances/{id}/bindings", path: "/api/v1/instances/{instance}/bindings", may: can(access.InstanceRead, retail)},
		{route: "POST /api/v1/instances/{id}/bindings", path: "/api/v1/instances/{instance}/bindings", may: can(access.OrderCreate, retail), body: map[string]any{"name": "matrix"}},
		{route: "GET /api/v1/instances/{id}/bindings/{binding}", path: "/api/v1/instances/{instance}/bindings/{missing}", may: none},
		{route: "DELETE /api/v1/instances/{id}/bindings/{binding}", path: "/api/v1/instances/{instance}/bindings/{missing}", may: can(access.OrderCreate, retail)},
		{route: "GET /api/v1/providers", may: anywhere(access.ProviderRead)},
		{route: "POST /api/v1/providers", may: can(access.ProviderManage, provider), body: map[string]any{"code": "mx", "name": "MX", "kind": "webhook", "url": "http://127.0.0.1:1/"}},
		{route: "GET /api/v1/providers/{id}", path: "/api/v1/providers/{missing}", may: none},
		{route: "PUT /api/v1/providers/{id}", path: "/api/v1/providers/{missing}", may: can(access.ProviderManage, provider), body: map[string]any{"code": "mx", "name": "MX", "kind": "webhook", "url": "http://127.0.0.1:1/"}},
		{route: "POST /api/v1/providers/{id}/check", path: "/api/v1/providers/{missing}/check", may: can(access.ProviderManage, provider)},
		{route: "POST /api/v1/providers/{id}/sync", path: "/api/v1/providers/{missing}/sync", may: can(access.ProviderManage, provider)},
		{route: "PUT /api/v1/providers/{id}/offers", path: "/api/v1/providers/{missing}/offers", may: can(access.ProviderManage, provider), body: map[string]any{"plan": "bronze", "currency": "EUR", "price": "1.00"}},
		{route: "GET /api/v1/placement-policies", may: anywhere(access.ProviderRead)},
		{route: "PUT /api/v1/placement-policies/{offering}", path: "/api/v1/placement-policies/{offering}", may: can(access.ProviderManage, provider), body: map[string]any{"filter": "true", "rank": "1"}},
		{route: "POST /api/v1/provider-callbacks/{operation}", path: "/api/v1/provider-callbacks/{missing}", may: none, body: map[string]any{"state": "succeeded"}},
		{route: "GET /api/v1/blueprints", may: anywhere(access.ProviderRead)},
		{route: "POST /api/v1/blueprints", may: can(access.BlueprintManage, provider), body: map[string]any{"source": bodies.blueprint}},
		{route: "POST /api/v1/blueprints/validate", may: anywhere(access.ProviderRead), body: map[string]any{"source": bodies.blueprint}},
		{route: "GET /api/v1/blueprints/{code}", path: "/api/v1/blueprints/missing", may: none},
		{route: "GET /api/v1/blueprints/{code}/versions/{version}", path: "/api/v1/blueprints/missing/versions/1", may: none},
		{route: "GET /api/v1/platforms", may: anywhere(access.PlatformManage)},
		{route: "POST /api/v1/platforms", may: can(access.PlatformManage, retail), body: map[string]any{"name": "mx-cf", "org_unit_id": v["org_unit"]}},
		{route: "POST /api/v1/events", may: can(access.UsageIngest, retail), ctype: "application/cloudevents-batch+json", refusal: "you may report usage for", body: []any{map[string]any{"specversion": "1.0", "id": "mx-1", "source": "matrix", "type": "com.contoso.api.called", "subject": v["instance"], "time": time.Now().UTC().Format(time.RFC3339), "data": map[string]any{"calls": 1}}}},
		{route: "GET /api/v1/meters", may: anywhere(access.UsageRead)},
		{route: "GET /api/v1/meters/{code}", path: "/api/v1/meters/{meter}", may: anywhere(access.UsageRead)},
		{route: "PUT /api/v1/meters/{code}", path: "/api/v1/meters/{meter}", may: can(access.MeterManage, provider), body: map[string]any{"name": "Requests", "event_type": "com.contoso.api.called", "aggregation": "count", "unit": "request"}},
		{route: "GET /api/v1/usage", path: "/api/v1/usage?meter={usage_meter}&org_unit={org_unit}&from={usage_from}&to={usage_to}", list: "instance", may: can(access.UsageRead, retail)},
		{route: "GET /api/v1/offerings/{offering}/plans/{plan}/prices", path: "/api/v1/offerings/vm/plans/bronze/prices", may: anywhere(access.CatalogRead)},
		{route: "POST /api/v1/offerings/{offering}/plans/{plan}/prices", path: "/api/v1/offerings/vm/plans/bronze/prices", may: can(access.PriceManage, access.Resource{ServiceID: v["vm_service"]}), body: map[string]any{"components": []any{map[string]any{"code": "base", "name": "Base", "kind": "flat", "price": "1.00"}}}},
		{route: "GET /api/v1/billing/accounts", list: "org_unit", may: can(access.BillingRead, retail)},
		{route: "GET /api/v1/billing/accounts/{org_unit}", path: "/api/v1/billing/accounts/{org_unit}", may: can(access.BillingRead, retail)},
		{route: "PUT /api/v1/billing/accounts/{org_unit}", path: "/api/v1/billing/accounts/{org_unit}", may: can(access.BillingManage, retail), body: map[string]any{"mode": "chargeback", "currency": "EUR"}},
		{route: "GET /api/v1/billing/accounts/{org_unit}/balance", path: "/api/v1/billing/accounts/{org_unit}/balance", may: can(access.BillingRead, retail)},
		{route: "GET /api/v1/billing/accounts/{org_unit}/entries", path: "/api/v1/billing/accounts/{org_unit}/entries", may: can(access.BillingRead, retail)},
		{route: "POST /api/v1/billing/accounts/{org_unit}/refunds", path: "/api/v1/billing/accounts/{org_unit}/refunds", may: can(access.BillingManage, retail), body: map[string]any{"amount": "1.00"}},
		{route: "GET /api/v1/billing/runs", may: can(access.BillingManage, provider)},
		{route: "POST /api/v1/billing/runs", may: can(access.BillingManage, provider), body: map[string]any{"month": time.Now().UTC().AddDate(0, -1, 0).Format("2006-01")}},
		{route: "GET /api/v1/billing/runs/{run}", path: "/api/v1/billing/runs/{run}", may: can(access.BillingManage, provider)},
		{route: "GET /api/v1/billing/documents", list: "document", may: can(access.BillingRead, retail)},
		{route: "GET /api/v1/billing/documents/{id}", path: "/api/v1/billing/documents/{document}", may: can(access.BillingRead, retail)},
		{route: "GET /api/v1/billing/documents/{id}/lines", path: "/api/v1/billing/documents/{document}/lines", may: can(access.BillingRead, retail)},
		{route: "POST /api/v1/billing/documents/{id}/finalise", path: "/api/v1/billing/documents/{document}/finalise", may: can(access.BillingManage, retail)},
		{route: "POST /api/v1/billing/documents/{id}/void", path: "/api/v1/billing/documents/{document}/void", may: can(access.BillingManage, retail), body: map[string]any{"reason": "matrix"}},
		{route: "POST /api/v1/billing/documents/{id}/payments", path: "/api/v1/billing/documents/{document}/payments", may: can(access.BillingManage, retail), body: map[string]any{"amount": "1.00"}},
		{route: "POST /api/v1/billing/documents/{id}/lines", path: "/api/v1/billing/documents/{document}/lines", may: can(access.BillingManage, retail), body: map[string]any{"kind": "adjustment", "description": "matrix", "amount": "1.00"}},
		{route: "POST /api/v1/billing/documents/{id}/credit-notes", path: "/api/v1/billing/documents/{document}/credit-notes", may: can(access.BillingManage, retail), body: map[string]any{"reason": "matrix"}},
		{route: "GET /api/v1/billing/export", path: "/api/v1/billing/export?from={next_month}&to={month_after}&include_drafts=true", list: "document", may: can(access.BillingRead, retail)},
		{route: "GET /api/v1/agreements", list: "agreement", may: can(access.AgreementRead, retail)},
		{route: "POST /api/v1/agreements", may: can(access.AgreementManage, provider), body: bodies.newAgreement},
		{route: "GET /api/v1/agreements/{code}", path: "/api/v1/agreements/{agreement}", may: can(access.AgreementRead, retail)},
		{route: "PUT /api/v1/agreements/{code}", path: "/api/v1/agreements/{agreement}", may: can(access.AgreementManage, provider), body: bodies.agreement},
		{route: "GET /api/v1/agreements/{code}/review", path: "/api/v1/agreements/{agreement}/review?from={month}&to={next_month}", may: can(access.AgreementRead, retail)},
		{route: "GET /api/v1/agreements/{code}/targets/{target}/burn", path: "/api/v1/agreements/{agreement}/targets/availability/burn", may: can(access.AgreementRead, retail)},
		{route: "POST /api/v1/agreements/evaluate", may: can(access.AgreementManage, provider)},
		{route: "GET /api/v1/breaches", list: "breach", may: can(access.AgreementRead, retail)},
		{route: "GET /api/v1/breaches/{id}", path: "/api/v1/breaches/{breach}", may: can(access.AgreementRead, retail)},
		{route: "GET /api/v1/outages", may: or(can(access.AgreementRead, provider), anywhere(access.OutageRecord))},
		{route: "POST /api/v1/outages", may: can(access.OutageRecord, svc), body: map[string]any{"service": "desktop", "started_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "summary": "matrix"}},
		{route: "GET /api/v1/outages/{id}", path: "/api/v1/outages/{outage}", may: or(can(access.AgreementRead, provider), anywhere(access.OutageRecord))},
		{route: "PUT /api/v1/outages/{id}", path: "/api/v1/outages/{outage}", may: can(access.OutageRecord, svc), body: map[string]any{"service": "desktop", "started_at": time.Now().Add(-500 * time.Hour).UTC().Format(time.RFC3339), "summary": "matrix"}},
		{route: "GET /api/v1/incidents", may: or(can(access.AgreementRead, provider), anywhere(access.OutageRecord))},
		{route: "POST /api/v1/incidents", may: can(access.OutageRecord, svc), body: map[string]any{"service": "desktop", "priority": 3, "summary": "matrix", "opened_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}},
		{route: "PUT /api/v1/incidents/{id}", path: "/api/v1/incidents/{incident}", may: can(access.OutageRecord, svc), body: map[string]any{"service": "desktop", "priority": 1, "summary": "matrix", "opened_at": time.Now().Add(-500 * time.Hour).UTC().Format(time.RFC3339)}},
		{route: "GET /api/v1/service-suggestions", path: "/api/v1/service-suggestions?text=my+laptop+cannot+print", may: or(anywhere(access.TicketCreate), anywhere(access.TicketWork))},
		{route: "GET /api/v1/tickets", list: "ticket", may: readTicket},
		{route: "GET /api/v1/ticket-report", path: "/api/v1/ticket-report?from={month}&to={month_after}", may: signedIn},
		{route: "POST /api/v1/tickets", may: can(access.TicketCreate, retail), body: map[string]any{"service": "desktop", "org_unit": v["org_unit"], "summary": "matrix"}},
		{route: "GET /api/v1/tickets/{ref}", path: "/api/v1/tickets/{ticket}", may: readTicket},
		{route: "GET /api/v1/tickets/{ref}/comments", path: "/api/v1/tickets/{ticket}/comments", may: readTicket},
		{route: "POST /api/v1/tickets/{ref}/comments", path: "/api/v1/tickets/{ticket}/comments", may: can(access.TicketWork, svc), body: map[string]any{"body": "matrix"}},
		{route: "POST /api/v1/tickets/{ref}/take", path: "/api/v1/tickets/{ticket}/take", may: can(access.TicketWork, svc)},
		{route: "POST /api/v1/tickets/{ref}/assign", path: "/api/v1/tickets/{ticket}/assign", may: can(access.TicketWork, svc), body: map[string]any{"tier": 2}},
		{route: "POST /api/v1/ticket-assignments", may: can(access.TicketWork, svc), body: map[string]any{"tickets": []string{v["ticket"]}, "tier": 2}},
		{route: "POST /api/v1/tickets/{ref}/move", path: "/api/v1/tickets/{ticket}/move", may: can(access.TicketWork, svc), body: map[string]any{"to": "in_progress"}},
		{route: "POST /api/v1/tickets/{ref}/classify", path: "/api/v1/tickets/{ticket}/classify", may: can(access.TicketWork, svc), body: map[string]any{"urgency": 1}},
		{route: "POST /api/v1/tickets/{ref}/outage", path: "/api/v1/tickets/{ticket}/outage", may: func(p *access.Principal) bool {
			return p.Can(access.TicketWork, svc) && p.Can(access.OutageRecord, svc)
		}, body: map[string]any{"impact": "full"}},
		{route: "POST /api/v1/tickets/{ref}/rating", path: "/api/v1/tickets/{ticket}/rating", may: none, body: map[string]any{"rating": 5}},
		{route: "GET /api/v1/services/{id}/ticket-routes", path: "/api/v1/services/{service}/ticket-routes", may: or(can(access.ServiceManage, svc), can(access.TicketWork, svc))},
		{route: "PUT /api/v1/services/{id}/ticket-routes/{org_unit}", path: "/api/v1/services/{service}/ticket-routes/{org_unit}", may: can(access.ServiceManage, svc),
			body: map[string]any{"group": "Service Desk"}},
		{route: "DELETE /api/v1/services/{id}/ticket-routes/{org_unit}", path: "/api/v1/services/{service}/ticket-routes/{org_unit}", may: can(access.ServiceManage, svc)},
		{route: "GET /api/v1/change-calendar", path: "/api/v1/change-calendar?from=2030-01-01&to=2030-01-10", list: "change", may: plansChanges},
		{route: "GET /api/v1/cab-agenda", list: "change", may: plansChanges},
		{route: "POST /api/v1/change-approvals/{id}/decision", path: "/api/v1/change-approvals/{change_approval}/decision", may: decidesChange, body: map[string]any{"approve": true}},
		{route: "POST /api/v1/tickets/{ref}/orders", path: "/api/v1/tickets/{request}/orders", may: ordersRequest,
			body: map[string]any{"items": []map[string]any{{"offering": "mailbox", "plan": "standard"}}}},
		{route: "POST /api/v1/tickets/{ref}/withdrawal", path: "/api/v1/tickets/{change}/withdrawal", may: withdrawsChange, body: map[string]any{"reason": "matrix"}},
		{route: "GET /api/v1/change-templates", list: "change_template", may: plansChanges},
		{route: "POST /api/v1/change-templates", may: can(access.ChangeManage, provider), body: map[string]any{"name": "mx", "service": "desktop", "summary": "mx",
			"plan": "p", "backout_plan": "b", "duration_minutes": 30}},
		{route: "PUT /api/v1/change-templates/{id}", path: "/api/v1/change-templates/{change_template}", may: can(access.ChangeManage, provider),
			body: map[string]any{"name": "mx", "service": "desktop", "summary": "mx", "plan": "p", "backout_plan": "b", "duration_minutes": 30}},
		{route: "POST /api/v1/change-freezes", may: can(access.ChangeManage, provider), body: map[string]any{"name": "mx", "starts_at": "2031-01-01T00:00:00Z", "ends_at": "2031-01-02T00:00:00Z"}},
		{route: "DELETE /api/v1/change-freezes/{id}", path: "/api/v1/change-freezes/{change_freeze}", may: can(access.ChangeManage, provider)},
		{route: "PUT /api/v1/tickets/{ref}/watch", path: "/api/v1/tickets/{ticket}/watch", may: watchTicket},
		{route: "DELETE /api/v1/tickets/{ref}/watch", path: "/api/v1/tickets/{ticket}/watch", may: watchTicket},
		// Knowledge articles: the published one is read by those who may
		// read the catalog, the draft only by its writers (ticket.work on
		// the service, or desk.manage), who write both.
		{route: "GET /api/v1/articles", list: "draft_article", may: writeArticle},
		{route: "POST /api/v1/articles", may: writeArticle, body: map[string]any{"service": "desktop", "title": "matrix", "body": "matrix"}},
		{route: "GET /api/v1/articles/{id}", path: "/api/v1/articles/{article}", may: readArticle},
		{route: "GET /api/v1/articles/{id}", path: "/api/v1/articles/{draft_article}", may: writeArticle},
		{route: "PUT /api/v1/articles/{id}", path: "/api/v1/articles/{article}", may: writeArticle, body: map[string]any{"title": "matrix", "body": "matrix"}},
		{route: "PATCH /api/v1/articles/{id}", path: "/api/v1/articles/{draft_article}", may: writeArticle, body: map[string]any{"title": "matrix"}},
		{route: "POST /api/v1/articles/{id}/publish", path: "/api/v1/articles/{draft_article}/publish", may: writeArticle},
		{route: "POST /api/v1/articles/{id}/retire", path: "/api/v1/articles/{article}/retire", may: writeArticle},
		{route: "GET /api/v1/article-suggestions", path: "/api/v1/article-suggestions?q=the+printer+on+the+3rd+floor", may: readArticle},
		{route: "GET /api/v1/tickets/{ref}/articles", path: "/api/v1/tickets/{ticket}/articles", may: readTicket},
		{route: "POST /api/v1/tickets/{ref}/articles", path: "/api/v1/tickets/{ticket}/articles", may: can(access.TicketWork, svc), body: map[string]any{"article": v["article"]}},
		{route: "DELETE /api/v1/tickets/{ref}/articles/{id}", path: "/api/v1/tickets/{ticket}/articles/{article}", may: can(access.TicketWork, svc)},
		{route: "GET /api/v1/tickets/{ref}/attachments", path: "/api/v1/tickets/{ticket}/attachments", may: readTicket},
		{route: "POST /api/v1/tickets/{ref}/attachments", path: "/api/v1/tickets/{ticket}/attachments", may: can(access.TicketWork, svc),
			ctype: "multipart/form-data; boundary=matrix", body: "--matrix\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.txt\"\r\n\r\nmatrix\r\n--matrix--\r\n"},
		{route: "GET /api/v1/tickets/{ref}/attachments/{id}", path: "/api/v1/tickets/{ticket}/attachments/{attachment}", may: readTicket},
		{route: "POST /api/v1/tickets/{ref}/problem", path: "/api/v1/tickets/{ticket}/problem", may: can(access.TicketWork, svc), body: map[string]any{"workaround": "matrix"}},
		{route: "POST /api/v1/tickets/{ref}/incidents", path: "/api/v1/tickets/{ticket}/incidents", may: can(access.TicketWork, svc), body: map[string]any{"incident": v["ticket"]}},
		{route: "DELETE /api/v1/tickets/{ref}/incidents/{incident}", path: "/api/v1/tickets/{ticket}/incidents/{ticket}", may: can(access.TicketWork, svc)},
		{route: "POST /api/v1/tickets/{ref}/merge", path: "/api/v1/tickets/{ticket}/merge", may: can(access.TicketWork, svc), body: map[string]any{"into": v["ticket"]}},
		{route: "POST /api/v1/tickets/{ref}/parent", path: "/api/v1/tickets/{ticket}/parent", may: can(access.TicketWork, svc), body: map[string]any{"parent": ""}},
		{route: "POST /api/v1/alertmanager", may: anywhere(access.OutageRecord), body: map[string]any{"version": "4", "status": "firing", "alerts": []any{}}},
		{route: "GET /api/v1/notifications", may: inbox},
		{route: "GET /api/v1/notifications/unread", may: inbox},
		{route: "POST /api/v1/notifications/read", may: inbox},
		{route: "POST /api/v1/notifications/{id}/read", path: "/api/v1/notifications/{missing}/read", may: inbox},
		{route: "GET /api/v1/notification-preferences", may: inbox},
		{route: "PUT /api/v1/notification-preferences", may: inbox, body: map[string]any{"email": "digest"}},
		{route: "GET /api/v1/mails", may: can(access.JobRead, provider)},
		{route: "GET /api/v1/event-types", may: signedIn},
		{route: "GET /api/v1/webhooks", list: "webhook", may: or(can(access.WebhookRead, retail), can(access.WebhookManage, retail))},
		{route: "POST /api/v1/webhooks", may: can(access.WebhookManage, retail), body: map[string]any{"url": "https://hooks.example.com/mx", "org_unit_id": v["org_unit"]}},
		{route: "GET /api/v1/webhooks/{id}", path: "/api/v1/webhooks/{webhook}", may: or(can(access.WebhookRead, retail), can(access.WebhookManage, retail))},
		{route: "PUT /api/v1/webhooks/{id}", path: "/api/v1/webhooks/{webhook}", may: can(access.WebhookManage, retail), body: map[string]any{"url": "https://hooks.example.com/taken", "org_unit_id": v["org_unit"]}},
		{route: "DELETE /api/v1/webhooks/{id}", path: "/api/v1/webhooks/{webhook}", may: can(access.WebhookManage, retail)},
		{route: "POST /api/v1/webhooks/{id}/rotate-secret", path: "/api/v1/webhooks/{webhook}/rotate-secret", may: can(access.WebhookManage, retail)},
		{route: "POST /api/v1/webhooks/{id}/test", path: "/api/v1/webhooks/{webhook}/test", may: can(access.WebhookManage, retail)},
		{route: "GET /api/v1/webhooks/{id}/deliveries", path: "/api/v1/webhooks/{webhook}/deliveries", may: or(can(access.WebhookRead, retail), can(access.WebhookManage, retail))},
		{route: "POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", path: "/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver", may: can(access.WebhookManage, retail)},
		{route: "GET /api/v1/identity-providers", may: can(access.IdentityProviderManage, provider)},
		{route: "POST /api/v1/identity-providers", may: can(access.IdentityProviderManage, provider), body: map[string]any{"code": "mx", "name": "MX", "issuer_url": "https://login.example.com", "client_id": "steward"}},
		{route: "GET /api/v1/identity-providers/{id}", path: "/api/v1/identity-providers/{identity_provider}", may: can(access.IdentityProviderManage, provider)},
		{route: "PUT /api/v1/identity-providers/{id}", path: "/api/v1/identity-providers/{identity_provider}", may: can(access.IdentityProviderManage, provider), body: map[string]any{"code": "mx", "name": "MX", "issuer_url": "https://login.example.com", "client_id": "steward"}},
		{route: "DELETE /api/v1/identity-providers/{id}", path: "/api/v1/identity-providers/{identity_provider}", may: can(access.IdentityProviderManage, provider)},
		{route: "POST /api/v1/identity-providers/{id}/preview", path: "/api/v1/identity-providers/{identity_provider}/preview", may: can(access.IdentityProviderManage, provider), body: map[string]any{"claims": map[string]any{"email": "a@retail.example"}}},
		{route: "GET /api/v1/sign-in-settings", may: can(access.IdentityProviderManage, provider)},
		{route: "PUT /api/v1/sign-in-settings", may: can(access.IdentityProviderManage, provider), body: map[string]any{"local_passwords": false}},
	}

	// Every registered route has a row, and every row a registered route.
	registered := map[string]bool{}
	for _, rt := range (&api.Server{}).Routes() {
		registered[rt.Method+" "+rt.Path] = true
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if !registered[r.route] {
			t.Errorf("matrix row %s is not a registered route", r.route)
		}
		seen[r.route] = true
	}
	for r := range registered {
		if !seen[r] {
			t.Errorf("route %s has no row in the authorisation matrix: add one", r)
		}
	}

	fill := func(path string) string {
		for k, x := range v {
			path = strings.ReplaceAll(path, "{"+k+"}", x)
		}
		return path
	}
	denied := func(code int) bool { return code == 401 || code == 403 || code == 404 }
	requests := 0
	for _, r := range rows {
		method, pattern, _ := strings.Cut(r.route, " ")
		path := r.path
		if path == "" {
			path = pattern
		}
		path = fill(path)
		if strings.Contains(path, "{") {
			if strings.Contains(path, "{task}") && v["task"] == "" {
				continue // no task in the demo's queues
			}
			t.Fatalf("%s: unfilled path %s", r.route, path)
		}
		var body []byte
		switch b := r.body.(type) {
		case nil:
		case string:
			body = []byte(b)
		default:
			body, _ = json.Marshal(b)
		}
		for _, w := range who {
			var pr *access.Principal
			if w.token != "" {
				pr = w.p
			}
			allowed := r.may(pr)
			if w.token == "" && r.may(nil) == false {
				allowed = false
			}
			write := method != "GET"
			if write && allowed {
				continue // not sent: it would change the objects under test
			}
			code, got := m.send(method, path, w.token, r.ctype, body)
			requests++
			switch {
			case code >= 500:
				t.Errorf("%s %s as %s = %d %s", method, path, w.name, code, got)
			case r.list != "" && code == 200:
				if id := v[r.list]; id != "" && !allowed && bytes.Contains(got, []byte(id)) {
					t.Errorf("%s as %s lists %s %s, which it may not read", r.route, w.name, r.list, id)
				}
			case r.list != "":
				if !denied(code) {
					t.Errorf("%s as %s = %d %.200s", r.route, w.name, code, got)
				}
			case allowed && denied(code):
				t.Errorf("%s as %s = %d, want allowed: %.300s", r.route, w.name, code, got)
			case !allowed && r.refusal != "" && code == 422 && bytes.Contains(got, []byte(r.refusal)):
			case !allowed && !denied(code):
				t.Errorf("%s %s as %s = %d, want refused (401, 403 or 404): %.300s", method, path, w.name, code, got)
			}
		}
	}
	t.Logf("%d routes × %d principals: %d requests", len(rows), len(who), requests)
}

func none(*access.Principal) bool { return false }

// inbox allows whoever has notifications: a person, not a token limited
// to some roles.
func inbox(p *access.Principal) bool { return p != nil && !p.Limited() }

func or(a, b expect) expect { return func(p *access.Principal) bool { return a(p) || b(p) } }

// self allows the user themselves (what /me shows of them).
func self(userID string) expect {
	return func(p *access.Principal) bool { return p != nil && p.UserID == userID }
}

// matrixBodies are valid bodies for the writes whose input is an object
// as the API returns it.
type matrixBodies struct {
	service, offering, agreement, newAgreement any
	blueprint                                  string
}

func (m *matrixEnv) bodies(v victims) matrixBodies {
	m.t.Helper()
	ctx, sys := context.Background(), access.System()
	svc, err := m.app.Catalog.Service(ctx, sys, v["service"])
	if err != nil {
		m.t.Fatal(err)
	}
	off, err := m.app.Catalog.Offering(ctx, sys, v["offering"])
	if err != nil {
		m.t.Fatal(err)
	}
	ag, err := m.app.SLA.Agreement(ctx, sys, v["agreement"])
	if err != nil {
		m.t.Fatal(err)
	}
	newAg := ag.Input()
	newAg.Code, newAg.Name = "mx-sla", "Matrix SLA"
	bp, err := os.ReadFile("../blueprint/testdata/web-stack.yaml")
	if err != nil {
		m.t.Fatal(err)
	}
	return matrixBodies{service: svc.Input(), offering: off.Input(), agreement: ag.Input(), newAgreement: newAg, blueprint: string(bp)}
}
