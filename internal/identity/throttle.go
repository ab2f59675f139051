package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The sign-in throttle slows a guesser down without locking the owner out.
// Failed sign-ins are counted three ways, in the database so that every
// replica counts together: per account and client address (one address
// guessing one account), per account (many addresses guessing one
// account) and per address (one address guessing many accounts). Past a
// few free failures, each count asks for a delay that doubles with every
// further failure up to a cap; a sign-in is refused (too_many_requests,
// saying how long to wait) until the longest delay since the last failure
// has passed. Nothing is ever locked: the per-account delay, the only one
// an attacker elsewhere can impose on the owner, is capped at a minute.
// Counts are forgotten an hour after their last failure, and a successful
// sign-in clears its account's counts. Client addresses are those of the
// trusted-proxy setting (middleware.Proxies), so that the clients behind a
// reverse proxy are not counted as one.
type throttleRule struct {
	prefix string
	free   int           // failures before any delay
	max    time.Duration // the longest delay
}

var (
	throttlePair    = throttleRule{"pair:", 3, 15 * time.Minute}
	throttleAccount = throttleRule{"account:", 10, time.Minute}
	throttleAddress = throttleRule{"address:", 30, 15 * time.Minute}
)

// throttleForget is how long after its last failure a count is forgotten.
const throttleForget = time.Hour

// delay is how long a rule asks to wait after n failures.
func (r throttleRule) delay(n int) time.Duration {
	if n <= r.free {
		return 0
	}
	shift := n - r.free - 1
	if shift >= 30 {
		return r.max
	}
	return min(r.max, time.Second<<shift)
}

type throttleKey struct {
	rule throttleRule
	key  string
}

// signInKeys are the counts a sign-in of account from addr touches.
func signInKeys(account, addr string) []throttleKey {
	return []throttleKey{
		{throttlePair, hashSecret(throttlePair.prefix + account + "\x00" + addr)},
		{throttleAccount, hashSecret(throttleAccount.prefix + account)},
		{throttleAddress, hashSecret(throttleAddress.prefix + addr)},
	}
}

// CheckSignIn returns too_many_requests when account may not try to sign in
// from addr yet. The portal's sign-in and the OSB broker's basic auth call
// it before checking a secret, FailedSignIn after a wrong one, and
// SignedIn after a right one. account names what is signed in to, such as
// an email address or "osb:" and a platform's username.
func (s *Service) CheckSignIn(ctx context.Context, account, addr string) error {
	w, err := s.signInWait(ctx, s.now(), signInKeys(account, addr))
	if err != nil {
		return err
	}
	if w > 0 {
		return errs.TooMany("too many failed sign-ins; try again in %s", waitString(w))
	}
	return nil
}

func waitString(w time.Duration) string {
	if w <= time.Minute {
		return fmt.Sprintf("%d seconds", int(math.Ceil(w.Seconds())))
	}
	return fmt.Sprintf("%d minutes", int(math.Ceil(w.Minutes())))
}

func (s *Service) signInWait(ctx context.Context, now time.Time, keys []throttleKey) (time.Duration, error) {
	var longest time.Duration
	for _, k := range keys {
		var n int
		var last time.Time
		err := s.db.Read().QueryRowContext(ctx, `SELECT failures, last_failure_at FROM signin_failures WHERE key = $1`, k.key).Scan(&n, &last)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			return 0, sqldb.Err(err, "sign-in throttle")
		}
		if now.Sub(last) >= throttleForget {
			continue
		}
		if w := last.Add(k.rule.delay(n)).Sub(now); w > longest {
			longest = w
		}
	}
	return longest, nil
}

// FailedSignIn counts a failed sign-in of account from addr.
func (s *Service) FailedSignIn(ctx context.Context, account, addr string) error {
	return s.signInFailed(ctx, s.now(), signInKeys(account, addr))
}

func (s *Service) signInFailed(ctx context.Context, now time.Time, keys []throttleKey) error {
	t, forgotten := sqldb.Time(now), sqldb.Time(now.Add(-throttleForget))
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signin_failures (key, failures, last_failure_at) VALUES ($1, 1, $2)
				ON CONFLICT (key) DO UPDATE SET last_failure_at = $2,
					failures = CASE WHEN signin_failures.last_failure_at <= $3 THEN 1 ELSE signin_failures.failures + 1 END`,
				k.key, t, forgotten); err != nil {
				return sqldb.Err(err, "sign-in throttle")
			}
		}
		return nil
	})
}

// SignedIn clears the failures of account (from every address).
func (s *Service) SignedIn(ctx context.Context, account, addr string) error {
	keys := signInKeys(account, addr)
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = $1 OR key = $2`, keys[0].key, keys[1].key)
		return sqldb.Err(err, "sign-in throttle")
	})
}

// purgeSignInFailures forgets counts whose last failure is long past.
func purgeSignInFailures(ctx context.Context, tx *sqldb.Tx, now time.Time) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE last_failure_at <= $1`, sqldb.Time(now.Add(-throttleForget)))
	return sqldb.Err(err, "sign-in throttle")
}
