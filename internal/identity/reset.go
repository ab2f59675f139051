package identity

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ResetTarget is someone who may reset their password by mail.
type ResetTarget struct {
	UserID, Name, Email string
	// Stamp identifies the password it replaces: a link made for it stops
	// working once the password changes (by that link or any other way).
	Stamp string
}

// PasswordResetFor returns who may reset their password by a mailed link,
// given the address typed on the "forgot your password" page: an active
// person (not a machine user) with a Steward password who may still sign
// in with it (local passwords on, or a global administrator). Anyone else,
// and an address nobody has, is nil without an error, so that the page
// answers alike. Requests count as sign-in attempts of the address, from
// addr, for throttling.
func (s *Service) PasswordResetFor(ctx context.Context, email, addr string) (*ResetTarget, error) {
	email = normalizeEmail(email)
	if err := s.BeginSignIn(ctx, "reset:"+email, addr); err != nil {
		return nil, err
	}
	var t ResetTarget
	var hash string
	var disabled, machine bool
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, name, email, COALESCE(password_hash, ''), disabled, machine FROM users WHERE email = $1`, email).
		Scan(&t.UserID, &t.Name, &t.Email, &hash, &disabled, &machine)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, sqldb.Err(err, "user")
	}
	if disabled || machine || hash == "" {
		return nil, nil
	}
	if ok, err := mayUseLocalPassword(ctx, s.db.Read(), t.UserID); err != nil || !ok {
		return nil, err
	}
	t.Stamp = stamp(hash)
	return &t, nil
}

func stamp(hash string) string {
	sum := sha256.Sum256([]byte("reset\x00" + hash))
	return hex.EncodeToString(sum[:16])
}

// ResetPassword sets a user's password from a reset link made for the
// password with the given stamp, and ends all their sessions. A link for
// a password since changed, or a user since disabled, is not found.
func (s *Service) ResetPassword(ctx context.Context, userID, passwordStamp, next string) error {
	var v errs.Validator
	validatePassword(&v, "new_password", next)
	if err := v.Err("the new password is not valid"); err != nil {
		return err
	}
	gone := errs.NotFound("this link no longer resets a password: the password changed since it was sent, or the account is disabled. Ask for a new link")
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var hash string
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(password_hash, ''), disabled FROM users WHERE id = $1`, userID).Scan(&hash, &disabled)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (disabled || hash == "" || stamp(hash) != passwordStamp)) {
			return gone
		}
		if err != nil {
			return sqldb.Err(err, "user")
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4`,
			hashPassword(next, s.opts.Argon2), sqldb.Time(s.now()), userID, hash)
		if err != nil {
			return sqldb.Err(err, "user")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return gone
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return sqldb.Err(err, "session")
		}
		return s.audit(ctx, tx, &access.Principal{UserID: userID, Name: "password reset by mail"}, audit.Entry{Action: "user.password_reset", ObjectType: "user", ObjectID: userID})
	})
}
