package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
)

var (
	totpKey   = regexp.MustCompile(`<code class="totp-key">([A-Z2-7 ]+)</code>`)
	qrImage   = regexp.MustCompile(`<img class="qr" src="data:image/png;base64,([^"]+)"`)
	recovery  = regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`)
	pendingIn = regexp.MustCompile(`<input type="hidden" name="pending" value="([^"]+)">`)
)

// post sends a form as v and returns the answer, to read its cookies.
func (v *visitor) post(path string, form url.Values) (*http.Response, string) {
	v.p.t.Helper()
	form.Set("csrf", v.csrf)
	req := v.requestBody("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.send(req)
}

// signIn signs in through the sign-in page: the password, then (when the
// page asks for it) the second factor. It returns the session cookie.
func (p *demoPortal) signIn(email string, second func() string) string {
	p.t.Helper()
	anon := p.as("")
	res, body := anon.post("/login", url.Values{"email": {email}, "password": {demo.Password}, "next": {"/account"}})
	if second != nil {
		m := pendingIn.FindStringSubmatch(body)
		if res.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `autocomplete="one-time-code" inputmode="numeric"`) || len(res.Cookies()) > 0 {
			p.t.Fatalf("a right password with two-step sign-in on: %d, cookies %v; want the code form and no session:\n%s", res.StatusCode, res.Cookies(), body)
		}
		res, body = anon.post("/login/code", url.Values{"pending": {m[1]}, "code": {second()}, "next": {"/account"}})
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		p.t.Fatalf("signing in: %d to %q:\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	for _, c := range res.Cookies() {
		if c.Name == identity.SessionCookie {
			return c.Value
		}
	}
	p.t.Fatal("signed in without a session cookie")
	return ""
}

// Issue 19, local accounts: a person sets up two-step sign-in on their
// account page (QR code, key, first code, recovery codes shown once),
// then signs in with password and code, or a recovery code; a wrong code
// keeps the code form; an administrator resets it, which ends the
// person's sessions.
func TestTwoStepSignInInThePortal(t *testing.T) {
	p := newDemoPortal(t)
	dana := p.as("dana@contoso.example")
	_, _, page := dana.do("GET", "/account", nil)
	if !strings.Contains(page, "<h2>Two-step sign-in</h2>") || !strings.Contains(page, "Set up two-step sign-in") {
		t.Fatalf("the account page offers no two-step sign-in:\n%s", page)
	}
	if code, _, _ := dana.do("POST", "/account/two-step", url.Values{"action": {"begin"}}); code != http.StatusSeeOther {
		t.Fatalf("set up: %d", code)
	}
	_, _, page = dana.do("GET", "/account", nil)
	key, qr := totpKey.FindStringSubmatch(page), qrImage.FindStringSubmatch(page)
	if key == nil || qr == nil {
		t.Fatalf("the set-up shows no key or QR code:\n%s", page)
	}
	secret := strings.ReplaceAll(key[1], " ", "")
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(qr[1]))
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() != 240 {
		t.Errorf("the QR code is no 240 px PNG: %v", err)
	}

	// A wrong code is refused on the form; the right one shows the
	// recovery codes, once.
	code, _, page := dana.do("POST", "/account/two-step", url.Values{"action": {"confirm"}, "code": {"12345"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "the code is not correct") || !strings.Contains(page, `id="totp_code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="7" required aria-invalid="true"`) {
		t.Errorf("a wrong first code: %d\n%s", code, page)
	}
	now, _ := totp.GenerateCode(secret, time.Now())
	code, _, page = dana.do("POST", "/account/two-step", url.Values{"action": {"confirm"}, "code": {now}})
	codes := recovery.FindAllStringSubmatch(page, -1)
	if code != http.StatusOK || len(codes) != identity.RecoveryCodeCount || !strings.Contains(page, "Two-step sign-in is on") {
		t.Fatalf("confirm: %d, %d recovery codes:\n%s", code, len(codes), page)
	}
	_, _, page = dana.do("GET", "/account", nil)
	if !strings.Contains(page, "10 recovery codes left") || strings.Contains(page, codes[0][1]) || !strings.Contains(page, "Turn off two-step sign-in") {
		t.Errorf("the account page after set-up:\n%s", page)
	}

	// Signing in: the password, then a code (the next step's: the one that
	// confirmed is used). A wrong code keeps the form and its pending sign-in.
	anon := p.as("")
	res, body := anon.post("/login", url.Values{"email": {"dana@contoso.example"}, "password": {demo.Password}, "next": {"/account"}})
	m := pendingIn.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil || strings.Contains(body, `name="password"`) {
		t.Fatalf("a right password: %d\n%s", res.StatusCode, body)
	}
	res, body = anon.post("/login/code", url.Values{"pending": {m[1]}, "code": {"000000"}, "next": {"/account"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "the code is not correct") || !strings.Contains(body, `value="`+m[1]+`"`) {
		t.Errorf("a wrong code: %d\n%s", res.StatusCode, body)
	}
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	res, body = anon.post("/login/code", url.Values{"pending": {m[1]}, "code": {next}, "next": {"/account"}})
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == identity.SessionCookie {
			cookie = c.Value
		}
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" || cookie == "" {
		t.Fatalf("the right code: %d to %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	signedIn := &visitor{p: p, cookie: cookie}
	if code, _, _ := signedIn.do("GET", "/account", nil); code != http.StatusOK {
		t.Errorf("the session of a two-step sign-in: %d", code)
	}
	// The used pending sign-in is gone: the password form comes back.
	res, body = anon.post("/login/code", url.Values{"pending": {m[1]}, "code": {next}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="password"`) {
		t.Errorf("a used pending sign-in: %d\n%s", res.StatusCode, body)
	}
	// A recovery code signs in too.
	rc := p.signIn("dana@contoso.example", func() string { return codes[0][1] })

	// An administrator resets it from Dana's page: her sessions end, and
	// the password alone signs her in.
	ctx := context.Background()
	u, err := p.app.Identity.UserByEmail(ctx, access.System(), "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	admin := p.as("admin@it.contoso.example")
	_, _, page = admin.do("GET", "/admin/users/"+u.ID, nil)
	if !strings.Contains(page, `<form method="post" action="/admin/users/`+u.ID+`/two-step/reset">`) || !strings.Contains(page, `data-confirm="Reset Dana`) ||
		!strings.Contains(page, "9 recovery codes left") {
		t.Fatalf("Dana's page offers no reset:\n%s", page)
	}
	if code, _, page := admin.do("POST", "/admin/users/"+u.ID+"/two-step/reset", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", code, page)
	}
	for _, c := range []string{cookie, rc, dana.cookie} {
		if code, _, _ := (&visitor{p: p, cookie: c}).do("GET", "/account", nil); code != http.StatusSeeOther {
			t.Errorf("a session after the reset: %d, want sent to sign in", code)
		}
	}
	p.signIn("dana@contoso.example", nil)
	// A consumer may not reset anyone's.
	if code, _, _ := p.as("dana@contoso.example").do("POST", "/admin/users/"+u.ID+"/two-step/reset", url.Values{}); code != http.StatusForbidden {
		t.Errorf("a consumer resets two-step sign-in: %d", code)
	}
}
