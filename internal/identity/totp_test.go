package identity_test

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// totpFixture is the identity fixture with a secret box the test holds,
// to write a known secret as the service would.
func totpFixture(t *testing.T) (*fixture, *secret.Box) {
	f := newFixture(t)
	box, err := secret.New(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	opts := cheap
	opts.Box = box
	f.svc = identity.NewService(f.db, f.clock.Now, opts)
	return f, box
}

const password = "correct horse battery"

// enrol turns two-step sign-in on for p with a code of now, moves the
// clock to the next time step (the confirming code is used), and returns
// the secret and the recovery codes.
func (f *fixture) enrol(p *access.Principal) (string, []string) {
	f.t.Helper()
	e, err := f.svc.BeginTOTP(f.ctx, p)
	if err != nil {
		f.t.Fatalf("BeginTOTP: %v", err)
	}
	codes, err := f.svc.ConfirmTOTP(f.ctx, p, f.code(e.Secret, 0))
	if err != nil {
		f.t.Fatalf("ConfirmTOTP: %v", err)
	}
	f.clock.Add(30 * time.Second)
	return e.Secret, codes
}

// code is the secret's code steps time steps from now.
func (f *fixture) code(secret string, steps int) string {
	f.t.Helper()
	c, err := totp.GenerateCode(secret, f.clock.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// pending signs in with the password and returns the pending sign-in a
// second factor completes.
func (f *fixture) pending(email, addr string) string {
	f.t.Helper()
	sess, err := f.svc.Login(f.ctx, email, password, addr)
	var need *identity.SecondFactorRequired
	if sess != nil || !errors.As(err, &need) || need.Pending == "" || !errs.Is(err, errs.CodeUnauthenticated) {
		f.t.Fatalf("Login with two-step sign-in on = %v, %v; want no session and a *SecondFactorRequired (unauthenticated)", sess, err)
	}
	return need.Pending
}

// refused checks that a second factor was refused with the one message,
// as a *SecondFactorRequired exactly when again.
func refused(t *testing.T, what string, sess *identity.Session, err error, again bool) {
	t.Helper()
	var need *identity.SecondFactorRequired
	switch {
	case sess != nil || !errs.Is(err, errs.CodeUnauthenticated):
		t.Errorf("%s: %v, %v; want unauthenticated", what, sess, err)
	case !strings.Contains(errs.As(err).Message, "the code is not correct"):
		t.Errorf("%s says %q", what, errs.As(err).Message)
	case errors.As(err, &need) != again:
		t.Errorf("%s: %v; may try again: %v, want %v", what, err, !again, again)
	}
}

// RFC 6238, Appendix B: the SHA-1 test vectors (secret "12345678901234567890"
// in ASCII), with six digits: the last six of the RFC's eight. This checks
// the scheme against the RFC, not against the library the service uses.
func TestTOTPRFC6238Vectors(t *testing.T) {
	f, box := totpFixture(t)
	f.clock.t = time.Unix(59, 0).UTC()
	u, p := f.user("ana@example.com", "")
	if _, err := f.svc.BeginTOTP(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	rfc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	if err := f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(f.ctx, `UPDATE user_totp SET secret = $1 WHERE user_id = $2`, box.Seal(rfc), u.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// T = 59 s: 94287082.
	if _, err := f.svc.ConfirmTOTP(f.ctx, p, "287083"); !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("a wrong code at T=59: %v, want invalid", err)
	}
	codes, err := f.svc.ConfirmTOTP(f.ctx, p, "287082")
	if err != nil || len(codes) != identity.RecoveryCodeCount {
		t.Fatalf("RFC 6238's code at T=59: %v, %d recovery codes", err, len(codes))
	}
	// The code that confirmed is used: not again at sign-in.
	sess, err := f.svc.LoginSecondFactor(f.ctx, f.pending("ana@example.com", "192.0.2.1"), "287082", "192.0.2.1")
	refused(t, "the confirming code again", sess, err, true)

	for _, v := range []struct {
		unix int64
		code string
	}{{1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		f.clock.t = time.Unix(v.unix, 0).UTC()
		pending := f.pending("ana@example.com", "192.0.2.1")
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, v.code)+1)%1000000)
		sess, err := f.svc.LoginSecondFactor(f.ctx, pending, wrong, "192.0.2.1")
		refused(t, fmt.Sprintf("T=%d, %s", v.unix, wrong), sess, err, true)
		sess, err = f.svc.LoginSecondFactor(f.ctx, pending, v.code, "192.0.2.1")
		if err != nil || sess == nil || sess.UserID != u.ID {
			t.Fatalf("T=%d, RFC 6238's %s: %v, %v", v.unix, v.code, sess, err)
		}
		if _, _, err := f.svc.SessionPrincipal(f.ctx, sess.Secret); err != nil {
			t.Errorf("T=%d: the session does not work: %v", v.unix, err)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A code is accepted for the current time step and one either side, once;
// never one of a step at or before the last one accepted.
func TestTOTPWindowAndReplay(t *testing.T) {
	f, _ := totpFixture(t)
	_, p := f.user("ana@example.com", "")
	sec, _ := f.enrol(p)
	f.clock.Add(10 * time.Minute)
	addr := 0
	try := func(code string) (*identity.Session, error) {
		addr++ // each sign-in from its own address: the pair's count stays free
		a := fmt.Sprintf("198.51.100.%d", addr)
		return f.svc.LoginSecondFactor(f.ctx, f.pending("ana@example.com", a), code, a)
	}
	for _, steps := range []int{-2, 2} {
		sess, err := try(f.code(sec, steps))
		refused(t, fmt.Sprintf("a code %d steps away", steps), sess, err, true)
	}
	if _, err := try(f.code(sec, -1)); err != nil {
		t.Fatalf("the previous step's code: %v", err)
	}
	if _, err := try(f.code(sec, 0)); err != nil {
		t.Fatalf("the current step's code: %v", err)
	}
	for _, steps := range []int{0, -1} {
		sess, err := try(f.code(sec, steps))
		refused(t, fmt.Sprintf("a code %d steps away, after the current one was used", steps), sess, err, true)
	}
	if _, err := try(f.code(sec, 1)); err != nil {
		t.Fatalf("the next step's code: %v", err)
	}
	sess, err := try(f.code(sec, 1))
	refused(t, "the next step's code again", sess, err, true)
	// Spaces, as some apps show the code, are fine.
	f.clock.Add(time.Minute)
	c := f.code(sec, 0)
	if _, err := try(c[:3] + " " + c[3:]); err != nil {
		t.Errorf("%q: %v", c[:3]+" "+c[3:], err)
	}
	// Of parallel sign-ins with one code (one seen over a shoulder), one
	// gets in.
	f.clock.Add(time.Minute)
	c = f.code(sec, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	in := 0
	for i := range 4 {
		a := fmt.Sprintf("203.0.113.%d", 100+i)
		pending := f.pending("ana@example.com", a)
		wg.Go(func() {
			if sess, err := f.svc.LoginSecondFactor(f.ctx, pending, c, a); err == nil && sess != nil {
				mu.Lock()
				in++
				mu.Unlock()
			} else if !errs.Is(err, errs.CodeUnauthenticated) {
				t.Errorf("a parallel sign-in: %v", err)
			}
		})
	}
	wg.Wait()
	if in != 1 {
		t.Errorf("%d of 4 parallel sign-ins with one code got in, want 1", in)
	}
}

func TestTOTPRecoveryCodes(t *testing.T) {
	f, _ := totpFixture(t)
	u, p := f.user("ana@example.com", "")
	_, codes := f.enrol(p)
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("recovery codes %q: want ten distinct xxxxx-xxxxx", codes)
		}
		seen[c] = true
	}
	st, err := f.svc.TOTPStatus(f.ctx, p, "")
	if err != nil || !st.Enabled || st.RecoveryCodesLeft != 10 || st.EnabledAt == nil {
		t.Fatalf("status = %+v, %v", st, err)
	}
	// A recovery code signs in once, however it is typed.
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	sess, err := f.svc.LoginSecondFactor(f.ctx, f.pending("ana@example.com", "192.0.2.1"), typed, "192.0.2.1")
	if err != nil || sess.UserID != u.ID {
		t.Fatalf("recovery code %q: %v", typed, err)
	}
	sess, err = f.svc.LoginSecondFactor(f.ctx, f.pending("ana@example.com", "192.0.2.1"), codes[3], "192.0.2.1")
	refused(t, "a used recovery code", sess, err, true)
	if st, _ := f.svc.TOTPStatus(f.ctx, p, ""); st.RecoveryCodesLeft != 9 {
		t.Errorf("after one recovery code: %d left, want 9", st.RecoveryCodesLeft)
	}
	page, err := audit.NewService(f.db).List(f.ctx, f.sys, audit.Filter{Action: "user.totp_recovery_code_use"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ObjectID != u.ID {
		t.Errorf("audit of the recovery code: %+v, %v", page.Items, err)
	}
	// Recovery codes need no secret key: with the key lost (another key),
	// a code cannot be checked, and a recovery code still signs in.
	lost := identity.NewService(f.db, f.clock.Now, cheap)
	_, err = lost.Login(f.ctx, "ana@example.com", password, "192.0.2.3")
	var need *identity.SecondFactorRequired
	if !errors.As(err, &need) {
		t.Fatalf("sign-in under another key: %v", err)
	}
	if _, err := lost.LoginSecondFactor(f.ctx, need.Pending, "123456", "192.0.2.3"); !errs.Is(err, errs.CodeInternal) {
		t.Errorf("a code under another key: %v, want internal (the secret does not open)", err)
	}
	if _, err := lost.LoginSecondFactor(f.ctx, need.Pending, codes[4], "192.0.2.3"); err != nil {
		t.Errorf("a recovery code under another key: %v", err)
	}
	// Another user's recovery code is nobody else's.
	_, bp := f.user("ben@example.com", "")
	_, bcodes := f.enrol(bp)
	sess, err = f.svc.LoginSecondFactor(f.ctx, f.pending("ana@example.com", "192.0.2.2"), bcodes[0], "192.0.2.2")
	refused(t, "another user's recovery code", sess, err, true)
}

// A pending sign-in lasts five minutes and takes five codes; every code
// counts in the sign-in throttle.
func TestTOTPPendingSignIns(t *testing.T) {
	f, _ := totpFixture(t)
	u, p := f.user("ana@example.com", "")
	sec, _ := f.enrol(p)

	pending := f.pending("ana@example.com", "192.0.2.1")
	f.clock.Add(identity.PendingSignInTTL)
	sess, err := f.svc.LoginSecondFactor(f.ctx, pending, f.code(sec, 0), "192.0.2.1")
	refused(t, "a right code after five minutes", sess, err, false)

	// Five attempts (from five addresses, so no throttle slows them), then
	// not even the right code.
	f.clock.Add(time.Minute)
	pending = f.pending("ana@example.com", "192.0.2.1")
	for i := 1; i <= identity.PendingSignInAttempts; i++ {
		sess, err := f.svc.LoginSecondFactor(f.ctx, pending, "000000", fmt.Sprintf("203.0.113.%d", i))
		refused(t, fmt.Sprintf("wrong code %d", i), sess, err, i < identity.PendingSignInAttempts)
	}
	sess, err = f.svc.LoginSecondFactor(f.ctx, pending, f.code(sec, 0), "203.0.113.9")
	refused(t, "the right code after five wrong ones", sess, err, false)
	sess, err = f.svc.LoginSecondFactor(f.ctx, "not a pending sign-in", f.code(sec, 0), "203.0.113.9")
	refused(t, "an unknown pending sign-in", sess, err, false)

	// Wrong codes from one address slow that address down, as wrong
	// passwords do: the password and three codes, then a wait.
	f.clock.Add(time.Hour)
	pending = f.pending("ana@example.com", "192.0.2.50")
	for range 3 {
		f.svc.LoginSecondFactor(f.ctx, pending, "000000", "192.0.2.50")
	}
	if _, err := f.svc.LoginSecondFactor(f.ctx, pending, f.code(sec, 0), "192.0.2.50"); !errs.Is(err, errs.CodeTooMany) {
		t.Fatalf("after three wrong codes: %v, want too_many_requests", err)
	}
	f.clock.Add(2 * time.Second)
	sess, err = f.svc.LoginSecondFactor(f.ctx, pending, f.code(sec, 0), "192.0.2.50")
	if err != nil || sess.UserID != u.ID {
		t.Fatalf("the right code after the wait: %v", err)
	}
	// The session started, the pending sign-in is used up.
	sess, err = f.svc.LoginSecondFactor(f.ctx, pending, f.code(sec, 1), "192.0.2.50")
	refused(t, "a used pending sign-in", sess, err, false)
	// PurgeSessions forgets expired pending sign-ins.
	f.pending("ana@example.com", "192.0.2.51")
	f.clock.Add(identity.PendingSignInTTL)
	if _, err := f.svc.PurgeSessions(f.ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM signin_pending`).Scan(&n); err != nil || n != 0 {
		t.Errorf("pending sign-ins after the purge: %d, %v", n, err)
	}
}

func TestTOTPEnrolAndDisable(t *testing.T) {
	f, _ := totpFixture(t)
	u, p := f.user("ana@example.com", "")
	// Set-up in progress changes nothing at sign-in; it can be shown again.
	e, err := f.svc.BeginTOTP(f.ctx, p)
	if err != nil || len(e.Secret) != 32 || !strings.HasPrefix(e.URL, "otpauth://totp/Steward:ana@example.com?") || !strings.Contains(e.URL, "secret="+e.Secret) {
		t.Fatalf("BeginTOTP = %+v, %v", e, err)
	}
	if again, err := f.svc.TOTPEnrolment(f.ctx, p); err != nil || *again != *e {
		t.Errorf("TOTPEnrolment = %+v, %v; want %+v", again, err, e)
	}
	if st, _ := f.svc.TOTPStatus(f.ctx, p, ""); st.Enabled || !st.Pending {
		t.Errorf("status while pending = %+v", st)
	}
	if _, err := f.svc.Login(f.ctx, "ana@example.com", password, "192.0.2.1"); err != nil {
		t.Errorf("sign-in while set-up is pending: %v", err)
	}
	if _, err := f.svc.ConfirmTOTP(f.ctx, p, "12345"); !errs.Is(err, errs.CodeInvalid) || errs.As(err).Fields[0].Field != "code" {
		t.Errorf("confirm with a bad code: %v", err)
	}
	// Cancel drops the set-up; a new one has a new secret.
	if err := f.svc.CancelTOTP(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.TOTPEnrolment(f.ctx, p); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("the set-up after cancel: %v", err)
	}
	if _, err := f.svc.ConfirmTOTP(f.ctx, p, f.code(e.Secret, 0)); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("confirm after cancel: %v", err)
	}
	sec, _ := f.enrol(p)
	if sec == e.Secret {
		t.Error("a new set-up has the old secret")
	}
	if _, err := f.svc.BeginTOTP(f.ctx, p); !errs.Is(err, errs.CodeConflict) {
		t.Errorf("BeginTOTP when on: %v, want conflict", err)
	}
	// The secret is sealed at rest.
	var stored string
	if err := f.db.Read().QueryRowContext(f.ctx, `SELECT secret FROM user_totp WHERE user_id = $1`, u.ID).Scan(&stored); err != nil ||
		strings.Contains(stored, sec) || !strings.HasPrefix(stored, "v1:") {
		t.Errorf("stored secret %q, %v: want it sealed", stored, err)
	}

	// A token limited to some roles may not set up or turn off.
	limited := *p
	limited.TokenRoles = []access.Role{access.RoleConsumer}
	if _, err := f.svc.BeginTOTP(f.ctx, &limited); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("BeginTOTP with a limited token: %v", err)
	}
	if _, err := f.svc.ConfirmTOTP(f.ctx, &limited, "123456"); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("ConfirmTOTP with a limited token: %v", err)
	}
	if err := f.svc.DisableTOTP(f.ctx, &limited, password); !errs.Is(err, errs.CodeForbidden) {
		t.Errorf("DisableTOTP with a limited token: %v", err)
	}
	// Turning off needs the right password.
	if err := f.svc.DisableTOTP(f.ctx, p, "not the password"); !errs.Is(err, errs.CodeInvalid) || errs.As(err).Fields[0].Field != "password" {
		t.Errorf("DisableTOTP with a wrong password: %v", err)
	}
	if st, _ := f.svc.TOTPStatus(f.ctx, p, ""); !st.Enabled {
		t.Error("a wrong password turned two-step sign-in off")
	}
	if err := f.svc.DisableTOTP(f.ctx, p, password); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.TOTPStatus(f.ctx, p, ""); st.Enabled || st.Pending || st.RecoveryCodesLeft != 0 {
		t.Errorf("status after turning off = %+v", st)
	}
	if sess, err := f.svc.Login(f.ctx, "ana@example.com", password, "192.0.2.1"); err != nil || sess == nil {
		t.Errorf("sign-in after turning off: %v", err)
	}
	page, err := audit.NewService(f.db).List(f.ctx, f.sys, audit.Filter{Action: "user."})
	var actions []string
	for _, r := range page.Items {
		if strings.HasPrefix(r.Action, "user.totp_") {
			actions = append(actions, r.Action)
		}
	}
	if err != nil || strings.Join(actions, " ") != "user.totp_disable user.totp_enable" {
		t.Errorf("audit = %v, %v", actions, err)
	}

	// People without a Steward password (single sign-on) have none of it.
	sso, err := f.svc.CreateUser(f.ctx, f.sys, identity.CreateUserInput{Email: "sso@example.com", Name: "SSO"})
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := f.svc.Principal(f.ctx, sso.ID)
	if _, err := f.svc.BeginTOTP(f.ctx, sp); !errs.Is(err, errs.CodeInvalid) {
		t.Errorf("BeginTOTP without a password: %v, want invalid", err)
	}
}

// An administrator resets the two-step sign-in of someone who lost their
// phone and codes (user.manage on them); their sessions end.
func TestTOTPResetByAdministrator(t *testing.T) {
	f, _ := totpFixture(t)
	bu := f.unit("", "business_unit", "BU")
	other := f.unit("", "business_unit", "OTHER")
	u, p := f.user("ana@example.com", bu.ID)
	_, admin := f.user("admin@example.com", "", grant(access.RoleAdmin, access.ScopeGlobal, ""))
	_, otherAdmin := f.user("other@example.com", other.ID, grant(access.RoleAdmin, access.ScopeOrgUnit, other.ID))
	_, reader := f.user("reader@example.com", "", grant(access.RoleAuditor, access.ScopeGlobal, ""))
	sec, _ := f.enrol(p)
	sess, err := f.svc.LoginSecondFactor(f.ctx, f.pending("ana@example.com", "192.0.2.1"), f.code(sec, 0), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.svc.TOTPStatus(f.ctx, admin, u.ID); err != nil || !st.Enabled {
		t.Errorf("the administrator reads the status: %+v, %v", st, err)
	}
	if _, err := f.svc.TOTPStatus(f.ctx, otherAdmin, u.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Errorf("another org unit's administrator reads the status: %v", err)
	}
	for _, c := range []struct {
		who  *access.Principal
		want errs.Code
	}{{otherAdmin, errs.CodeNotFound}, {reader, errs.CodeForbidden}, {p, errs.CodeForbidden}} {
		if err := f.svc.ResetTOTP(f.ctx, c.who, u.ID); !errs.Is(err, c.want) {
			t.Errorf("ResetTOTP by %s: %v, want %s", c.who.Email, err, c.want)
		}
	}
	if err := f.svc.ResetTOTP(f.ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.SessionPrincipal(f.ctx, sess.Secret); !errs.Is(err, errs.CodeUnauthenticated) {
		t.Errorf("the session after the reset: %v, want ended", err)
	}
	if sess, err := f.svc.Login(f.ctx, "ana@example.com", password, "192.0.2.1"); err != nil || sess == nil {
		t.Errorf("sign-in after the reset: %v", err)
	}
	page, err := audit.NewService(f.db).List(f.ctx, f.sys, audit.Filter{Action: "user.totp_reset"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ActorID != admin.UserID || page.Items[0].ObjectID != u.ID {
		t.Errorf("audit of the reset: %+v, %v", page.Items, err)
	}
	if err := f.svc.ResetTOTP(f.ctx, admin, u.ID); err != nil {
		t.Errorf("resetting what is off: %v", err)
	}
}
