package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Two-step sign-in is a second factor for people who sign in with a
// Steward password: a time-based one-time password (TOTP, RFC 6238: six
// digits an authenticator app derives from a shared secret, a new one every
// 30 seconds), or one of ten single-use recovery codes. Its lifecycle:
//
//   - BeginTOTP makes a secret (sealed at rest with Options.Box), pending
//     until ConfirmTOTP gets a right code from it. Confirming turns two-step
//     sign-in on and returns the recovery codes, the only time they are
//     seen: only their hashes are kept.
//   - From then on Login answers a right password with a
//     *SecondFactorRequired carrying a pending sign-in (PendingSignInTTL,
//     PendingSignInAttempts codes), which LoginSecondFactor completes with
//     a code or a recovery code. A code of the current time step or of one
//     either side is accepted, once: never a step at or before the last one
//     accepted (replay). Every attempt counts in the sign-in throttle.
//   - DisableTOTP turns it off with the current password; ResetTOTP is an
//     administrator's, for someone who lost both phone and codes, and ends
//     that person's sessions.
//
// People who sign in through single sign-on get a second factor from their
// identity provider: SignInExternal never asks for this one.
const (
	// RecoveryCodeCount is how many recovery codes enrolment gives.
	RecoveryCodeCount = 10
	// PendingSignInTTL is how long a right password waits for its code.
	PendingSignInTTL = 5 * time.Minute
	// PendingSignInAttempts is how many codes one pending sign-in takes.
	PendingSignInAttempts = 5

	totpPeriod = 30
	totpIssuer = "Steward"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPStatus is whether a user has two-step sign-in.
type TOTPStatus struct {
	// Enabled means sign-in with a password asks for a code.
	Enabled   bool
	EnabledAt *time.Time
	// Pending means set-up has begun and no code has confirmed it yet.
	Pending bool
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int
}

// TOTPEnrolment is a secret being set up: what the person gives their
// authenticator app.
type TOTPEnrolment struct {
	// Secret is the shared secret in base32, to type in by hand.
	Secret string
	// URL is the otpauth:// URL a QR code carries.
	URL string
}

// SecondFactorRequired is Login's answer to a right password when the
// account has two-step sign-in on, and LoginSecondFactor's to a wrong code
// while the pending sign-in can take another: no session yet. Its code is
// unauthenticated, so callers that know nothing of it refuse the sign-in.
type SecondFactorRequired struct {
	// Pending is the pending sign-in's secret, for LoginSecondFactor; only
	// its hash is stored.
	Pending string
	err     *errs.Error
}

func (e *SecondFactorRequired) Error() string { return e.err.Error() }

// Unwrap gives the unauthenticated error, with what to tell the person.
func (e *SecondFactorRequired) Unwrap() error { return e.err }

var (
	errCodeNeeded = errs.Unauthenticated("enter the 6-digit code from your authenticator app, or one of your recovery codes")
	// errBadCode is the one answer to every failed second factor: a wrong
	// or reused code, a used recovery code, a pending sign-in expired or
	// out of attempts.
	errBadCode = errs.Unauthenticated("the code is not correct, or this sign-in has expired: try the next code, or sign in with your password again")
)

type totpRow struct {
	secret    string // opened
	confirmed *time.Time
	lastStep  int64
}

// errNoTOTP is getTOTP's answer for a user with no secret.
var errNoTOTP = errs.NotFound("no two-step sign-in is set up or being set up")

// getTOTP reads a user's TOTP secret, or returns errNoTOTP.
func (s *Service) getTOTP(ctx context.Context, q sqldb.Querier, userID string) (*totpRow, error) {
	var sealed string
	var confirmed sql.NullTime
	var r totpRow
	err := q.QueryRowContext(ctx, `SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = $1`, userID).Scan(&sealed, &confirmed, &r.lastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoTOTP
	}
	if err != nil {
		return nil, sqldb.Err(err, "two-step sign-in")
	}
	if r.secret, err = s.opts.Box.Open(sealed); err != nil {
		return nil, errs.Internal(err, "the two-step sign-in secret could not be opened")
	}
	r.confirmed = sqldb.TimePtr(confirmed)
	return &r, nil
}

func totpOn(ctx context.Context, q sqldb.Querier, userID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID).Scan(&n)
	return n > 0, sqldb.Err(err, "two-step sign-in")
}

