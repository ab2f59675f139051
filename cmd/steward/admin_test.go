package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// steward admin reset-totp turns off the two-step sign-in of someone who
// lost their phone and recovery codes: they sign in with their password
// alone again, and their sessions have ended.
func TestAdminResetTOTP(t *testing.T) {
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	vars := map[string]string{"STEWARD_DATA_DIR": cfg.DataDir, "STEWARD_DATABASE": cfg.URL}
	if cfg.URL != "" {
		vars["STEWARD_SECRET_KEY"] = testKey
	}
	getenv := func(k string) string { return vars[k] }
	// The command opens Steward as any command does; the test's own
	// opening needs no key: nothing it reads after the reset is sealed.
	open := func() *app.App {
		t.Helper()
		a, err := app.New(ctx, app.Config{Database: cfg, Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	const pw = "a long enough password"
	a := open()
	u, err := a.Identity.CreateUser(ctx, access.System(), identity.CreateUserInput{Email: "ana@example.com", Name: "Ana", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Identity.Principal(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := a.Identity.BeginTOTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	if _, err := a.Identity.ConfirmTOTP(ctx, p, code); err != nil {
		t.Fatal(err)
	}
	var need *identity.SecondFactorRequired
	if _, err := a.Identity.Login(ctx, "ana@example.com", pw, "192.0.2.1"); !errors.As(err, &need) {
		t.Fatalf("sign-in with two-step sign-in on: %v, want a code asked for", err)
	}
	next, _ := totp.GenerateCode(e.Secret, time.Now().Add(30*time.Second)) // the confirming code is used
	sess, err := a.Identity.LoginSecondFactor(ctx, need.Pending, next, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	out, err := cli(t, getenv, "", "admin", "reset-totp", "--email", "ana@example.com")
	if err != nil || out != "two-step sign-in of ana@example.com reset; their sessions have ended\n" {
		t.Fatalf("reset-totp: %v %q", err, out)
	}
	a = open()
	defer a.Close()
	if _, _, err := a.Identity.SessionPrincipal(ctx, sess.Secret); err == nil {
		t.Error("the session outlived the reset")
	}
	if s, err := a.Identity.Login(ctx, "ana@example.com", pw, "192.0.2.1"); err != nil || s == nil {
		t.Errorf("sign-in after the reset: %v", err)
	}
	if out, err := cli(t, getenv, "", "admin", "reset-totp", "--email", "ana@example.com"); err != nil || !strings.Contains(out, "had no two-step sign-in") {
		t.Errorf("reset-totp again: %v %q", err, out)
	}
	if out, err := cli(t, getenv, "", "admin", "reset-totp", "--email", "nobody@example.com"); err == nil || !strings.Contains(out, "no user with the email nobody@example.com") {
		t.Errorf("reset-totp of nobody: %v %q", err, out)
	}
}
