package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/notify/smtptest"
)

var resetLink = regexp.MustCompile(`https?://\S+/login/reset/\S+`)

// Forgot your password: the page answers alike for an address with an
// account and one without, mails only the first a link (through a real
// SMTP server), and the link sets a new password once, ending the old one
// and every session.
func TestPasswordResetByMail(t *testing.T) {
	base, a, mail := startMailingApp(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		res, err := client.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if _, body := get("/login"); !strings.Contains(body, `href="/login/forgot"`) {
		t.Fatal("the sign-in page offers no reset")
	}
	// The demo's own history is being mailed meanwhile: the reset mails
	// are those with their subject.
	resets := func(m []smtptest.Message) []smtptest.Message {
		var out []smtptest.Message
		for _, x := range m {
			if x.Subject == "Reset your Steward password" {
				out = append(out, x)
			}
		}
		return out
	}
	_, nobody := post("/login/forgot", url.Values{"email": {"nobody@contoso.example"}})
	code, body := post("/login/forgot", url.Values{"email": {"dana@contoso.example"}})
	if code != 200 || !strings.Contains(body, "is on its way") || strings.Replace(nobody, "nobody@", "dana@", 1) != body {
		t.Fatalf("the page answers differently for an account and for none:\n%s", body)
	}
	msgs := resets(mail.WaitFor(t, "the reset mail", func(m []smtptest.Message) bool { return len(resets(m)) > 0 }))
	if len(msgs) != 1 || msgs[0].To != "dana@contoso.example" {
		t.Fatalf("reset mails: %d, the first to %s", len(msgs), msgs[0].To)
	}
	link := resetLink.FindString(msgs[0].Text)
	path := strings.TrimPrefix(link, base)
	if link == "" || path == link {
		t.Fatalf("no reset link to %s in:\n%s", base, msgs[0].Text)
	}
	ctx := context.Background()
	old, err := a.Identity.Login(ctx, "dana@contoso.example", demo.Password, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(path); code != 200 {
		t.Fatalf("GET of the link: %d", code)
	}
	if code, body := post(path, url.Values{"new_password": {"short"}, "confirm_password": {"short"}}); code != 422 {
		t.Fatalf("a short password: %d\n%s", code, body)
	}
	next := "a brand new long passphrase"
	if code, _ := post(path, url.Values{"new_password": {next}, "confirm_password": {next}}); code != 200 { // followed to /login
		t.Fatalf("setting the password: %d", code)
	}
	if _, _, err := a.Identity.SessionPrincipal(ctx, old.Secret); err == nil {
		t.Error("a session from before the reset lives on")
	}
	if _, err := a.Identity.Login(ctx, "dana@contoso.example", demo.Password, "192.0.2.9"); err == nil {
		t.Error("the old password still signs in")
	}
	if _, err := a.Identity.Login(ctx, "dana@contoso.example", next, "192.0.2.9"); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
	if code, body := post(path, url.Values{"new_password": {next + "!"}, "confirm_password": {next + "!"}}); code != 422 || !strings.Contains(body, "used already") {
		t.Errorf("the link worked twice: %d", code)
	}
	if _, err := a.Identity.Login(ctx, "dana@contoso.example", next, "192.0.2.9"); err != nil {
		t.Errorf("the second use changed the password: %v", err)
	}
}
