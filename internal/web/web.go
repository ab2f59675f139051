// Package web is Steward's portal: server-rendered HTML from embedded
// templates, no JavaScript build step, usable with a keyboard and a screen
// reader. Each area has its own file of handlers and a template; every page
// is a typed struct embedding Page. Handlers return errors, and one adapter
// turns them into an error page.
//
// Sessions are server-side (identity.Service) in an HttpOnly, SameSite=Lax
// cookie, Secure whenever the portal is reached over HTTPS (browsers refuse
// Secure cookies on plain HTTP, even on localhost). Every form
// carries the session's CSRF token, which unsafe requests must echo; on top
// of that net/http's CrossOriginProtection refuses cross-site unsafe
// requests, which also covers the login form.
package web

import (
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sso"
	"github.com/steward-itaas/steward/internal/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Portal serves the web portal.
type Portal struct {
	Identity *identity.Service
	Audit    *audit.Service
	Jobs     *jobs.Runner
	Catalog  *catalog.Catalog
	Orders   *orders.Service
	Metering *metering.Service
	Rating   *rating.Service
	Billing  *billing.Service
	// Provision and Broker back the instance, provider and platform pages.
	Provision *provision.Service
	Broker    *broker.Broker
	// SLA backs the service level pages.
	SLA *sla.Service
	// Desk is the service desk.
	Desk *desk.Service
	// Knowledge is the desk's knowledge base.
	Knowledge *knowledge.Service
	// Webhooks backs the webhook subscription pages.
	Webhooks *webhook.Service
	// Notify backs the inbox, notification preferences, the mail log and
	// the pages links in mails open.
	Notify *notify.Service
	// SSO is single sign-on: the sign-in buttons and the identity provider
	// pages; SSOPublicURL, when set, is where providers send people back.
	SSO          *sso.Service
	SSOPublicURL string
	Log          *slog.Logger
	Metrics      *middleware.Metrics
	Now          func() time.Time
	// SecureCookies marks every cookie Secure: set when Steward's public URL
	// is https (behind a TLS-terminating proxy). Requests that arrive over
	// TLS get Secure cookies regardless.
	SecureCookies bool

	pages map[string]*template.Template
}

// Page is what every page template gets.
type Page struct {
	Title     string
	Principal *access.Principal
	CSRF      string
	Nav       []NavGroup
	// Unread counts the reader's unread notifications, for the header.
	Unread int
	// Find is what the header's search box holds.
	Find   string
	Flash  string
	Error  string
	Fields map[string]string
}

type ctxKey int

const csrfKey ctxKey = 0

// route is a portal page: pattern, public, handler.
type route struct {
	pattern string
	public  bool
	h       func(http.ResponseWriter, *http.Request) error
}

// Register parses the templates and adds the portal's routes to mux.
func (p *Portal) Register(mux *http.ServeMux) error {
	if err := p.parse(); err != nil {
		return err
	}
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	routes := []route{
		{"GET /login", true, p.loginPage},
		{"POST /login", true, p.login},
		{"POST /login/code", true, p.loginCode},
		{"POST /logout", false, p.logout},
		{"GET /{$}", false, p.home},
		{"GET /roles", false, p.rolesPage},
		{"GET /search", false, p.search},
		{"GET /account", false, show(p, "account", p.accountView)},
		{"POST /account", false, p.updateAccount},
		{"POST /account/two-step", false, p.twoStep},
		{"GET /admin/org-units", false, show(p, "orgunits", p.orgUnitsView)},
		{"POST /admin/org-units", false, p.createOrgUnit},
		{"GET /admin/org-units/{id}", false, show(p, "orgunit", p.orgUnitView)},
		{"POST /admin/org-units/{id}", false, p.updateOrgUnit},
		{"POST /admin/org-units/{id}/delete", false, p.deleteOrgUnit},
		{"GET /admin/users", false, show(p, "users", p.usersView)},
		{"POST /admin/users", false, p.createUser},
		{"GET /admin/users/{id}", false, show(p, "user", p.userView)},
		{"POST /admin/users/{id}", false, p.updateUser},
		{"POST /admin/users/{id}/grants", false, p.createGrant},
		{"POST /admin/users/{id}/two-step/reset", false, p.resetTwoStep},
		{"POST /admin/grants/{id}/delete", false, p.deleteGrant},
		{"GET /admin/groups", false, show(p, "groups", p.groupsView)},
		{"POST /admin/groups", false, p.createGroup},
		{"GET /admin/groups/{id}", false, show(p, "group", p.groupView)},
		{"POST /admin/groups/{id}", false, p.updateGroup},
		{"POST /admin/groups/{id}/grants", false, p.createGroupGrant},
		{"GET /admin/directory-sync", false, show(p, "directory", p.directoryView)},
		{"POST /admin/directory-sync/tokens", false, p.createDirectoryToken},
		{"POST /admin/directory-sync/tokens/{id}/revoke", false, p.revokeDirectoryToken},
		{"POST /admin/groups/{id}/members", false, p.addMember},
		{"POST /admin/groups/{id}/members/{user_id}/delete", false, p.removeMember},
		{"POST /admin/groups/{id}/delete", false, p.deleteGroup},
		{"GET /tokens", false, show(p, "tokens", p.tokensView)},
		{"POST /tokens", false, p.createToken},
		{"POST /tokens/{id}/revoke", false, p.revokeToken},
		{"GET /audit", false, p.auditPage},
		{"GET /admin/jobs", false, show(p, "jobs", p.jobsView)},
		{"POST /admin/jobs", false, p.enqueueJob},

		{"GET /catalog", false, p.catalogPage},
		{"GET /suggest", false, p.suggest},
		{"GET /catalog/{code}", false, show(p, "offering", p.offeringView)},
		{"POST /catalog/{code}/order", false, p.addToCart},
		{"GET /cart", false, p.cartPage},
		{"POST /cart/items/{item}/delete", false, p.removeFromCart},
		{"POST /cart/submit", false, p.checkout},
		{"GET /orders", false, p.ordersPage},
		{"GET /orders/{id}", false, p.orderPage},
		{"POST /orders/{id}/cancel", false, p.cancelOrder},
		{"GET /approvals", false, show(p, "approvals", p.approvalsView)},
		{"POST /approvals/{id}", false, p.decide},
		{"GET /tasks", false, show(p, "tasks", p.tasksView)},
		{"POST /tasks/{id}", false, p.completeTask},
		{"GET /my-services", false, p.myServicesPage},
		{"POST /my-services/{id}/deprovision", false, p.deprovision},
		{"GET /my-services/{id}", false, p.instancePage},
		{"POST /my-services/{id}/change", false, p.changeInstance},
		{"POST /my-services/{id}/bindings", false, p.createBinding},
		{"POST /my-services/{id}/bindings/{binding}/delete", false, p.deleteBinding},
		{"GET /admin/providers", false, show(p, "providers", p.providersView)},
		{"POST /admin/providers", false, p.createProvider},
		{"POST /admin/providers/policy", false, p.setDefaultPolicy},
		{"GET /admin/providers/{code}", false, show(p, "provider", p.providerView)},
		{"POST /admin/providers/{code}/{action}", false, p.providerAction},
		{"GET /admin/blueprints", false, show(p, "blueprints", p.blueprintsView)},
		{"POST /admin/blueprints", false, p.uploadBlueprint},
		{"GET /admin/blueprints/{code}", false, show(p, "blueprint", p.blueprintView)},
		{"GET /admin/platforms", false, show(p, "platforms", p.platformsView)},
		{"POST /admin/platforms", false, p.registerPlatform},
		{"GET /portfolio", false, show(p, "portfolio", p.boardView)},
		{"POST /portfolio", false, p.createService},
		{"GET /portfolio/{code}", false, show(p, "service", p.serviceView)},
		{"POST /portfolio/{code}/transitions", false, p.transitionService},
		{"GET /portfolio/{code}/edit", false, show(p, "service_edit", p.serviceEditView)},
		{"POST /portfolio/{code}/edit", false, p.updateService},
		{"POST /portfolio/{code}/dependencies", false, p.addDependency},
		{"POST /portfolio/{code}/dependencies/{id}/delete", false, p.removeDependency},
		{"POST /portfolio/{code}/routes", false, p.setRoute},
		{"POST /portfolio/{code}/routes/{org_unit}/delete", false, p.removeRoute},
		{"GET /portfolio/{code}/offerings/new", false, show(p, "offering_edit", p.offeringEditView(false))},
		{"POST /portfolio/{code}/offerings", false, p.saveOffering(false)},
		{"GET /costs", false, show(p, "costs", p.costsView)},
		{"GET /usage", false, p.usagePage},
		{"GET /billing/export", false, p.exportFOCUS},
		{"GET /billing", false, show(p, "billing", p.billingView)},
		{"POST /billing/accounts", false, p.saveBillingAccount},
		{"POST /billing/runs", false, p.startBillingRun},
		{"GET /billing/documents/{id}", false, show(p, "document", p.documentView)},
		{"POST /billing/documents/{id}/{action}", false, p.documentAction},
		{"GET /admin/meters", false, show(p, "meters", p.metersView)},
		{"POST /admin/meters", false, p.saveMeter},
		{"GET /catalog/{code}/plans/{plan}/prices", false, show(p, "prices", p.pricesView)},
		{"POST /catalog/{code}/plans/{plan}/prices", false, p.addPriceVersion},
		{"GET /catalog/{code}/edit", false, show(p, "offering_edit", p.offeringEditView(true))},
		{"POST /catalog/{code}/edit", false, p.saveOffering(true)},
	}
	routes = append(routes, p.slaRoutes()...)
	routes = append(routes, p.webhookRoutes()...)
	routes = append(routes, p.ssoRoutes()...)
	routes = append(routes, p.notificationRoutes()...)
	routes = append(routes, p.passwordResetRoutes()...)
	routes = append(routes, p.deskRoutes()...)
	routes = append(routes, p.changeRoutes()...)
	routes = append(routes, p.knowledgeRoutes()...)
	for _, rt := range routes {
		var h http.Handler = p.adapt(rt.h)
		if !rt.public {
			h = p.authenticate(h)
		}
		mux.Handle(rt.pattern, p.Metrics.Wrap(rt.pattern, h))
	}
	// Any other URL is the portal's "page not found" (the API keeps its
	// own problem+json 404 under /api/).
	mux.Handle("/", p.Metrics.Wrap("/", p.withSession(p.adapt(p.notFound))))
	return nil
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"time": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"humanize": humanize,
	// indent is a tree row's depth class (the CSP allows no inline styles).
	"indent": func(depth int) string { return fmt.Sprintf("depth-%d", min(depth, 8)) },
	"field":  func(fields map[string]string, name string) string { return fields[name] },
	"list":   func(xs ...string) []string { return xs },
	"add":    func(a, b int) int { return a + b },
	"neg":    func(a int) int { return -a },
	// due is a due time, or — for none (year 9999: nothing times it).
	"due": func(t *time.Time) string {
		if t == nil || t.Year() >= 9999 {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"levels":    func() map[int]string { return desk.Levels },
	"tiers":     func() []int { return []int{1, 2, 3} },
	"stars":     func() []int { return []int{1, 2, 3, 4, 5} },
	"reportBys": func() []string { return []string{string(desk.ByService), string(desk.ByOrgUnit), string(desk.ByMonth)} },
	"kinds":     func() []desk.Kind { return desk.Kinds },
	"percent":   func(x float64) string { return strconv.FormatFloat(100*x, 'f', 0, 64) + " %" },
	// suggested reports whether the service (code) is one of the suggestions.
	"suggested": func(sg []desk.Suggestion, code string) bool {
		return slices.ContainsFunc(sg, func(s desk.Suggestion) bool { return s.Service.Code == code })
	},
	"money": func(minor int64, currency string) string { return money.New(minor, currency).Decimal() },
	"rfc":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"every": every,
	// sentence starts a message from a service with a capital letter.
	"sentence": capitalise,
	"contains": strings.Contains,
	// marked shows an offering's name or summary with a search's matches
	// marked, as the catalog escaped and marked them (catalog.Highlight).
	"marked": func(o *catalog.Offering, field string) template.HTML {
		if o.Highlight == nil {
			if field == "summary" {
				return template.HTML(template.HTMLEscapeString(o.Summary))
			}
			return template.HTML(template.HTMLEscapeString(o.Name))
		}
		if field == "summary" {
			return template.HTML(o.Highlight.Summary)
		}
		return template.HTML(o.Highlight.Name)
	},
}

// every says how often something runs: "every day", "every 5 minutes".
func every(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if d >= u.d && d%u.d == 0 {
			if n := d / u.d; n > 1 {
				return fmt.Sprintf("every %d %ss", n, u.name)
			}
			return "every " + u.name
		}
	}
	return "every " + d.String()
}

func (p *Portal) parse() error {
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return err
	}
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		return err
	}
	// Files named _*.html hold templates that pages share (the calendar
	// editor): they are parsed with every page and are no page themselves.
	var shared []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "_") {
			body, err := templateFS.ReadFile("templates/" + e.Name())
			if err != nil {
				return err
			}
			shared = append(shared, string(body))
		}
	}
	p.pages = map[string]*template.Template{}
	for _, e := range entries {
		name := e.Name()
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		t := template.New("layout").Funcs(funcs).Funcs(slaFuncs)
		if _, err := t.Parse(string(layout)); err != nil {
			return fmt.Errorf("parse layout: %w", err)
		}
		for _, s := range shared {
			if _, err := t.Parse(s); err != nil {
				return fmt.Errorf("parse shared templates: %w", err)
			}
		}
		body, err := templateFS.ReadFile("templates/" + name)
		if err != nil {
			return err
		}
		if _, err := t.Parse(string(body)); err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		p.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return nil
}

