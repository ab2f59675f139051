package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// demoPortal is the demo organisation behind a test server.
type demoPortal struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
}

func newDemoPortal(t *testing.T) *demoPortal {
	t.Helper()
	p := newEmptyPortal(t)
	a := p.app
	if _, err := demo.Seed(context.Background(), demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	return p
}

// newEmptyPortal is a fresh install behind a test server: no demo.
func newEmptyPortal(t *testing.T) *demoPortal {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{Database: sqldbtest.Config(t),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &demoPortal{t: t, app: a, srv: srv}
}

// visitor is a browser signed in as one demo user (or none, when email is "").
type visitor struct {
	p            *demoPortal
	cookie, csrf string
}

func (p *demoPortal) as(email string) *visitor {
	p.t.Helper()
	v := &visitor{p: p}
	if email != "" {
		s, err := p.app.Identity.Login(context.Background(), email, demo.Password, "192.0.2.7")
		if err != nil {
			p.t.Fatal(err)
		}
		v.cookie, v.csrf = s.Secret, s.CSRFToken
	}
	return v
}

// do sends a request without following redirects and returns the status,
// the Content-Type and the body.
func (v *visitor) do(method, path string, form url.Values) (int, string, string) {
	v.p.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", v.csrf)
		body = strings.NewReader(form.Encode())
	}
	req := v.requestBody(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, b := v.send(req)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// request is a request without a body, carrying the visitor's session.
func (v *visitor) request(method, path string) *http.Request { return v.requestBody(method, path, nil) }

func (v *visitor) requestBody(method, path string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, v.p.srv.URL+path, body)
	if err != nil {
		v.p.t.Fatal(err)
	}
	if v.cookie != "" {
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: v.cookie})
	}
	return req
}

// send sends req without following redirects and returns the response and its body.
func (v *visitor) send(req *http.Request) (*http.Response, string) {
	v.p.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		v.p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
