package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
)

// errorPage is the page of a request that failed: the portal's layout, what
// happened in plain words, and a way back.
type errorPage struct {
	Page
	Status int
	// Message is the error's message as a sentence; empty for internal
	// errors, whose text is never shown.
	Message string
	// Back is the portal page the reader came from, when there is one.
	Back string
	// RequestID is the reference to quote when asking for help.
	RequestID string
}

// showError renders the error page for e with e's status.
func (p *Portal) showError(w http.ResponseWriter, r *http.Request, e *errs.Error) {
	status := errs.HTTPStatus(e)
	pg := errorPage{Page: p.pageFor(r, errorTitle(status)), Status: status,
		Back: backLink(r), RequestID: middleware.RequestID(r.Context())}
	if e.Code != errs.CodeInternal {
		pg.Message = sentence(e.Message)
	}
	if err := p.render(w, r, status, "error", pg); err != nil {
		p.Log.Error("render error page", "err", err)
	}
}

// errorTitle is the page title for an error status.
func errorTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusForbidden:
		return "No access"
	case http.StatusInternalServerError:
		return "Something went wrong"
	}
	return http.StatusText(status)
}

// notFound is the page of every URL the portal does not know.
func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) error {
	return errs.NotFound("there is no page at %s", r.URL.Path)
}

// withSession loads the session's principal when there is one, so that a
// page anyone may reach (the not-found page) shows the reader's navigation;
// without a session the request goes on anonymous.
func (p *Portal) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(identity.SessionCookie); err == nil {
			if pr, csrf, err := p.Identity.SessionPrincipal(r.Context(), c.Value); err == nil {
				r = r.WithContext(contextWithCSRF(middleware.WithPrincipal(r.Context(), pr), csrf))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// backLink is the portal page the request came from (its Referer, when that
// is this site and not the failing page itself), or "".
func backLink(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host || ref.Path == "" || !strings.HasPrefix(ref.Path, "/") || strings.HasPrefix(ref.Path, "//") {
		return ""
	}
	back := (&url.URL{Path: ref.Path, RawQuery: ref.RawQuery}).RequestURI()
	if back == r.URL.RequestURI() {
		return ""
	}
	return back
}

// sentence makes a message a sentence, with a capital and a full stop:
// services' messages are written to follow "error: ".
func sentence(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return string(unicode.ToUpper(c)) + s[n:]
}