// humanize writes an identifier for people: "service_owner" → "service owner".
func humanize(s any) string { return strings.ReplaceAll(fmt.Sprint(s), "_", " ") }

func contextWithCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey, token)
}

// pageFor fills the common part of a page for a request.
func (p *Portal) pageFor(r *http.Request, title string) Page {
	pr := middleware.Principal(r.Context())
	csrf, _ := r.Context().Value(csrfKey).(string)
	pg := Page{Title: title, Principal: pr, CSRF: csrf, Fields: map[string]string{}}
	if c, err := r.Cookie("steward_flash"); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			pg.Flash = string(b)
		}
	}
	pg.Nav = navFor(pr, r.URL.Path)
	pg.Unread = p.unread(r, pr)
	return pg
}

// render writes a page with the given status.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	t, ok := p.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	page := b.String()
	if strings.Contains(page, "<li data-field=") {
		page = labelFieldErrors(page) // the form's words for its fields
	}
	if _, err := r.Cookie("steward_flash"); err == nil {
		http.SetCookie(w, &http.Cookie{Name: "steward_flash", Path: "/", MaxAge: -1})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	_, err := w.Write([]byte(page))
	return err
}

// redirect sends the browser on after a successful form, with a message
// shown once on the next page.
func (p *Portal) redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: "steward_flash", Value: base64.RawURLEncoding.EncodeToString([]byte(flash)),
			Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: p.secure(r)})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// secure reports whether cookies for this request are Secure.
