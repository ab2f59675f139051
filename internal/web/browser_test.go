package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// chromium finds the browser. Without one the browser tests skip, unless
// STEWARD_TEST_BROWSER=1 (as in CI), where a missing browser fails them.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("STEWARD_TEST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("STEWARD_TEST_BROWSER") == "1" {
		t.Fatal("STEWARD_TEST_BROWSER=1 but no Chromium was found; install chromium or set STEWARD_TEST_CHROMIUM")
	}
	t.Skip("no Chromium found: install chromium to run the browser tests")
	return ""
}

type browser struct {
	t    *testing.T
	page context.Context // the browser; each run gets its own deadline
	base string
	shot string
	// dialogs answers the portal's confirmation questions (yes, unless a
	// test says otherwise).
	dialogs *dialogs
}

// stepPatience is how long one b.run may wait for its conditions. Issue 17,
// item 18: a deadline per step, reached only when a condition never comes,
// not a wall-clock budget for a whole test (a test of many steps on a loaded
// CI machine took 218 s against the old 90 s for the whole test).
const stepPatience = 2 * time.Minute

func newBrowser(t *testing.T, base string) *browser {
	exe := chromium(t)
	// Not t.TempDir: Chromium may still be writing its profile when the
	// test's temporary directories are removed.
	profile, err := os.MkdirTemp("", "steward-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	page, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelC()
		cancelA()
		for range 20 { // the browser lets go of its files shortly after it exits
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first run starts the browser, which lives as long as the context
	// of that run: the page's, without a deadline.
	if err := chromedp.Run(page); err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
	return &browser{t: t, page: page, base: base, shot: os.Getenv("STEWARD_TEST_SCREENSHOTS"), dialogs: answerDialogs(page)}
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	step, cancelStep := context.WithTimeout(b.page, stepPatience)
	defer cancelStep()
	if err := chromedp.Run(step, actions...); err != nil {
		// Where it was and what the page said, also when the run failed
		// by the deadline (asked of the page itself, as until does).
		var loc, body string
		ctx, cancel := context.WithTimeout(b.page, 10*time.Second)
		defer cancel()
		chromedp.Run(ctx, chromedp.Location(&loc), chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &body))
		b.t.Fatalf("browser: %v\nat %s\n%s", err, loc, body)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.run(chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// waitText waits until the page has loaded and the element's text contains
// want: the way to wait for the page a form post leads to (a flash from the
// page before may still be showing).
func waitText(sel, want string) chromedp.Action {
	return until(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.innerText.includes(%q); })()`, sel, want),
		fmt.Sprintf("%q in %s", want, sel))
}

// until polls a JavaScript condition until it is true on a page that has
// finished loading: acting while a navigation is still loading can hang in
// Chromium. Evaluating while the page navigates fails; that is not an answer.
func until(cond, what string) chromedp.Action {
	js := `document.readyState === "complete" && ` + cond
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var ok bool
			if err := chromedp.Evaluate(js, &ok).Do(ctx); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func (b *browser) screenshot(name string) {
	if b.shot == "" {
		return
	}
	var png []byte
	b.run(chromedp.FullScreenshot(&png, 100))
	os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644)
}

func (b *browser) login(email, password string) {
	b.t.Helper()
	b.run(
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", password, chromedp.ByQuery),
		chromedp.Click(`button[type="submit"]`, chromedp.ByQuery),
		// Signed in (the user menu) or refused (an error), on a page that
		// has finished loading: either ends the navigation. (Asked of the
		// page, not of chromedp's copy of its DOM: see until.)
		until(`!!document.querySelector(".who, .error")`, "the page after signing in"),
	)
}

func startPortal(t *testing.T) string {
	base, _ := startApp(t)
	return base
}

// startApp is startPortal with the app, for tests that need its services.
func startApp(t *testing.T) (string, *app.App) {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	// The demo without its service levels: the browser tests define their own.
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), a
}

func TestBrowserAdminJourney(t *testing.T) {
	b := newBrowser(t, startPortal(t))

	// Anonymous visitors land on the sign-in page.
	var loc string
	b.run(chromedp.Navigate(b.base+"/"), chromedp.WaitVisible("#email", chromedp.ByQuery), chromedp.Location(&loc))
	if !strings.Contains(loc, "/login?next=") {
		t.Errorf("anonymous / went to %s, want the login page", loc)
	}

	// A wrong password says so, without telling whether the user exists.
	b.login("admin@it.contoso.example", "not the password")
	b.run(chromedp.WaitVisible(".error", chromedp.ByQuery))
	if got := b.text(".error"); !strings.Contains(got, "email or password is not correct") {
		t.Errorf("wrong password shows %q", got)
	}

	b.login("admin@it.contoso.example", demo.Password)
	b.run(chromedp.WaitVisible("h1", chromedp.ByQuery))
	if got := b.text("h1"); got != "Welcome, Ada Admin" {
		t.Fatalf("home page h1 = %q", got)
	}
	// The navigation's groups hold these (in menus: their text, shown or not).
	var nav string
	b.run(chromedp.Evaluate(`document.querySelector("nav .groups").textContent`, &nav))
	for _, item := range []string{"Org units", "Users", "Groups", "Audit log", "Jobs", "Service levels", "Billing", "Meters"} {
		if !strings.Contains(nav, item) {
			t.Errorf("the admin's navigation lacks %q: %q", item, nav)
		}
	}
	b.screenshot("home")

	// Create an org unit through the form.
	b.run(
		chromedp.Navigate(b.base+"/admin/org-units"),
		chromedp.WaitVisible("#name", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Logistics", chromedp.ByQuery),
		chromedp.SendKeys("#code", "LOG", chromedp.ByQuery),
		chromedp.Click(`form[method="post"][action="/admin/org-units"] button`, chromedp.ByQuery),
		waitText("main", "Created org unit"),
	)
	if got := b.text(".flash"); !strings.Contains(got, "Created org unit Logistics") {
		t.Errorf("after creating an org unit: %q", got)
	}
	if !strings.Contains(b.text("table"), "Logistics") {
		t.Error("the new org unit is not listed")
	}
	// A bad code is refused with the field named.
	b.run(
		chromedp.SendKeys("#name", "Bad", chromedp.ByQuery),
		chromedp.SetAttributeValue("#code", "pattern", ".*", chromedp.ByQuery),
		chromedp.SendKeys("#code", "no spaces allowed", chromedp.ByQuery),
		chromedp.Click(`form[method="post"][action="/admin/org-units"] button`, chromedp.ByQuery),
		waitText("main", "code must be"),
	)
	if got := b.text(".error"); !strings.Contains(got, "code must be") {
		t.Errorf("bad code shows %q", got)
	}
	b.screenshot("orgunits")

	// Create a user and grant a role.
	b.run(
		chromedp.Navigate(b.base+"/admin/users"),
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Nina New", chromedp.ByQuery),
		chromedp.SendKeys("#email", "nina@contoso.example", chromedp.ByQuery),
		chromedp.SendKeys("#password", "a fine long password", chromedp.ByQuery),
		chromedp.Click(`form[method="post"][action="/admin/users"] button`, chromedp.ByQuery),
		waitText("main", "Grant roles below"),
		chromedp.SetValue("#role", "approver", chromedp.ByQuery),
		chromedp.Click(`form[action$="/grants"] button`, chromedp.ByQuery),
		waitText("main", "Granted approver"),
	)
	if got := b.text("main table"); !strings.Contains(got, "approver") {
		t.Errorf("the grant is not shown: %q", got)
	}
	b.screenshot("user")

	// Tokens: the secret is shown once.
	b.run(
		chromedp.Navigate(b.base+"/tokens"),
		chromedp.WaitVisible("#tname", chromedp.ByQuery),
		chromedp.SendKeys("#tname", "deploy script", chromedp.ByQuery),
		chromedp.Click(`form[action="/tokens"] button`, chromedp.ByQuery),
		chromedp.WaitVisible("#secret", chromedp.ByQuery),
	)
	var secret string
	b.run(chromedp.Value("#secret", &secret, chromedp.ByQuery))
	if !strings.HasPrefix(secret, identity.TokenPrefix) {
		t.Errorf("token secret = %q", secret)
	}
	b.screenshot("tokens")
	var html string
	b.run(chromedp.Navigate(b.base+"/tokens"), chromedp.WaitVisible("table", chromedp.ByQuery), chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	if strings.Contains(html, secret) {
		t.Error("the token secret is shown a second time")
	}

	// The audit log shows what happened and verifies.
	b.run(chromedp.Navigate(b.base+"/audit?verify=1"), chromedp.WaitVisible("table.audit", chromedp.ByQuery))
	if got := b.text("main"); !strings.Contains(got, "The chain is intact") || !strings.Contains(got, "token.create") || !strings.Contains(got, "grant.create") {
		t.Errorf("audit page: %q", got)
	}
	b.screenshot("audit")

	// Sign out, then a consumer sees less and may not read the audit log.
	b.run(chromedp.Click(`.who button`, chromedp.ByQuery), waitText("main", "You are signed out"))
	b.login("dana@contoso.example", demo.Password)
	b.run(chromedp.WaitVisible("h1", chromedp.ByQuery))
	b.run(chromedp.Evaluate(`document.querySelector("nav .groups").textContent`, &nav))
	if strings.Contains(nav, "Audit log") || strings.Contains(nav, "Users") {
		t.Errorf("a consumer's navigation shows admin items: %q", nav)
	}
	b.run(chromedp.Navigate(b.base+"/audit"), waitText("h1", "You don't have access to this page"))
	b.screenshot("forbidden")
	if got := b.text("main"); !strings.Contains(got, "403") {
		t.Errorf("a consumer opening the audit log sees %q", got)
	}
	b.run(chromedp.Navigate(b.base+"/admin/org-units"), chromedp.WaitVisible("table", chromedp.ByQuery))
	if got := b.text("table"); strings.Contains(got, "Manufacturing") || !strings.Contains(got, "Retail") {
		t.Errorf("a Retail consumer's org units: %q", got)
	}
	b.screenshot("consumer")

	// The consumer changes their own password; a wrong current one is refused.
	b.run(
		chromedp.Navigate(b.base+"/account"),
		chromedp.WaitVisible("#current_password", chromedp.ByQuery),
		chromedp.SendKeys("#current_password", "not my password", chromedp.ByQuery),
		chromedp.SendKeys("#new_password", "dana's new passphrase", chromedp.ByQuery),
		chromedp.SendKeys("#confirm_password", "dana's new passphrase", chromedp.ByQuery),
		chromedp.Click(`form input[value="password"] ~ button`, chromedp.ByQuery),
		waitText("main", "current password is not correct"),
		chromedp.SendKeys("#current_password", demo.Password, chromedp.ByQuery),
		chromedp.SendKeys("#new_password", "dana's new passphrase", chromedp.ByQuery),
		chromedp.SendKeys("#confirm_password", "dana's new passphrase", chromedp.ByQuery),
		chromedp.Click(`form input[value="password"] ~ button`, chromedp.ByQuery),
		waitText("main", "Your password is changed"),
		chromedp.Click(`.who button`, chromedp.ByQuery),
		waitText("main", "You are signed out"),
	)
	b.login("dana@contoso.example", "dana's new passphrase")
	if got := b.text("h1"); got != "Welcome, Dana Consumer" {
		t.Errorf("sign-in with the new password: h1 = %q", got)
	}
}

// TestBrowserMobileLayout checks the portal at phone width: the page must
// not scroll sideways.
func TestBrowserMobileLayout(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	b.run(chromedp.EmulateViewport(375, 740))
	b.login("admin@it.contoso.example", demo.Password)
	b.run(chromedp.WaitVisible("h1", chromedp.ByQuery), chromedp.Navigate(b.base+"/admin/users"), chromedp.WaitVisible("h1", chromedp.ByQuery))
	var scrollW, clientW int
	b.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollW), chromedp.Evaluate(`document.documentElement.clientWidth`, &clientW))
	if scrollW > clientW+1 {
		t.Errorf("at 375 px the page is %d px wide: it scrolls sideways", scrollW)
	}
	b.screenshot("mobile-users")
}
