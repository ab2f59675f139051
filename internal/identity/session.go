package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// dummyHash is checked when the account does not exist, so that a wrong
// password and an unknown user take the same time.
var dummyHash = hashPassword("not a real password, only spends the time", DefaultArgon2)

// errBadLogin is the one answer for an unknown user, a wrong password and a
// disabled account.
var errBadLogin = errs.Unauthenticated("the email or password is not correct")

// Session is a signed-in portal session.
type Session struct {
	// Secret goes in the cookie; only its hash is stored.
	Secret    string
	CSRFToken string
	UserID    string
	ExpiresAt time.Time
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Login checks an email and password and starts a session. addr is the
// client's address for throttling. Failures are unauthenticated with one
// message whatever went wrong, or too_many_requests after repeated failures.
// When the account has two-step sign-in on, a right password starts no
// session: the error is a *SecondFactorRequired (unauthenticated) whose
// pending sign-in LoginSecondFactor completes.
func (s *Service) Login(ctx context.Context, email, password, addr string) (*Session, error) {
	email = normalizeEmail(email)
	if err := s.BeginSignIn(ctx, email, addr); err != nil {
		return nil, err
	}
	if len(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen]
	}
	var id, hash string
	var disabled bool
	// Machine users never sign in, whatever password they may have had.
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, CASE WHEN machine THEN '' ELSE COALESCE(password_hash, '') END, disabled FROM users WHERE email = $1`, email).Scan(&id, &hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && hash == "") {
		checkPassword(password, dummyHash)
		return nil, errBadLogin
	}
	if err != nil {
		return nil, sqldb.Err(err, "user")
	}
	if !checkPassword(password, hash) || disabled {
		return nil, errBadLogin
	}
	if ok, err := mayUseLocalPassword(ctx, s.db.Read(), id); err != nil {
		return nil, err
	} else if !ok {
		return nil, errLocalPasswordsOff
	}
	if on, err := totpOn(ctx, s.db.Read(), id); err != nil {
		return nil, err
	} else if on {
		// The attempt stays counted until the second factor is right.
		return nil, s.beginSecondFactor(ctx, id)
	}
	if err := s.SignedIn(ctx, email, addr); err != nil {
		return nil, err
	}
	var sess *Session
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		sess, err = s.startSession(ctx, tx, id, email, nil)
		return err
	})
	return sess, err
}

// startSession starts a portal session for a user who proved who they
// are, with its audit record; after describes how, when there is more to
// say than a password.
func (s *Service) startSession(ctx context.Context, tx *sqldb.Tx, userID, email string, after any) (*Session, error) {
	now := sqldb.Time(s.now())
	sess := &Session{Secret: randomToken(32), CSRFToken: randomToken(32), UserID: userID, ExpiresAt: sqldb.Time(now.Add(s.opts.SessionTTL))}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hashSecret(sess.Secret), userID, sess.CSRFToken, now, sess.ExpiresAt, now); err != nil {
		return nil, sqldb.Err(err, "session")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, now, userID); err != nil {
		return nil, sqldb.Err(err, "user")
	}
	actor := &access.Principal{UserID: userID, Name: email}
	return sess, s.audit(ctx, tx, actor, audit.Entry{Action: "session.login", ObjectType: "user", ObjectID: userID, After: after})
}

// SessionPrincipal returns the principal and CSRF token of a live session.
// An unknown, expired or idle session, or a disabled user, is unauthenticated.
func (s *Service) SessionPrincipal(ctx context.Context, secret string) (*access.Principal, string, error) {
	if secret == "" || len(secret) > 100 {
		return nil, "", errs.Unauthenticated("sign in to continue")
	}
	var userID, csrf string
	var expires, seen time.Time
	err := s.db.Read().QueryRowContext(ctx, `SELECT user_id, csrf_token, expires_at, last_seen_at FROM sessions WHERE id = $1`,
		hashSecret(secret)).Scan(&userID, &csrf, &expires, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errs.Unauthenticated("your session has ended; sign in again")
	}
	if err != nil {
		return nil, "", sqldb.Err(err, "session")
	}
	now := s.now()
	if !now.Before(expires) || now.Sub(seen) >= s.opts.SessionIdle {
		return nil, "", errs.Unauthenticated("your session has ended; sign in again")
	}
	u, err := getUser(ctx, s.db.Read(), userID)
	if err != nil || u.Disabled || u.Machine { // machine users never have portal sessions
		return nil, "", errs.Unauthenticated("your session has ended; sign in again")
	}
	if now.Sub(seen) > time.Minute { // keep the idle clock without a write per request
		if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, sqldb.Time(now), hashSecret(secret))
			return sqldb.Err(err, "session")
		}); err != nil {
			return nil, "", err
		}
	}
	p, err := loadPrincipal(ctx, s.db.Read(), u, nil)
	return p, csrf, err
}

// CheckCSRF compares a submitted CSRF token with the session's in constant time.
func CheckCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// Logout ends a session. Ending an unknown session is not an error.
func (s *Service) Logout(ctx context.Context, secret string) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id = $1 RETURNING user_id`, hashSecret(secret)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqldb.Err(err, "session")
		}
		return s.audit(ctx, tx, &access.Principal{UserID: userID, Name: userID}, audit.Entry{Action: "session.logout", ObjectType: "user", ObjectID: userID})
	})
}

// PurgeSessions deletes sessions that have expired or gone idle and returns
// how many. The sessions.purge job calls it.
func (s *Service) PurgeSessions(ctx context.Context) (int64, error) {
	now := s.now()
	var n int64
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
			sqldb.Time(now), sqldb.Time(now.Add(-s.opts.SessionIdle)))
		if err != nil {
			return sqldb.Err(err, "session")
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_pending WHERE expires_at <= $1`, sqldb.Time(now)); err != nil {
			return sqldb.Err(err, "pending sign-in")
		}
		return purgeSignInFailures(ctx, tx, now)
	})
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return n, nil
}

// SessionCookie is the name of the portal's session cookie.
const SessionCookie = "steward_session"
