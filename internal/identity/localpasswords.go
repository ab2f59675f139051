package identity

import (
	"context"
	"database/sql"
	"errors"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// LocalPasswords reports whether people may sign in with a Steward
// password (true until an administrator turns it off for single sign-on).
// Global administrators always may: that is the break-glass path when the
// identity provider is down.
func (s *Service) LocalPasswords(ctx context.Context) (bool, error) {
	return localPasswords(ctx, s.db.Read())
}

func localPasswords(ctx context.Context, q sqldb.Querier) (bool, error) {
	var on bool
	err := q.QueryRowContext(ctx, `SELECT local_passwords FROM sign_in_settings WHERE id = 1`).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, sqldb.Err(err, "sign-in settings")
	}
	return on, nil
}

// SignInSettings reports whether local passwords are allowed, for callers
// with identity_provider.manage globally.
func (s *Service) SignInSettings(ctx context.Context, p *access.Principal) (bool, error) {
	if err := p.Require(access.IdentityProviderManage, access.Resource{}); err != nil {
		return false, err
	}
	return localPasswords(ctx, s.db.Read())
}

// SetLocalPasswords allows or refuses sign-in with Steward passwords for
// everyone but global administrators. Callers need identity_provider.manage
// globally.
func (s *Service) SetLocalPasswords(ctx context.Context, p *access.Principal, on bool) error {
	if err := p.Require(access.IdentityProviderManage, access.Resource{}); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := localPasswords(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_settings WHERE id = 1`); err != nil {
			return sqldb.Err(err, "sign-in settings")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_settings (id, local_passwords, updated_at) VALUES (1, $1, $2)`, on, sqldb.Time(s.now())); err != nil {
			return sqldb.Err(err, "sign-in settings")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "sign_in_settings.update", ObjectType: "sign_in_settings", ObjectID: "1",
			Before: map[string]bool{"local_passwords": before}, After: map[string]bool{"local_passwords": on}})
	})
}

// errLocalPasswordsOff is the answer to a right password when local
// passwords are turned off and the user is no global administrator.
var errLocalPasswordsOff = errs.Unauthenticated("sign-in with a Steward password is turned off: use your organisation's single sign-on button")

// mayUseLocalPassword reports whether the user may sign in with a
// password now: local passwords are allowed, or the user is a global
// administrator (break glass).
func mayUseLocalPassword(ctx context.Context, q sqldb.Querier, userID string) (bool, error) {
	on, err := localPasswords(ctx, q)
	if err != nil || on {
		return on, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM grants WHERE user_id = $1 AND role = 'admin' AND scope_kind = 'global'`, userID).Scan(&n); err != nil {
		return false, sqldb.Err(err, "grant")
	}
	return n > 0, nil
}