// totpStep is the time step of a code of secret: the current step or one
// either side, later than last. ok is false when none matches.
func totpStep(secret, code string, now time.Time, last int64) (step int64, ok bool) {
	cur := now.Unix() / totpPeriod
	for s := cur - 1; s <= cur+1; s++ {
		if s < 0 || s <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// normalizeCode drops what people type between digits and letters.
func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// recoveryAlphabet leaves out letters and digits easily read as others.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newRecoveryCode is ten characters (49 bits), shown as two groups of five.
func newRecoveryCode() string {
	b := make([]byte, 10)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(recoveryAlphabet))))
		b[i] = recoveryAlphabet[n.Int64()]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

// ownAccount refuses callers that may not change their own second factor.
func ownAccount(p *access.Principal, what string) error {
	if p == nil || p.IsSystem() {
		return errs.Unauthenticated("sign in to %s", what)
	}
	if p.Limited() {
		return errLimitedToken(what)
	}
	return nil
}

// TOTPStatus says whether a user has two-step sign-in. userID "" means
// the caller. Callers see themselves, and others where they hold
// user.read (not found otherwise).
func (s *Service) TOTPStatus(ctx context.Context, p *access.Principal, userID string) (*TOTPStatus, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to see two-step sign-in")
	}
	if userID == "" {
		userID = p.UserID
	}
	if _, err := s.User(ctx, p, userID); err != nil {
		return nil, err
	}
	var st TOTPStatus
	var confirmed sql.NullTime
	err := s.db.Read().QueryRowContext(ctx, `SELECT confirmed_at FROM user_totp WHERE user_id = $1`, userID).Scan(&confirmed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &st, nil
	case err != nil:
		return nil, sqldb.Err(err, "two-step sign-in")
	}
	st.EnabledAt = sqldb.TimePtr(confirmed)
	st.Enabled, st.Pending = st.EnabledAt != nil, st.EnabledAt == nil
	if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM totp_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).
		Scan(&st.RecoveryCodesLeft); err != nil {
		return nil, sqldb.Err(err, "recovery code")
	}
	return &st, nil
}

// BeginTOTP starts setting up two-step sign-in for the caller: a new
// secret, pending until ConfirmTOTP (it replaces one still pending).
// Returns forbidden for a token limited to some roles, invalid for someone
// without a Steward password (single sign-on users get their second factor
// from their identity provider), and conflict when it is already on.
func (s *Service) BeginTOTP(ctx context.Context, p *access.Principal) (*TOTPEnrolment, error) {
	if err := ownAccount(p, "set up two-step sign-in"); err != nil {
		return nil, err
	}
	var out *TOTPEnrolment
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := getUser(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if !u.HasPassword || u.Machine {
			return errs.Invalid("you sign in through single sign-on, not with a Steward password: your identity provider asks for your second factor")
		}
		if on, err := totpOn(ctx, tx, u.ID); err != nil {
			return err
		} else if on {
			return errs.Conflict("two-step sign-in is already on; turn it off first to set it up with a new key")
		}
		key, err := totpKey(nil, u.Email)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_totp WHERE user_id = $1`, u.ID); err != nil {
			return sqldb.Err(err, "two-step sign-in")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_totp (user_id, secret, last_step, created_at) VALUES ($1, $2, 0, $3)`,
			u.ID, s.opts.Box.Seal(key.Secret), sqldb.Time(s.now())); err != nil {
			return sqldb.Err(err, "two-step sign-in")
		}
		out = key
		return nil
	})
	return out, err
}

// TOTPEnrolment returns the caller's set-up in progress, to show again.
// Returns not_found when none is pending, and forbidden for a token
// limited to some roles.
func (s *Service) TOTPEnrolment(ctx context.Context, p *access.Principal) (*TOTPEnrolment, error) {
	if err := ownAccount(p, "set up two-step sign-in"); err != nil {
		return nil, err
	}
	u, err := getUser(ctx, s.db.Read(), p.UserID)
	if err != nil {
		return nil, err
	}
	r, err := s.getTOTP(ctx, s.db.Read(), u.ID)
	if err != nil {
		return nil, err
	}
	if r.confirmed != nil {
		return nil, errs.NotFound("no two-step sign-in is being set up: it is on")
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.secret)
	if err != nil {
		return nil, errs.Internal(err, "the two-step sign-in secret is damaged")
	}
	return totpKey(raw, u.Email)
}

