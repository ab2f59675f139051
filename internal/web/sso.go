package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sso"
)

// ssoRoutes are single sign-on's pages: the flow through a provider (public)
// and the administrators' pages of providers and mapping rules.
func (p *Portal) ssoRoutes() []route {
	return []route{
		{"GET /login/sso/{code}", true, p.ssoBegin},
		{"GET /login/sso/{code}/callback", true, p.ssoCallback},
		{"GET /admin/identity-providers", false, show(p, "sso_providers", p.ssoProvidersView)},
		{"POST /admin/identity-providers", false, p.ssoCreate},
		{"POST /admin/identity-providers/local-passwords", false, p.ssoLocalPasswords},
		{"GET /admin/identity-providers/{code}", false, show(p, "sso_provider", p.ssoProviderView)},
		{"POST /admin/identity-providers/{code}", false, p.ssoUpdate},
		{"POST /admin/identity-providers/{code}/preview", false, p.ssoPreview},
		{"POST /admin/identity-providers/{code}/delete", false, p.ssoDelete},
	}
}

// ssoBase is Steward's URL as the identity provider redirects back to it:
// the public URL when one is configured, else the one this request used.
func (p *Portal) ssoBase(r *http.Request) string {
	if p.SSOPublicURL != "" {
		return strings.TrimSuffix(p.SSOPublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func ssoCallbackPath(code string) string { return "/login/sso/" + url.PathEscape(code) + "/callback" }

// fillSignIn adds the single sign-on buttons and the local password
// setting to the sign-in page.
func (p *Portal) fillSignIn(r *http.Request, pg *loginPage) error {
	pg.MayReset = p.mayReset()
	if p.SSO == nil {
		pg.LocalPasswords = true
		return nil
	}
	opts, err := p.SSO.SignInOptions(r.Context())
	if err != nil {
		return err
	}
	pg.Providers = opts
	on, err := p.Identity.LocalPasswords(r.Context())
	if err != nil {
		return err
	}
	// Administrators keep a way in with their password (break glass):
	// /login?local=1 shows the form when local passwords are turned off.
	pg.LocalPasswords = on || len(opts) == 0 || r.URL.Query().Get("local") == "1" || r.PostForm.Get("local") == "1"
	pg.BreakGlass = !on
	return nil
}

func (p *Portal) ssoBegin(w http.ResponseWriter, r *http.Request) error {
	code := r.PathValue("code")
	next := safeNext(r.URL.Query().Get("next"))
	authURL, cookie, err := p.SSO.Begin(r.Context(), code, p.ssoBase(r)+ssoCallbackPath(code), next)
	if err != nil {
		return p.ssoRefused(w, r, err)
	}
	http.SetCookie(w, &http.Cookie{Name: sso.FlowCookie, Value: cookie, Path: "/login/sso/", MaxAge: int(sso.FlowTTL.Seconds()),
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
	return nil
}

func (p *Portal) ssoCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	cb := sso.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description")}
	if c, err := r.Cookie(sso.FlowCookie); err == nil {
		cb.Cookie = c.Value
	}
	// The flow is single use: its cookie goes whatever the outcome.
	http.SetCookie(w, &http.Cookie{Name: sso.FlowCookie, Path: "/login/sso/", MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	sess, next, err := p.SSO.Finish(r.Context(), r.PathValue("code"), cb)
	if err != nil {
		return p.ssoRefused(w, r, err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: identity.SessionCookie, Value: sess.Secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

// ssoRefused shows the sign-in page with why single sign-on did not work.
func (p *Portal) ssoRefused(w http.ResponseWriter, r *http.Request, err error) error {
	e := errs.As(err)
	switch e.Code {
	case errs.CodeUnauthenticated, errs.CodeConflict, errs.CodeNotFound, errs.CodeUnavailable, errs.CodeInvalid:
	default:
		return err
	}
	pg := loginPage{Page: p.pageFor(r, "Sign in"), Next: "/"}
	if ferr := p.fillSignIn(r, &pg); ferr != nil {
		return ferr
	}
	pg.Error = e.Message
	return p.render(w, r, errs.HTTPStatus(err), "login", pg)
}

type ssoProvidersPage struct {
	Page
	More           string
	Providers      []*sso.Provider
	LocalPasswords bool
	// Base is Steward's URL the callback URLs start with.
	Base string
	Form ssoForm
}

// ssoForm is a provider's form, as posted.
type ssoForm struct {
	Code, Name, IssuerURL, ClientID, Scopes, Rules string
	Enabled                                        bool
}

func (p *Portal) ssoProvidersView(r *http.Request) (ssoProvidersPage, error) {
	pr := middleware.Principal(r.Context())
	pg := ssoProvidersPage{Page: p.pageFor(r, "Single sign-on"), Base: p.ssoBase(r), Form: ssoForm{Scopes: "openid email profile", Rules: "[]", Enabled: true}}
	var err error
	ps, err := p.SSO.Providers(r.Context(), pr, sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return pg, err
	}
	pg.Providers, pg.More = ps.Items, moreLink(r, ps.Next)
	pg.LocalPasswords, err = p.Identity.LocalPasswords(r.Context())
	return pg, err
}

// ssoInput reads a provider's form. The rules are a JSON array.
func ssoInput(r *http.Request) (sso.ProviderInput, ssoForm, error) {
	f := r.PostForm
	form := ssoForm{Code: f.Get("code"), Name: f.Get("name"), IssuerURL: f.Get("issuer_url"), ClientID: f.Get("client_id"),
		Scopes: f.Get("scopes"), Rules: strings.TrimSpace(f.Get("rules")), Enabled: f.Get("enabled") == "on"}
	in := sso.ProviderInput{Code: form.Code, Name: form.Name, IssuerURL: form.IssuerURL, ClientID: form.ClientID,
		Scopes: strings.Fields(form.Scopes), Enabled: &form.Enabled}
	if s := f.Get("client_secret"); s != "" || f.Get("clear_secret") == "on" {
		in.ClientSecret = &s
	}
	if form.Rules != "" {
		dec := json.NewDecoder(strings.NewReader(form.Rules))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in.Rules); err != nil {
			return in, form, formInvalid("rules", "the rules must be a JSON array of rules as shown below: "+strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	return in, form, nil
}

func (p *Portal) ssoCreate(w http.ResponseWriter, r *http.Request) error {
	in, form, err := ssoInput(r)
	if err == nil {
		var created *sso.Provider
		if created, err = p.SSO.CreateProvider(r.Context(), middleware.Principal(r.Context()), in); err == nil {
			return p.redirect(w, r, "/admin/identity-providers/"+created.Code, created.Name+" is registered. Register the callback URL shown here with the provider.")
		}
	}
	return reshow(p, w, r, "sso_providers", err, func(r *http.Request) (ssoProvidersPage, error) {
		pg, verr := p.ssoProvidersView(r)
		pg.Form = form
		return pg, verr
	})
}

func (p *Portal) ssoLocalPasswords(w http.ResponseWriter, r *http.Request) error {
	on := r.PostForm.Get("local_passwords") == "on"
	if err := p.Identity.SetLocalPasswords(r.Context(), middleware.Principal(r.Context()), on); err != nil {
		return err
	}
	msg := "People may sign in with Steward passwords again."
	if !on {
		msg = "Steward passwords are turned off: people sign in through single sign-on; global administrators keep their password at /login?local=1."
	}
	return p.redirect(w, r, "/admin/identity-providers", msg)
}

type ssoProviderPage struct {
	Page
	Provider *sso.Provider
	Callback string
	Form     ssoForm
	// Claims and Preview are the "test these claims" form and its answer.
	Claims  string
	Preview *ssoPreview
	Units   map[string]string
}

// ssoPreview is a mapping as people read it.
type ssoPreview struct {
	Matched []string
	OrgUnit string
	Grants  []string
}

func (p *Portal) ssoProviderView(r *http.Request) (ssoProviderPage, error) {
	pr := middleware.Principal(r.Context())
	prov, err := p.SSO.Provider(r.Context(), pr, r.PathValue("code"))
	if err != nil {
		return ssoProviderPage{}, err
	}
	rules, _ := json.MarshalIndent(prov.Rules, "", "  ")
	pg := ssoProviderPage{Page: p.pageFor(r, prov.Name+" · single sign-on"), Provider: prov, Callback: p.ssoBase(r) + ssoCallbackPath(prov.Code),
		Form: ssoForm{Code: prov.Code, Name: prov.Name, IssuerURL: prov.IssuerURL, ClientID: prov.ClientID, Scopes: strings.Join(prov.Scopes, " "),
			Rules: string(rules), Enabled: prov.Enabled},
		Claims: `{"email": "ana@example.com", "groups": ["staff"], "department": "Retail"}`}
	return pg, nil
}

func (p *Portal) ssoUpdate(w http.ResponseWriter, r *http.Request) error {
	in, form, err := ssoInput(r)
	if err == nil {
		var saved *sso.Provider
		if saved, err = p.SSO.UpdateProvider(r.Context(), middleware.Principal(r.Context()), r.PathValue("code"), in); err == nil {
			return p.redirect(w, r, "/admin/identity-providers/"+saved.Code, "Saved. The rules apply from each person's next sign-in.")
		}
	}
	return reshow(p, w, r, "sso_provider", err, func(r *http.Request) (ssoProviderPage, error) {
		pg, verr := p.ssoProviderView(r)
		pg.Form = form
		return pg, verr
	})
}

func (p *Portal) ssoPreview(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	pg, err := p.ssoProviderView(r)
	if err != nil {
		return err
	}
	pg.Claims = r.PostForm.Get("claims")
	var claims map[string]any
	if err := json.Unmarshal([]byte(pg.Claims), &claims); err != nil || claims == nil {
		pg.Error = "The claims must be a JSON object, such as the one shown."
		pg.Fields["claims"] = "claims must be a JSON object"
		return p.render(w, r, http.StatusUnprocessableEntity, "sso_provider", pg)
	}
	m, err := p.SSO.Preview(r.Context(), pr, r.PathValue("code"), claims)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if units, err := p.Identity.OrgUnits(r.Context(), pr); err == nil {
		for _, u := range units {
			names[u.ID] = u.Name + " (" + u.Code + ")"
		}
	}
	prev := &ssoPreview{}
	for _, i := range m.MatchedRules {
		label := pg.Provider.Rules[i].Name
		if label == "" {
			label = pg.Provider.Rules[i].Claim + " " + string(pg.Provider.Rules[i].Match) + " " + pg.Provider.Rules[i].Value
		}
		prev.Matched = append(prev.Matched, label)
	}
	if m.OrgUnitID != "" {
		prev.OrgUnit = names[m.OrgUnitID]
		if prev.OrgUnit == "" {
			prev.OrgUnit = m.OrgUnitID
		}
	}
	for _, g := range m.Grants {
		scope := "the whole provider"
		if g.ScopeKind == access.ScopeOrgUnit {
			scope = names[g.ScopeID]
		} else if g.ScopeKind == access.ScopeService {
			scope = "service " + g.ScopeID
		}
		prev.Grants = append(prev.Grants, g.Role.Name()+" on "+scope)
	}
	pg.Preview = prev
	return p.render(w, r, http.StatusOK, "sso_provider", pg)
}

func (p *Portal) ssoDelete(w http.ResponseWriter, r *http.Request) error {
	if err := p.SSO.DeleteProvider(r.Context(), middleware.Principal(r.Context()), r.PathValue("code")); err != nil {
		return err
	}
	return p.redirect(w, r, "/admin/identity-providers", "The identity provider is deleted, with the grants its rules gave; its users keep their Steward accounts.")
}
