package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestSignInThrottleBehindATrustedProxy: issue 15, finding 13, end to end
// through serve's wiring (app.Config.TrustedProxies around the whole
// handler): behind a trusted reverse proxy, the sign-in throttle counts
// each client by the address the proxy forwards, so one client guessing
// Dana's password is slowed while Dana, behind the same proxy, signs in.
// Without the setting the forwarded address is ignored (a client cannot
// choose the address it is counted as) and everyone behind the proxy is
// one address: then Dana is slowed too.
func TestSignInThrottleBehindATrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		name, trusted string
		danaSignsIn   bool
	}{
		{"trusted proxy", "127.0.0.0/8, ::1", true},
		{"no trusted proxy", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxies, err := middleware.ParseProxies(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			// A still clock: the delay the guesser earned cannot run out
			// on a slow machine before the next attempt.
			now := time.Now()
			a, err := app.New(context.Background(), app.Config{Database: sqldbtest.Config(t), TrustedProxies: proxies, Now: func() time.Time { return now },
				Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			if err := demo.SeedOrganisation(context.Background(), a.Identity); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a.Handler())
			t.Cleanup(srv.Close)
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			signIn := func(client, password string) int {
				t.Helper()
				form := url.Values{"email": {"dana@contoso.example"}, "password": {password}}
				req, err := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", client)
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			// The guesser's failures past the pair's free three ask for a delay.
			for range 4 {
				if code := signIn("198.51.100.66", "wrong-password"); code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
					t.Fatalf("a wrong password answered %d", code)
				}
			}
			if code := signIn("198.51.100.66", demo.Password); code != http.StatusTooManyRequests {
				t.Errorf("the guesser's next sign-in answered %d, want 429", code)
			}
			code := signIn("203.0.113.10", demo.Password)
			if tc.danaSignsIn && code != http.StatusSeeOther {
				t.Errorf("Dana, another client behind the trusted proxy, answered %d; want signed in (303)", code)
			}
			if !tc.danaSignsIn && code != http.StatusTooManyRequests {
				t.Errorf("with no trusted proxy, the forwarded address counted: Dana answered %d, want 429 (one address)", code)
			}
		})
	}
}