// totpKey makes the key of a secret (nil: a new random one) for the
// person with that email.
func totpKey(secret []byte, email string) (*TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email, Secret: secret,
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, errs.Internal(err, "a two-step sign-in key could not be made")
	}
	return &TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP turns two-step sign-in on with a code from the pending
// secret, and returns the recovery codes: the only time they are seen.
// Returns invalid (field code) for a wrong code, not_found when no set-up
// is pending, conflict when it is already on, and forbidden for a token
// limited to some roles.
func (s *Service) ConfirmTOTP(ctx context.Context, p *access.Principal, code string) ([]string, error) {
	if err := ownAccount(p, "set up two-step sign-in"); err != nil {
		return nil, err
	}
	now := s.now()
	var codes []string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		r, err := s.getTOTP(ctx, tx, p.UserID)
		if errors.Is(err, errNoTOTP) {
			return errs.NotFound("no two-step sign-in is being set up: start again")
		}
		if err != nil {
			return err
		}
		if r.confirmed != nil {
			return errs.Conflict("two-step sign-in is already on")
		}
		step, ok := totpStep(r.secret, normalizeCode(code), now, r.lastStep)
		if !ok {
			return &errs.Error{Code: errs.CodeInvalid, Message: "the code is not correct",
				Fields: []errs.FieldError{{Field: "code", Rule: "match", Message: "enter the 6-digit code your authenticator app shows now; check that the phone's clock is right"}}}
		}
		t := sqldb.Time(now)
		if _, err := tx.ExecContext(ctx, `UPDATE user_totp SET confirmed_at = $1, last_step = $2 WHERE user_id = $3`, t, step, p.UserID); err != nil {
			return sqldb.Err(err, "two-step sign-in")
		}
		if codes, err = newRecoveryCodes(ctx, tx, p.UserID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "user.totp_enable", ObjectType: "user", ObjectID: p.UserID,
			After: map[string]any{"two_step_sign_in": true, "recovery_codes": len(codes)}})
	})
	return codes, err
}

// newRecoveryCodes replaces a user's recovery codes and returns the new ones.
func newRecoveryCodes(ctx context.Context, tx *sqldb.Tx, userID string) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM totp_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, sqldb.Err(err, "recovery code")
	}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		if _, err := tx.ExecContext(ctx, `INSERT INTO totp_recovery_codes (user_id, hash) VALUES ($1, $2)`,
			userID, hashSecret(normalizeCode(codes[i]))); err != nil {
			return nil, sqldb.Err(err, "recovery code")
		}
	}
	return codes, nil
}

