package sso_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
	"github.com/steward-itaas/steward/internal/sso"
	"github.com/steward-itaas/steward/internal/sso/ssotest"
)

// env is a Steward served over HTTP, a real OpenID provider beside it,
// and the provider registered in Steward with mapping rules.
type env struct {
	t               *testing.T
	app             *app.App
	base            string
	op              *ssotest.OP
	retail, finance string // org unit IDs
	provider        *sso.Provider
	// skew moves Steward's clock ahead of the real one (nanoseconds).
	skew atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, sys := context.Background(), access.System()
	e := &env{t: t}
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), SecretKey: bytes.Repeat([]byte{9}, 32), WorkerID: t.Name(),
		Now:      func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e.app, e.base = a, srv.URL
	for code, id := range map[string]*string{"RETAIL": &e.retail, "FIN": &e.finance} {
		ou, err := a.Identity.CreateOrgUnit(ctx, sys, identity.CreateOrgUnitInput{Kind: identity.OrgUnitBusinessUnit, Code: code, Name: code})
		if err != nil {
			t.Fatal(err)
		}
		*id = ou.ID
	}
	e.op = ssotest.Start(t, e.base+"/login/sso/corp/callback")
	e.op.SetUser(ssotest.User{ID: "u-ana", Username: "ana", Password: "verysecure", FirstName: "Ana", LastName: "Lima",
		Email: "ana@retail.example", EmailVerified: true,
		Claims: map[string]any{"groups": []any{"staff", "approvers"}, "department": "Retail"}})
	secret := e.op.ClientSecret
	e.provider, err = a.SSO.CreateProvider(ctx, sys, sso.ProviderInput{Code: "corp", Name: "Corp ID", IssuerURL: e.op.Issuer,
		ClientID: e.op.ClientID, ClientSecret: &secret, Rules: []sso.Rule{
			{Name: "finance staff", Claim: "department", Match: sso.MatchContains, Value: "Fin", OrgUnitID: e.finance,
				Grants: []identity.RuleGrant{{Role: access.RoleFinancialManager, ScopeKind: access.ScopeOrgUnit, ScopeID: e.finance}}},
			{Name: "retail people", Match: sso.MatchEmailDomain, Value: "retail.example", OrgUnitID: e.retail,
				Grants: []identity.RuleGrant{{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: e.retail}}},
			{Name: "approvers", Claim: "groups", Match: sso.MatchEquals, Value: "approvers",
				Grants: []identity.RuleGrant{{Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: e.retail}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// browser is an HTTP client with its own cookies, like one browser.
func browser(t *testing.T, stopAt string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if stopAt != "" {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), stopAt) {
				return http.ErrUseLastResponse
			}
			return nil
		}
	}
	return c
}

var loginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn starts at Steward's sign-in button, fills in the provider's own
// login form and follows the redirects. It returns the last response.
func (e *env) signIn(c *http.Client, username, password, next string) *http.Response {
	e.t.Helper()
	res, err := c.Get(e.base + "/login/sso/corp?next=" + url.QueryEscape(next))
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := loginID.FindSubmatch(body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Request.URL.String(), e.op.Issuer) || m == nil {
		e.t.Fatalf("the provider's login form: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	res, err = c.PostForm(e.op.Issuer+"/login/username", url.Values{"username": {username}, "password": {password}, "id": {string(m[1])}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) me(c *http.Client) (int, map[string]any) {
	e.t.Helper()
	res, err := c.Get(e.base + "/api/v1/me")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (e *env) grants(userID string) (rule, manual []string) {
	e.t.Helper()
	ctx, sys := context.Background(), access.System()
	gs, err := e.app.Identity.Grants(ctx, sys, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	byRule, err := e.app.Identity.RuleGrantIDs(ctx, sys, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range gs {
		s := string(g.Role) + "@" + g.ScopeName
		if byRule[g.ID] != "" {
			rule = append(rule, s)
		} else {
			manual = append(manual, s)
		}
	}
	slices.Sort(rule)
	slices.Sort(manual)
	return rule, manual
}

// TestCodeFlowWithARealProvider signs in twice through a real OpenID
// provider over HTTP (authorization code with PKCE, the provider's own
// login form): the first sign-in creates the user and applies the mapping
// rules; the second, after the provider's claims changed, applies them
// again, taking back what no rule gives any more and leaving a grant given
// by hand alone.
func TestCodeFlowWithARealProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, sys := context.Background(), access.System()

	c := browser(t, "")
	res := e.signIn(c, "ana", "verysecure", "/orders")
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.String() != e.base+"/orders" {
		t.Fatalf("after signing in: %d at %s, want the orders page", res.StatusCode, res.Request.URL)
	}
	code, me := e.me(c)
	if user, _ := me["user"].(map[string]any); code != 200 || user["email"] != "ana@retail.example" {
		t.Fatalf("GET /api/v1/me = %d %v", code, me)
	}
	u, err := e.app.Identity.UserByEmail(ctx, sys, "ana@retail.example")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Ana Lima" || u.OrgUnitID != e.retail || u.HasPassword {
		t.Errorf("the user made just in time: %+v, want Ana Lima of RETAIL without a password", u)
	}
	rule, manual := e.grants(u.ID)
	if diff := cmp.Diff([]string{"approver@RETAIL (business unit)", "consumer@RETAIL (business unit)"}, rule); diff != "" || manual != nil {
		t.Errorf("grants after the first sign-in (-want +got):\n%s\nby hand: %v", diff, manual)
	}

	// An administrator grants a role by hand; the provider's claims change.
	if _, err := e.app.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: u.ID, Role: access.RoleAgent, ScopeKind: access.ScopeGlobal}); err != nil {
		t.Fatal(err)
	}
	// She also married and took a new name and address (verified).
	e.op.SetUser(ssotest.User{ID: "u-ana", Username: "ana", Password: "verysecure", FirstName: "Ana", LastName: "Lima-Souza",
		Email: "ana.souza@retail.example", EmailVerified: true, Claims: map[string]any{"groups": []any{"staff"}, "department": "Finance"}})

	// A second browser; next is another site, which Steward does not follow.
	c2 := browser(t, "")
	res = e.signIn(c2, "ana", "verysecure", "https://evil.example/x")
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.String() != e.base+"/" {
		t.Fatalf("after the second sign-in: %d at %s, want Steward's home page", res.StatusCode, res.Request.URL)
	}
	u2, err := e.app.Identity.UserByEmail(ctx, sys, "ana.souza@retail.example")
	if err != nil {
		t.Fatalf("the provider's new verified email did not reach Steward: %v", err)
	}
	if u2.ID != u.ID || u2.OrgUnitID != e.finance || u2.Name != "Ana Lima-Souza" {
		t.Errorf("after the second sign-in: user %s %q of %s, want %s, Ana Lima-Souza, of FIN", u2.ID, u2.Name, u2.OrgUnitID, u.ID)
	}
	rule, manual = e.grants(u.ID)
	if diff := cmp.Diff([]string{"consumer@RETAIL (business unit)", "financial_manager@FIN (business unit)"}, rule); diff != "" {
		t.Errorf("rule grants after the second sign-in (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"agent@the whole provider"}, manual); diff != "" {
		t.Errorf("grants by hand after the second sign-in (-want +got):\n%s", diff)
	}

	// The preview shows what claims would map to, and changes nothing.
	m, err := e.app.SSO.Preview(ctx, sys, "corp", map[string]any{"email": "bo@retail.example", "groups": []any{"approvers"}})
	if err != nil {
		t.Fatal(err)
	}
	want := sso.Mapping{MatchedRules: []int{1, 2}, OrgUnitID: e.retail, Grants: []identity.RuleGrant{
		{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: e.retail},
		{Role: access.RoleApprover, ScopeKind: access.ScopeOrgUnit, ScopeID: e.retail}}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}
	if _, err := e.app.Identity.UserByEmail(ctx, sys, "bo@retail.example"); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("the preview made a user: %v", err)
	}
}

// callback runs a sign-in up to the provider's redirect back to Steward
// and returns that callback URL and the browser's flow cookie.
func (e *env) callback(c *http.Client) (*url.URL, string) {
	e.t.Helper()
	res := e.signIn(c, "ana", "verysecure", "/")
	res.Body.Close()
	loc, err := res.Location()
	if res.StatusCode/100 != 3 || err != nil || !strings.HasPrefix(loc.String(), e.base+"/login/sso/corp/callback") {
		e.t.Fatalf("want the provider's redirect to the callback, got %d %v", res.StatusCode, loc)
	}
	u, _ := url.Parse(e.base + "/login/sso/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sso.FlowCookie {
			return loc, ck.Value
		}
	}
	e.t.Fatal("no flow cookie in the browser")
	return nil, ""
}

func get(t *testing.T, c *http.Client, u string, cookie string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sso.FlowCookie, Value: cookie})
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestCallbackRefusals: a callback with another state, from another
// browser, with an ID token of another nonce, or from a provider whose
// issuer is not the one configured, signs nobody in.
func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	stop := e.base + "/login/sso/corp/callback"

	t.Run("state", func(t *testing.T) {
		loc, cookie := e.callback(browser(t, stop))
		q := loc.Query()
		q.Set("state", q.Get("state")+"x")
		loc.RawQuery = q.Encode()
		if code, body := get(t, plain, loc.String(), cookie); code != 401 || !strings.Contains(body, "did not start in this browser") {
			t.Errorf("another state = %d %.300s", code, body)
		}
	})
	t.Run("browser", func(t *testing.T) {
		loc, _ := e.callback(browser(t, stop))
		if code, body := get(t, plain, loc.String(), ""); code != 401 || !strings.Contains(body, "did not start in this browser") {
			t.Errorf("another browser = %d %.300s", code, body)
		}
	})
	t.Run("nonce", func(t *testing.T) {
		loc, cookie := e.callback(browser(t, stop))
		forged, err := sso.ForgeNonce(e.app.SSO, cookie, "another-nonce")
		if err != nil {
			t.Fatal(err)
		}
		if code, body := get(t, plain, loc.String(), forged); code != 401 || !strings.Contains(body, "could not be verified") {
			t.Errorf("another nonce = %d %.300s", code, body)
		}
	})
	t.Run("too late", func(t *testing.T) {
		loc, cookie := e.callback(browser(t, stop))
		e.skew.Store(int64(sso.FlowTTL + time.Second))
		defer e.skew.Store(0)
		if code, body := get(t, plain, loc.String(), cookie); code != 401 || !strings.Contains(body, "took longer than 10 minutes") {
			t.Errorf("a callback after the flow's time = %d %.300s", code, body)
		}
	})
	t.Run("error", func(t *testing.T) {
		loc, cookie := e.callback(browser(t, stop))
		q := loc.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		loc.RawQuery = q.Encode()
		if code, body := get(t, plain, loc.String(), cookie); code != 401 || !strings.Contains(body, "did not sign you in") {
			t.Errorf("an error from the provider = %d %.300s", code, body)
		}
	})
	t.Run("issuer", func(t *testing.T) {
		// The provider announces http://127.0.0.1:port; this one is
		// registered as http://localhost:port, the same server.
		ctx, sys := context.Background(), access.System()
		secret := e.op.ClientSecret
		if _, err := e.app.SSO.CreateProvider(ctx, sys, sso.ProviderInput{Code: "wrong", Name: "Wrong", ClientID: e.op.ClientID, ClientSecret: &secret,
			IssuerURL: strings.Replace(e.op.Issuer, "127.0.0.1", "localhost", 1)}); err != nil {
			t.Fatal(err)
		}
		if code, body := get(t, plain, e.base+"/login/sso/wrong", ""); code != 503 || !strings.Contains(body, "could not be reached or its discovery document is not valid") {
			t.Errorf("a provider of another issuer = %d %.300s", code, body)
		}
	})
	t.Run("unverified email", func(t *testing.T) {
		// A Steward user with this email exists; the provider has not
		// verified that the email is the person's: no takeover.
		ctx, sys := context.Background(), access.System()
		if _, err := e.app.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "bo@retail.example", Name: "Bo", Password: "a long enough password"}); err != nil {
			t.Fatal(err)
		}
		e.op.SetUser(ssotest.User{ID: "u-bo", Username: "bo", Password: "verysecure", FirstName: "Bo", Email: "bo@retail.example", EmailVerified: false})
		c := browser(t, "")
		res := e.signIn(c, "bo", "verysecure", "/")
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 409 || !strings.Contains(string(body), "has not verified that this email is yours") {
			t.Errorf("an unverified email of an existing user = %d %.300s", res.StatusCode, body)
		}
		if code, _ := e.me(c); code != 401 {
			t.Errorf("signed in after the refusal: /api/v1/me = %d", code)
		}
	})
	// Nobody was signed in by any of it.
	if _, err := e.app.Identity.UserByEmail(context.Background(), access.System(), "ana@retail.example"); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("a refused callback made the user: %v", err)
	}
}

