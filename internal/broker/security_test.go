package broker_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/osb/osbtest"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// orgUnitByCode finds a demo org unit.
func orgUnitByCode(t *testing.T, ids *identity.Service, code string) *identity.OrgUnit {
	t.Helper()
	all, err := ids.OrgUnits(context.Background(), access.System())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		if o.Code == code {
			return o
		}
	}
	t.Fatalf("no org unit %s", code)
	return nil
}

// Issue 15, findings 6 and 7: an admin scoped to Retail registers OSB
// platforms for Retail only and sees only those; a platform's user has no
// password at all, so OSB credentials never sign in to the portal.
func TestPlatformsAreScopedAndCannotSignIn(t *testing.T) {
	ctx := context.Background()
	a := seeded(t, sqldbtest.Config(t))
	t.Cleanup(func() { a.Close() })
	retail, mfg := orgUnitByCode(t, a.Identity, "RETAIL"), orgUnitByCode(t, a.Identity, "MFG")
	u, err := a.Identity.CreateUser(ctx, access.System(), identity.CreateUserInput{Email: "retail-admin@contoso.example", Name: "Retail admin", OrgUnitID: retail.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity.CreateGrant(ctx, access.System(), identity.CreateGrantInput{UserID: u.ID, Role: access.RoleAdmin, ScopeKind: access.ScopeOrgUnit, ScopeID: retail.ID}); err != nil {
		t.Fatal(err)
	}
	ra, err := a.Identity.Principal(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pl, err := a.Broker.Register(ctx, ra, broker.PlatformInput{Name: "mfg-cf", OrgUnitID: mfg.ID}); !errs.Is(err, errs.CodeForbidden) && !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("Retail's admin registering a platform for Manufacturing = %+v, %v; want refused", pl, err)
	}
	mine, err := a.Broker.Register(ctx, ra, broker.PlatformInput{Name: "retail-cf", OrgUnitID: retail.ID})
	if err != nil {
		t.Fatalf("Retail's admin registering a platform for Retail: %v", err)
	}
	global := principal(t, a, "admin@it.contoso.example")
	if _, err := a.Broker.Register(ctx, global, broker.PlatformInput{Name: "mfg-k8s", OrgUnitID: mfg.ID}); err != nil {
		t.Fatal(err)
	}
	seenPage, err := a.Broker.Platforms(ctx, ra, sqldb.Page{})
	seen := seenPage.Items
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].ID != mine.ID {
		t.Errorf("Retail's admin sees platforms %+v; want only retail-cf", seen)
	}
	// Nothing was left half made by the refusal: no user for mfg-cf.
	if _, err := a.Identity.UserByEmail(ctx, access.System(), "platform+mfg-cf@osb.steward.example"); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("the refused platform's user exists: %v", err)
	}

	// The platform's user cannot sign in with anything derived from the OSB password.
	pu, err := a.Identity.User(ctx, access.System(), mine.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if pu.HasPassword {
		t.Errorf("the platform's user has a portal password")
	}
	for _, pw := range []string{mine.Password, mine.Password + "!Aa1"} {
		if _, err := a.Identity.Login(ctx, pu.Email, pw, "192.0.2.1"); err == nil {
			t.Errorf("the platform's user signed in to the portal with %q", pw)
		}
	}
}

// TestRegisterIsOneTransaction: issue 15 (nothing half written): the
// platform's machine user, its consumer grant and the platform commit
// together. A platform name that is taken while its user's address is
// free (the earlier platform's user was renamed) makes the platform's
// insert fail after the user was made; nothing of it is left.
func TestRegisterIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	a := seeded(t, sqldbtest.Config(t))
	t.Cleanup(func() { a.Close() })
	retail := orgUnitByCode(t, a.Identity, "RETAIL")
	admin := principal(t, a, "admin@it.contoso.example")
	if _, err := a.Broker.Register(ctx, admin, broker.PlatformInput{Name: "cf", OrgUnitID: retail.ID}); err != nil {
		t.Fatal(err)
	}
	if err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET email = 'renamed@osb.steward.example' WHERE email = 'platform+cf@osb.steward.example'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var users, grants int
	count := func() {
		t.Helper()
		if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
			t.Fatal(err)
		}
		if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM grants`).Scan(&grants); err != nil {
			t.Fatal(err)
		}
	}
	count()
	u0, g0 := users, grants
	if _, err := a.Broker.Register(ctx, admin, broker.PlatformInput{Name: "CF", OrgUnitID: retail.ID}); !errs.Is(err, errs.CodeConflict) {
		t.Fatalf("registering a taken name = %v, want conflict", err)
	}
	count()
	if users != u0 || grants != g0 {
		t.Errorf("a refused registration left %d users and %d grants behind", users-u0, grants-g0)
	}
	if _, err := a.Identity.UserByEmail(ctx, access.System(), "platform+cf@osb.steward.example"); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("the refused platform's user exists: %v", err)
	}
}

// Issue 15, finding 15: OSB basic auth is throttled like sign-in: a
// guesser of a platform's password is slowed (429 with Retry-After), the
// platform keeps working from its own address.
func TestBrokerBasicAuthIsThrottled(t *testing.T) {
	a := seeded(t, sqldbtest.Config(t))
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	pl, _ := platformUnit(t, a, "K8S", "Kubernetes tenants")
	v := osbtest.NewValidator(t, srv.URL+"/osb")
	call := func(pass string) *http.Response {
		res, err := catalogCall(t, v, srv.URL, pl.Username, pass)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var last *http.Response
	for range 20 {
		last = call("guess")
		if last.StatusCode == http.StatusTooManyRequests {
			break
		}
		if last.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d, want 401 or 429", last.StatusCode)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after 20 wrong passwords: %d (Retry-After %q); want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if res := call(pl.Password); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password from the guessing address while slowed: %d, want 429", res.StatusCode)
	}
}

// Issue 15 (review of finding 15): a platform's parallel calls with its
// right credentials are never throttled, also when the credentials cache
// is cold: they share one sign-in instead of racing each other's counts.
func TestBrokerParallelCallsAreNotThrottled(t *testing.T) {
	a := seeded(t, sqldbtest.Config(t))
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	pl, _ := platformUnit(t, a, "K8S", "Kubernetes tenants")
	v := osbtest.NewValidator(t, srv.URL+"/osb")
	codes := make(chan int, 32)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := catalogCall(t, v, srv.URL, pl.Username, pl.Password)
			if err != nil {
				t.Error(err)
				return
			}
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a parallel catalog call with the right credentials = %d, want 200", code)
		}
	}
}

// catalogCall asks the broker at base for its catalog with basic auth,
// checking the exchange against the OSB spec (errors through t, which
// may be called from any goroutine); the body is read and closed.
func catalogCall(t *testing.T, v *osbtest.Validator, base, user, pass string) (*http.Response, error) {
	req, _ := http.NewRequest("GET", base+"/osb/v2/catalog", nil)
	req.Header.Set(osb.HeaderVersion, osb.Version)
	req.SetBasicAuth(user, pass)
	if err := v.Request(req, nil); err != nil {
		t.Errorf("the catalog request breaks the OSB spec: %v", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if err := v.Response(req, nil, res.StatusCode, res.Header, body); err != nil {
		t.Errorf("the catalog's %d answer breaks the OSB spec: %v", res.StatusCode, err)
	}
	return res, nil
}
