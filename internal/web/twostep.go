package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"net/http"

	"github.com/pquerna/otp"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
)

// Two-step sign-in in the portal: the code step of the sign-in page, the
// account page's set-up (QR code, secret, first code, recovery codes shown
// once) and turning it off, and the administrator's reset on a user's page.

// startSession hands the browser its session cookie and sends it on.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, sess *identity.Session, next string) error {
	http.SetCookie(w, &http.Cookie{
		Name: identity.SessionCookie, Value: sess.Secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// codeStep shows the sign-in page's code form for a pending sign-in, with
// an error when there is one.
func (p *Portal) codeStep(w http.ResponseWriter, r *http.Request, pending, next string, status int, failure error) error {
	pg := loginPage{Page: p.pageFor(r, "Sign in"), Next: next, Pending: pending}
	if err := p.fillSignIn(r, &pg); err != nil {
		return err
	}
	if failure != nil {
		pg.Error = errs.As(failure).Message
	}
	return p.render(w, r, status, "login", pg)
}

// loginCode completes a sign-in with the code from the authenticator app
// or a recovery code. While the pending sign-in can take another code the
// code form stays; otherwise the password form comes back.
func (p *Portal) loginCode(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("the form could not be read")
	}
	pending, next := r.PostForm.Get("pending"), safeNext(r.PostForm.Get("next"))
	sess, err := p.Identity.LoginSecondFactor(r.Context(), pending, r.PostForm.Get("code"), middleware.ClientAddr(r))
	if err == nil {
		return p.startSession(w, r, sess, next)
	}
	code := errs.CodeOf(err)
	if code != errs.CodeUnauthenticated && code != errs.CodeTooMany {
		return err
	}
	var again *identity.SecondFactorRequired
	if errors.As(err, &again) || code == errs.CodeTooMany {
		return p.codeStep(w, r, pending, next, errs.HTTPStatus(err), err)
	}
	pg := loginPage{Page: p.pageFor(r, "Sign in"), Next: next}
	if err := p.fillSignIn(r, &pg); err != nil {
		return err
	}
	pg.Error = errs.As(err).Message
	return p.render(w, r, errs.HTTPStatus(err), "login", pg)
}

// twoStepView is the account page's two-step sign-in section: its status,
// and the set-up in progress with its QR code.
func (p *Portal) twoStepView(r *http.Request, pg *accountPage) error {
	pr := middleware.Principal(r.Context())
	st, err := p.Identity.TOTPStatus(r.Context(), pr, pr.UserID)
	if err != nil {
		return err
	}
	pg.TwoStep = st
	if !st.Pending {
		return nil
	}
	if pg.Enrolment, err = p.Identity.TOTPEnrolment(r.Context(), pr); err != nil {
		return err
	}
	for i, c := range pg.Enrolment.Secret {
		if i > 0 && i%4 == 0 {
			pg.Key += " "
		}
		pg.Key += string(c)
	}
	pg.QR, err = qrImage(pg.Enrolment.URL)
	return err
}

// qrImage is the QR code of an otpauth:// URL as a data: URL of a PNG
// (the portal's Content-Security-Policy allows data: images).
func qrImage(u string) (template.URL, error) {
	key, err := otp.NewKeyFromURL(u)
	if err != nil {
		return "", fmt.Errorf("two-step sign-in key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", fmt.Errorf("QR code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", fmt.Errorf("QR code: %w", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}

// twoStep sets up, confirms, cancels or turns off the caller's two-step
// sign-in. The recovery codes are shown in the answer to the confirmation
// and never again: no redirect.
func (p *Portal) twoStep(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	f := r.PostForm
	var err error
	switch f.Get("action") {
	case "begin":
		if _, err = p.Identity.BeginTOTP(r.Context(), pr); err == nil {
			return p.redirect(w, r, "/account#two-step", "Scan the QR code with your authenticator app, then enter the code it shows.")
		}
	case "confirm":
		var codes []string
		if codes, err = p.Identity.ConfirmTOTP(r.Context(), pr, f.Get("code")); err == nil {
			pg, err := p.accountView(r)
			if err != nil {
				return err
			}
			pg.Flash = "Two-step sign-in is on: from now on, signing in asks for a code after your password."
			pg.RecoveryCodes = codes
			return p.render(w, r, http.StatusOK, "account", pg)
		}
	case "cancel":
		if err = p.Identity.CancelTOTP(r.Context(), pr); err == nil {
			return p.redirect(w, r, "/account#two-step", "Set-up of two-step sign-in cancelled.")
		}
	case "disable":
		if err = p.Identity.DisableTOTP(r.Context(), pr, f.Get("password")); err == nil {
			return p.redirect(w, r, "/account#two-step", "Two-step sign-in is off: signing in asks for your password alone.")
		}
	default:
		return errs.Invalid("unknown action %q", f.Get("action"))
	}
	return reshow(p, w, r, "account", err, p.accountView)
}

// resetTwoStep is an administrator turning off someone's two-step sign-in
// (they lost their phone and their recovery codes); their sessions end.
func (p *Portal) resetTwoStep(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := p.Identity.ResetTOTP(r.Context(), middleware.Principal(r.Context()), id)
	if err == nil {
		return p.redirect(w, r, "/admin/users/"+id, "Two-step sign-in reset: they sign in with their password alone until they set it up again; their sessions have ended.")
	}
	return reshow(p, w, r, "user", err, p.userView)
}
