package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sso"
)

type loginPage struct {
	Page
	Email string
	Next  string
	// Providers are the single sign-on buttons; LocalPasswords shows the
	// password form, and BreakGlass says only administrators may use it.
	Providers      []sso.SignInOption
	LocalPasswords bool
	BreakGlass     bool
	// MayReset offers "forgot your password?" (mail is sent).
	MayReset bool
	// Pending is a sign-in waiting for its second factor: the page asks
	// for the code instead of the password.
	Pending string
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) error {
	pg := loginPage{Page: p.pageFor(r, "Sign in"), Next: safeNext(r.URL.Query().Get("next"))}
	if err := p.fillSignIn(r, &pg); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "login", pg)
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("the form could not be read")
	}
	email, next := r.PostForm.Get("email"), safeNext(r.PostForm.Get("next"))
	sess, err := p.Identity.Login(r.Context(), email, r.PostForm.Get("password"), middleware.ClientAddr(r))
	var need *identity.SecondFactorRequired
	if errors.As(err, &need) { // a right password; now the code
		return p.codeStep(w, r, need.Pending, next, http.StatusOK, nil)
	}
	if err != nil {
		code := errs.CodeOf(err)
		if code != errs.CodeUnauthenticated && code != errs.CodeTooMany {
			return err
		}
		pg := loginPage{Page: p.pageFor(r, "Sign in"), Email: email, Next: next}
		if err := p.fillSignIn(r, &pg); err != nil {
			return err
		}
		pg.Error = errs.As(err).Message
		return p.render(w, r, errs.HTTPStatus(err), "login", pg)
	}
	return p.startSession(w, r, sess, next)
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(identity.SessionCookie); err == nil {
		if err := p.Identity.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: identity.SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	return p.redirect(w, r, "/login", "You are signed out.")
}

type homePage struct {
	Page
	User   *identity.User
	Grants []*identity.Grant
	Units  int
	Cards  []card
	// Notices are the latest service level warnings the user may read.
	Notices []*sla.Notice
	// Steps is the getting-started checklist, until a service is live.
	Steps []step
}

type card struct{ Title, Text, Href string }

func (p *Portal) home(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	u, err := p.Identity.User(r.Context(), pr, pr.UserID)
	if err != nil {
		return err
	}
	grants, err := p.Identity.Grants(r.Context(), pr, pr.UserID)
	if err != nil {
		return err
	}
	pg := homePage{Page: p.pageFor(r, "Home"), User: u, Grants: grants}
	if pg.Steps, err = p.gettingStarted(r); err != nil {
		return err
	}
	if pr.CanAnywhere(access.OrgUnitRead) {
		units, err := p.Identity.OrgUnits(r.Context(), pr)
		if err != nil {
			return err
		}
		pg.Units = len(units)
		pg.Cards = append(pg.Cards, card{"Org units", "The business units, departments, cost centres, geographies and external customers you look after.", "/admin/org-units"})
	}
	if pr.CanAnywhere(access.UserManage) {
		pg.Cards = append(pg.Cards, card{"Users and roles", "Create users and grant them roles on an org unit, a service or the whole provider.", "/admin/users"})
	}
	if pr.CanAnywhere(access.GroupRead) {
		pg.Cards = append(pg.Cards, card{"Assignment groups", "The teams that fulfil requests and work incidents.", "/admin/groups"})
	}
	if pr.CanAnywhere(access.AuditRead) {
		pg.Cards = append(pg.Cards, card{"Audit log", "Every change, who made it and when, in a verifiable hash chain.", "/audit"})
	}
	pg.Cards = append(pg.Cards, card{"API tokens", "Tokens for scripts and integrations, limited to your roles.", "/tokens"})
	if pr.CanAnywhere(access.AgreementRead) {
		if pg.Notices, err = p.SLA.Notices(r.Context(), pr, 5); err != nil {
			return err
		}
	}
	return p.render(w, r, http.StatusOK, "home", pg)
}

type rolesPage struct {
	Page
	Roles []roleRow
}

type roleRow struct {
	Name        access.Role
	Description string
	Actions     []access.Action
}

func (p *Portal) rolesPage(w http.ResponseWriter, r *http.Request) error {
	pg := rolesPage{Page: p.pageFor(r, "Roles")}
	for _, role := range access.Roles {
		pg.Roles = append(pg.Roles, roleRow{role, role.Description(), role.Allowed()})
	}
	return p.render(w, r, http.StatusOK, "roles", pg)
}

type accountPage struct {
	Page
	User *identity.User
	// Prefs and Kinds are the notification preferences and the kinds of
	// event one may mute.
	Prefs *notify.Preferences
	Kinds []eventKind
	// TwoStep is the two-step sign-in status; Enrolment and QR the set-up
	// in progress; RecoveryCodes are shown once, as it is turned on.
	TwoStep       *identity.TOTPStatus
	Enrolment     *identity.TOTPEnrolment
	QR            template.URL
	Key           string // the enrolment's secret in groups of four
	RecoveryCodes []string
}

func (p *Portal) accountView(r *http.Request) (accountPage, error) {
	pr := middleware.Principal(r.Context())
	u, err := p.Identity.User(r.Context(), pr, pr.UserID)
	if err != nil {
		return accountPage{}, err
	}
	pg := accountPage{Page: p.pageFor(r, "Your account"), User: u}
	if pg.Prefs, pg.Kinds, err = p.notificationPrefs(r); err != nil {
		return pg, err
	}
	return pg, p.twoStepView(r, &pg)
}

// updateAccount changes the caller's name, or their password (which ends
// their other sessions and keeps this one).
func (p *Portal) updateAccount(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	f := r.PostForm
	var err error
	flash := "Saved."
	if f.Get("action") == "password" {
		keep := ""
		if c, cerr := r.Cookie(identity.SessionCookie); cerr == nil {
			keep = c.Value
		}
		if f.Get("new_password") != f.Get("confirm_password") {
			err = formInvalid("confirm_password", "the two new passwords differ")
		} else {
			err = p.Identity.ChangePassword(r.Context(), pr, f.Get("current_password"), f.Get("new_password"), keep)
		}
		flash = "Your password is changed; your other sessions have ended."
	} else {
		name := f.Get("name")
		_, err = p.Identity.UpdateUser(r.Context(), pr, pr.UserID, identity.UpdateUserInput{Name: &name})
	}
	if err == nil {
		return p.redirect(w, r, "/account", flash)
	}
	return reshow(p, w, r, "account", err, p.accountView)
}