func (p *Portal) secure(r *http.Request) bool { return p.SecureCookies || r.TLS != nil }

// adapt turns an error-returning handler into a handler that shows an error page.
func (p *Portal) adapt(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		e := errs.As(err)
		if e.Code == errs.CodeUnauthenticated && r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if e.Code == errs.CodeInternal {
			p.Log.Error("portal request failed", "request_id", middleware.RequestID(r.Context()), "path", r.URL.Path, "err", err)
		}
		p.showError(w, r, e)
	})
}

// authenticate loads the session's principal; without one, pages redirect
// to the login page. Unsafe methods must carry the session's CSRF token.
func (p *Portal) authenticate(next http.Handler) http.Handler {
	return p.adapt(func(w http.ResponseWriter, r *http.Request) error {
		c, err := r.Cookie(identity.SessionCookie)
		if err != nil {
			return errs.Unauthenticated("sign in to continue")
		}
		pr, csrf, err := p.Identity.SessionPrincipal(r.Context(), c.Value)
		if err != nil {
			return err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A form with a file (multipart) is read whole, bounded, into
			// memory first: its CSRF token is one of its fields.
			if err := parseMultipart(w, r); err != nil {
				return err
			}
			if err := r.ParseForm(); err != nil {
				return errs.Invalid("the form could not be read")
			}
			if !identity.CheckCSRF(csrf, r.PostForm.Get("csrf")) {
				return errs.Forbidden("the form has expired or did not come from this site; reload the page and try again")
			}
			// A textarea posts its lines ending in CRLF (HTML's form
			// encoding) and what is stored ends them in LF: without this a
			// form saved unchanged would change every text of several lines.
			for _, vals := range []url.Values{r.PostForm, r.Form} {
				for _, vs := range vals {
					for i, v := range vs {
						vs[i] = strings.ReplaceAll(v, "\r\n", "\n")
					}
				}
			}
		}
		ctx := middleware.WithPrincipal(r.Context(), pr)
		ctx = contextWithCSRF(ctx, csrf)
		next.ServeHTTP(w, r.WithContext(ctx))
		return nil
	})
}