// CancelTOTP drops the caller's set-up in progress; two-step sign-in that
// is on stays on (DisableTOTP turns it off). Cancelling when nothing is
// pending is not an error. Returns forbidden for a token limited to some
// roles.
func (s *Service) CancelTOTP(ctx context.Context, p *access.Principal) error {
	if err := ownAccount(p, "set up two-step sign-in"); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM user_totp WHERE user_id = $1 AND confirmed_at IS NULL`, p.UserID)
		return sqldb.Err(err, "two-step sign-in")
	})
}

// DisableTOTP turns the caller's two-step sign-in off (and drops a set-up
// in progress) after checking their current password. A wrong password is
// invalid (field password) and counts as a failed sign-in for throttling;
// a token limited to some roles is forbidden. Turning off what is off is
// not an error.
func (s *Service) DisableTOTP(ctx context.Context, p *access.Principal, password string) error {
	if err := ownAccount(p, "turn off two-step sign-in"); err != nil {
		return err
	}
	if err := s.checkOwnPassword(ctx, p, password, "password"); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		on, err := totpOn(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if err := dropTOTP(ctx, tx, p.UserID); err != nil {
			return err
		}
		if !on {
			return nil
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "user.totp_disable", ObjectType: "user", ObjectID: p.UserID,
			Before: map[string]bool{"two_step_sign_in": true}, After: map[string]bool{"two_step_sign_in": false}})
	})
}

// ResetTOTP turns another person's two-step sign-in off, for someone who
// lost their phone and their recovery codes, and ends their sessions; they
// sign in with their password alone and may set it up again. Callers need
// user.manage on the user (not found when they may not read the user).
// Resetting someone without it is not an error.
func (s *Service) ResetTOTP(ctx context.Context, p *access.Principal, userID string) error {
	if p == nil {
		return errs.Unauthenticated("sign in to reset two-step sign-in")
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := getUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if !canReadUser(p, u) {
			return errs.NotFound("user %q not found", userID)
		}
		if err := p.Require(access.UserManage, u.Resource()); err != nil {
			return err
		}
		on, err := totpOn(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := dropTOTP(ctx, tx, u.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
			return sqldb.Err(err, "session")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "user.totp_reset", ObjectType: "user", ObjectID: u.ID,
			Before: map[string]bool{"two_step_sign_in": on}, After: map[string]bool{"two_step_sign_in": false}})
	})
}

// dropTOTP removes a user's secret, recovery codes and pending sign-ins.
func dropTOTP(ctx context.Context, tx *sqldb.Tx, userID string) error {
	for _, q := range []string{
		`DELETE FROM user_totp WHERE user_id = $1`,
		`DELETE FROM totp_recovery_codes WHERE user_id = $1`,
		`DELETE FROM signin_pending WHERE user_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return sqldb.Err(err, "two-step sign-in")
		}
	}
	return nil
}

// beginSecondFactor records a right password of an account with two-step
// sign-in on, and returns the *SecondFactorRequired that carries it.
func (s *Service) beginSecondFactor(ctx context.Context, userID string) error {
	pending := randomToken(32)
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signin_pending (id, user_id, expires_at, attempts) VALUES ($1, $2, $3, 0)`,
			hashSecret(pending), userID, sqldb.Time(s.now().Add(PendingSignInTTL)))
		return sqldb.Err(err, "pending sign-in")
	})
	if err != nil {
		return err
	}
	return &SecondFactorRequired{Pending: pending, err: errCodeNeeded}
}

// LoginSecondFactor completes a sign-in Login left pending, with a code
// from the authenticator app or a recovery code (used up), and starts the
// session. addr is the client's address for throttling: every attempt
// counts as a sign-in attempt of the account. A wrong code is a
// *SecondFactorRequired while the pending sign-in can take another, every
// other failure unauthenticated, all with one message; too_many_requests
// after repeated failures.
func (s *Service) LoginSecondFactor(ctx context.Context, pending, code, addr string) (*Session, error) {
	now := s.now()
	ps, err := s.pendingSignIn(ctx, pending, now)
	if err != nil {
		return nil, err
	}
	if err := s.BeginSignIn(ctx, ps.email, addr); err != nil {
		return nil, err
	}
	if err := s.takeAttempt(ctx, ps, now); err != nil {
		return nil, err
	}
	sess, err := s.completeSignIn(ctx, ps, normalizeCode(code), now)
	if errors.Is(err, errBadCode) {
		if ps.attempts+1 < PendingSignInAttempts {
			return nil, &SecondFactorRequired{Pending: pending, err: errBadCode}
		}
		return nil, errBadCode
	}
	if err != nil {
		return nil, err
	}
	// The password's attempt and this one are taken back.
	if err := s.signedIn(ctx, ps.email, addr, 2); err != nil {
		return nil, err
	}
	return sess, nil
}

// pendingSignIn is a right password waiting for its second factor.
type pendingSignIn struct {
	id, userID, email string
	attempts          int // codes tried before this one
}

// pendingSignIn reads the live pending sign-in of a secret; errBadCode
// when there is none, or it expired or has no attempts left.
func (s *Service) pendingSignIn(ctx context.Context, secret string, now time.Time) (*pendingSignIn, error) {
	if secret == "" || len(secret) > 100 {
		return nil, errBadCode
	}
	ps := pendingSignIn{id: hashSecret(secret)}
	var expires time.Time
	err := s.db.Read().QueryRowContext(ctx, `SELECT p.user_id, u.email, p.expires_at, p.attempts FROM signin_pending p
		JOIN users u ON u.id = p.user_id WHERE p.id = $1`, ps.id).Scan(&ps.userID, &ps.email, &expires, &ps.attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadCode
	}
	if err != nil {
		return nil, sqldb.Err(err, "pending sign-in")
	}
	if !now.Before(expires) || ps.attempts >= PendingSignInAttempts {
		return nil, errBadCode
	}
	return &ps, nil
}

// takeAttempt counts a code against its pending sign-in before the code
// is checked, so that parallel guesses count too; errBadCode when none is
// left.
func (s *Service) takeAttempt(ctx context.Context, ps *pendingSignIn, now time.Time) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE signin_pending SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND expires_at > $3`,
			ps.id, PendingSignInAttempts, sqldb.Time(now))
		if err != nil {
			return sqldb.Err(err, "pending sign-in")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errBadCode
		}
		return nil
	})
}