// TestLocalPasswordsOff: with local passwords turned off, a user's
// password no longer signs them in, but a global administrator's still
// does (break glass).
func TestLocalPasswordsOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, sys := context.Background(), access.System()
	const pw = "a long enough password"
	if _, err := e.app.Identity.CreateAdmin(ctx, sys, identity.CreateUserInput{Email: "root@example.com", Name: "Root", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "bo@example.com", Name: "Bo", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Identity.SetLocalPasswords(ctx, sys, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Identity.Login(ctx, "bo@example.com", pw, "192.0.2.1"); !errs.Is(err, errs.CodeUnauthenticated) || !strings.Contains(err.Error(), "turned off") {
		t.Errorf("a user's password with local passwords off: %v", err)
	}
	if _, err := e.app.Identity.Login(ctx, "root@example.com", pw, "192.0.2.1"); err != nil {
		t.Errorf("an administrator's password with local passwords off: %v", err)
	}
	if err := e.app.Identity.SetLocalPasswords(ctx, sys, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Identity.Login(ctx, "bo@example.com", pw, "192.0.2.1"); err != nil {
		t.Errorf("a user's password with local passwords on again: %v", err)
	}
}

// A provider's name claim is stored as text both databases take: invalid
// UTF-8 and NUL dropped, cut to 200 bytes of whole characters.
func TestSignInExternalKeepsNamesStorable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, sys := context.Background(), access.System()
	name := strings.Repeat("é", 150) + "\x00\xff"
	if _, _, err := e.app.Identity.SignInExternal(ctx, identity.ExternalSignIn{ProviderID: e.provider.ID, ProviderCode: "corp", Subject: "s-1",
		Email: "long@retail.example", EmailVerified: true, Name: name}); err != nil {
		t.Fatal(err)
	}
	u, err := e.app.Identity.UserByEmail(ctx, sys, "long@retail.example")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("é", 100); u.Name != want {
		t.Errorf("name stored as %q (%d bytes), want 100 é", u.Name, len(u.Name))
	}
}