// formError shows a form again with the error and the fields that failed;
// errors other than invalid input and conflicts go to the error page.
func formError(pg *Page, err error) error {
	e := errs.As(err)
	if e.Code != errs.CodeInvalid && e.Code != errs.CodeConflict {
		return err
	}
	pg.Error = e.Message
	for _, f := range e.Fields {
		pg.Fields[f.Field] = f.Message
	}
	return nil
}

func statusOf(pg Page) int {
	if pg.Error != "" {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// show is the handler of a page that is its view rendered: the GET of
// every form page whose POST reshows it.
func show[T any](p *Portal, name string, view func(*http.Request) (T, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		pg, err := view(r)
		if err != nil {
			return err
		}
		return p.render(w, r, http.StatusOK, name, pg)
	}
}

// base gives the common Page of any page struct that embeds it.
func (pg *Page) base() *Page { return pg }

// reshow renders a form's page again after err: the page as view builds it,
// with err's message and the fields that failed. Errors other than invalid
// input and conflicts go to the error page instead.
func reshow[T any, PT interface {
	*T
	base() *Page
}](p *Portal, w http.ResponseWriter, r *http.Request, name string, err error, view func(*http.Request) (T, error)) error {
	pg, verr := view(r)
	if verr != nil {
		return verr
	}
	b := PT(&pg).base()
	if err := formError(b, err); err != nil {
		return err
	}
	return p.render(w, r, statusOf(*b), name, pg)
}
