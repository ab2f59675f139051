package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/steward-itaas/steward/internal/demo"
)

// Issue 19, local accounts, in a browser: Dana sets up two-step sign-in on
// her account page (the QR code shows: the portal's Content-Security-Policy
// lets a data: image through; the set-up fits a phone), sees her recovery
// codes, signs out, and signs in with her password and then a code.
func TestBrowserTwoStepSignIn(t *testing.T) {
	b := newBrowser(t, startPortal(t))
	b.login("dana@contoso.example", demo.Password)
	b.run(
		chromedp.Navigate(b.base+"/account"),
		chromedp.WaitVisible(`#two-step form input[value="begin"] ~ button`, chromedp.ByQuery),
		chromedp.Click(`#two-step form input[value="begin"] ~ button`, chromedp.ByQuery),
		waitText("#two-step", "Scan this QR code"),
	)
	// The QR code is drawn (an image the CSP refused would have no size).
	var drawn bool
	b.run(until(`document.querySelector("img.qr").complete`, "the QR code"),
		chromedp.Evaluate(`document.querySelector("img.qr").naturalWidth === 240`, &drawn))
	if !drawn {
		t.Error("the QR code is not drawn")
	}
	b.run(chromedp.ScrollIntoView("#two-step", chromedp.ByQuery))
	b.screenshot("two-step-setup")
	for _, w := range widths {
		var got struct {
			Scroll, Client int
			Broken         []string
		}
		b.run(chromedp.EmulateViewport(w.w, w.h), chromedp.Navigate(b.base+"/account#two-step"), until(`!!document.querySelector("img.qr")`, "the set-up"),
			chromedp.Evaluate(layoutCheck, &got))
		if got.Scroll > got.Client+1 || len(got.Broken) > 0 {
			t.Errorf("the set-up at %s: %d px wide in %d px, words broken: %q", w.name, got.Scroll, got.Client, got.Broken)
		}
		if w.w < 500 {
			b.run(chromedp.ScrollIntoView("#two-step", chromedp.ByQuery))
			b.screenshot("two-step-setup-" + w.name)
		}
	}
	b.run(chromedp.EmulateViewport(1280, 900))

	key := strings.ReplaceAll(b.text("code.totp-key"), " ", "")
	code, err := totp.GenerateCode(key, time.Now())
	if err != nil {
		t.Fatalf("the key %q: %v", key, err)
	}
	b.run(
		chromedp.SendKeys("#totp_code", code, chromedp.ByQuery),
		chromedp.Click(`#two-step form input[value="confirm"] ~ button`, chromedp.ByQuery),
		waitText("main", "Your recovery codes"),
	)
	var codes []string
	b.run(chromedp.Evaluate(`[...document.querySelectorAll(".recovery-codes code")].map(c => c.textContent)`, &codes))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	b.run(chromedp.ScrollIntoView(".recovery-codes", chromedp.ByQuery))
	b.screenshot("two-step-recovery-codes")

	// Signing in again: the password, then the code form.
	b.run(chromedp.Click(`.who button`, chromedp.ByQuery), waitText("main", "You are signed out"))
	b.run(
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SendKeys("#email", "dana@contoso.example", chromedp.ByQuery),
		chromedp.SendKeys("#password", demo.Password, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button`, chromedp.ByQuery),
		until(`!!document.querySelector("#code")`, "the code form"),
	)
	var attrs struct{ Autocomplete, Inputmode string }
	b.run(chromedp.Evaluate(`(() => { const c = document.querySelector("#code"); return {Autocomplete: c.autocomplete, Inputmode: c.inputMode}; })()`, &attrs))
	if attrs.Autocomplete != "one-time-code" || attrs.Inputmode != "numeric" {
		t.Errorf("the code field: %+v", attrs)
	}
	b.screenshot("two-step-code")
	next, _ := totp.GenerateCode(key, time.Now().Add(30*time.Second)) // the confirming code is used
	b.run(
		chromedp.SendKeys("#code", next, chromedp.ByQuery),
		chromedp.Click(`form[action="/login/code"] button`, chromedp.ByQuery),
		until(`!!document.querySelector(".who, .error")`, "the page after the code"),
	)
	if got := b.text("h1"); !strings.HasPrefix(got, "Welcome, Dana") {
		t.Errorf("after the code, the page says %q, want the home page", got)
	}
	b.run(chromedp.Navigate(b.base+"/account"), waitText("#two-step", "recovery codes left"))
	if got := b.text("#two-step"); !strings.Contains(got, "10 recovery codes left") {
		t.Errorf("the account page after signing in with a code:\n%s", got)
	}
}
