package web

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/notify"
)

// Password reset by mail: "forgot your password?" mails a signed link,
// valid an hour, once, and only while the password it replaces is the
// person's; the link's page asks for the new password.

func (p *Portal) passwordResetRoutes() []route {
	return []route{
		{"GET /login/forgot", true, p.forgotPage},
		{"POST /login/forgot", true, p.forgot},
		{"GET /login/reset/{token}", true, p.resetPage},
		{"POST /login/reset/{token}", true, p.reset},
	}
}

// mayReset reports whether "forgot your password?" can work: mail is sent.
func (p *Portal) mayReset() bool { return p.Notify != nil && p.Notify.Mail.Configured() }

type forgotPage struct {
	Page
	Email string
	Sent  bool
}

func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) error {
	if !p.mayReset() {
		return errs.NotFound("Steward sends no mail here, so passwords are reset by an administrator")
	}
	return p.render(w, r, http.StatusOK, "forgot", forgotPage{Page: p.pageFor(r, "Reset your password")})
}

// forgot mails a reset link to the address if it is someone's who may
// reset their password, and says the same whether or not it is.
func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) error {
	if !p.mayReset() {
		return errs.NotFound("Steward sends no mail here, so passwords are reset by an administrator")
	}
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("the form could not be read")
	}
	email := r.PostForm.Get("email")
	pg := forgotPage{Page: p.pageFor(r, "Reset your password"), Email: email}
	t, err := p.Identity.PasswordResetFor(r.Context(), email, middleware.ClientAddr(r))
	if errs.Is(err, errs.CodeTooMany) {
		pg.Error = errs.As(err).Message
		return p.render(w, r, http.StatusTooManyRequests, "forgot", pg)
	}
	if err != nil {
		return err
	}
	if t != nil {
		if err := p.Notify.SendPasswordReset(r.Context(), t.UserID, t.Name, t.Email, t.Stamp); err != nil {
			// Said on the page would tell who has an account; the log says it.
			p.Log.Error("password reset mail", "request_id", middleware.RequestID(r.Context()), "err", err)
		}
	}
	pg.Sent = true
	return p.render(w, r, http.StatusOK, "forgot", pg)
}

type resetPage struct {
	Page
	Token string
}

func (p *Portal) resetPage(w http.ResponseWriter, r *http.Request) error {
	pg := resetPage{Page: p.pageFor(r, "Choose a new password"), Token: r.PathValue("token")}
	if _, err := p.Notify.OpenLink(r.Context(), pg.Token, notify.ActionReset); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "reset", pg)
}

func (p *Portal) reset(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("the form could not be read")
	}
	pg := resetPage{Page: p.pageFor(r, "Choose a new password"), Token: r.PathValue("token")}
	next := r.PostForm.Get("new_password")
	var err error
	if next != r.PostForm.Get("confirm_password") {
		err = formInvalid("confirm_password", "the two new passwords differ")
	} else {
		err = p.Notify.UseLink(r.Context(), pg.Token, notify.ActionReset, func(l *notify.Link) error {
			return p.Identity.ResetPassword(r.Context(), l.User, l.Object, next)
		})
	}
	if err != nil {
		if ferr := formError(&pg.Page, err); ferr != nil {
			return ferr
		}
		return p.render(w, r, statusOf(pg.Page), "reset", pg)
	}
	return p.redirect(w, r, "/login", "Your password is changed; sign in with it.")
}