// completeSignIn checks the second factor, uses up the pending sign-in
// and starts the session, in one transaction; errBadCode when the code is
// wrong or the sign-in may no longer happen.
func (s *Service) completeSignIn(ctx context.Context, ps *pendingSignIn, code string, now time.Time) (*Session, error) {
	var sess *Session
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		how, err := s.useSecondFactor(ctx, tx, ps.userID, ps.email, code, now)
		if err != nil {
			return err
		}
		// Used once: a parallel attempt with another right code loses here.
		res, err := tx.ExecContext(ctx, `DELETE FROM signin_pending WHERE id = $1`, ps.id)
		if err != nil {
			return sqldb.Err(err, "pending sign-in")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errBadCode
		}
		// Disabled, or local passwords turned off, since the password.
		var disabled bool
		if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1`, ps.userID).Scan(&disabled); err != nil {
			return sqldb.Err(err, "user")
		}
		if ok, err := mayUseLocalPassword(ctx, tx, ps.userID); err != nil {
			return err
		} else if disabled || !ok {
			return errBadCode
		}
		sess, err = s.startSession(ctx, tx, ps.userID, ps.email, map[string]string{"second_factor": how})
		return err
	})
	return sess, err
}

// useSecondFactor checks a code, or uses up a recovery code, of a user
// with two-step sign-in on, and says which it was; errBadCode otherwise.
func (s *Service) useSecondFactor(ctx context.Context, tx *sqldb.Tx, userID, email, code string, now time.Time) (string, error) {
	if isTOTPCode(code) {
		r, err := s.getTOTP(ctx, tx, userID)
		if errors.Is(err, errNoTOTP) || (err == nil && r.confirmed == nil) {
			return "", errBadCode // reset since the password
		}
		if err != nil {
			return "", err
		}
		step, ok := totpStep(r.secret, code, now, r.lastStep)
		if !ok {
			return "", errBadCode
		}
		// Compared and set: of two parallel sign-ins with one code, one wins.
		res, err := tx.ExecContext(ctx, `UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1`, step, userID)
		if err != nil {
			return "", sqldb.Err(err, "two-step sign-in")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return "", errBadCode
		}
		return "totp", nil
	}
	// Recovery codes exist only while two-step sign-in is on, and open
	// without the secret key: they work even if the key was lost.
	if code == "" || len(code) > 64 {
		return "", errBadCode
	}
	res, err := tx.ExecContext(ctx, `UPDATE totp_recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`,
		sqldb.Time(now), userID, hashSecret(code))
	if err != nil {
		return "", sqldb.Err(err, "recovery code")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", errBadCode
	}
	var left int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM totp_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&left); err != nil {
		return "", sqldb.Err(err, "recovery code")
	}
	actor := &access.Principal{UserID: userID, Name: email}
	if err := s.audit(ctx, tx, actor, audit.Entry{Action: "user.totp_recovery_code_use", ObjectType: "user", ObjectID: userID,
		After: map[string]int{"recovery_codes_left": left}}); err != nil {
		return "", err
	}
	return "recovery_code", nil
}
