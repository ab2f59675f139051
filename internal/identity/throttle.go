package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The sign-in throttle slows a guesser down without locking the owner out.
// Sign-in attempts are counted three ways, in the database so that every
// replica counts together: per account and client address (one address
// guessing one account), per account (many addresses guessing one
// account) and per address (one address guessing many accounts). Past a
// few free attempts, each count asks for a delay that doubles with every
// further failure up to a cap; a sign-in is refused (too_many_requests,
// saying how long to wait) until the longest delay since the last failure
// has passed.
//
// An attempt is counted before its secret is checked, in one transaction
// with the check of the delays and compared-and-set on each count, so a
// burst of parallel attempts gets one through per delay, not all of them;
// a right secret takes its attempt back. Nothing is ever locked: the
// per-account count, the only one an attacker elsewhere can drive, asks
// for at most a minute, and does not slow an address the account signed
// in from before (within knownFor). IPv6 clients are counted by their /64,
// which one client can rotate through. Counts are forgotten an hour after
// their last failure. Client addresses are those of the trusted-proxy
// setting (middleware.Proxies), so clients behind a reverse proxy are not
// counted as one.
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

const (
	// throttleForget is how long after its last failure a count is forgotten.
	throttleForget = time.Hour
	// knownFor is how long a successful sign-in from an address exempts
	// that address from the account-wide count.
	knownFor = 90 * 24 * time.Hour
)

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

// clientKey is how an address is counted: an IPv6 address by its /64.
func clientKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// signInKeys are the counts a sign-in of account from addr touches, and
// the key of the pair in signin_known.
func signInKeys(account, addr string) (pair, acct, address throttleKey, known string) {
	addr = clientKey(addr)
	return throttleKey{throttlePair, hashSecret(throttlePair.prefix + account + "\x00" + addr)},
		throttleKey{throttleAccount, hashSecret(throttleAccount.prefix + account)},
		throttleKey{throttleAddress, hashSecret(throttleAddress.prefix + addr)},
		hashSecret("known:" + account + "\x00" + addr)
}

// BeginSignIn counts an attempt to sign in to account from addr, or
// returns too_many_requests (with the wait) when a count asks the caller
// to wait. Call it before checking the secret, and SignedIn after a right
// one; a wrong one needs nothing more. The portal's sign-in, password
// changes and the OSB broker's basic auth use it. account names what is
// signed in to, such as an email address or "osb:" and a platform's name.
func (s *Service) BeginSignIn(ctx context.Context, account, addr string) error {
	now := s.now()
	pair, acct, address, known := signInKeys(account, addr)
	keys := []throttleKey{pair, acct, address}
	var seen time.Time
	err := s.db.Read().QueryRowContext(ctx, `SELECT last_seen_at FROM signin_known WHERE key = $1`, known).Scan(&seen)
	switch {
	case err == nil && now.Sub(seen) < knownFor:
		keys = []throttleKey{pair, address} // the account-wide count does not slow a known address
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return sqldb.Err(err, "sign-in throttle")
	}
	// Another attempt may count itself between our read and our write (a
	// compare-and-set that misses): read again, a few times, before
	// refusing; the delays still hold, since each round reads them anew.
	for round := range claimRounds {
		if err := s.claim(ctx, now, keys); !errors.Is(err, errClaimRaced) {
			return err
		}
		// Step aside a moment (more each round, with jitter) so that a burst
		// of sign-ins from one address (an office behind NAT) goes through.
		time.Sleep(time.Duration(1+round) * time.Duration(500+rand.IntN(1000)) * time.Microsecond)
	}
	return errs.TooManyFor(time.Second, "too many sign-ins at once; try again in a second")
}

// claimRounds bounds how often BeginSignIn reads the counts again after
// another attempt changed them under it.
const claimRounds = 30

var errClaimRaced = errors.New("another sign-in attempt changed the counts")

// claim checks the delays of keys and counts one attempt on each, in one
// transaction, or returns errClaimRaced when another attempt counted
// itself in between.
func (s *Service) claim(ctx context.Context, now time.Time, keys []throttleKey) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		type claim struct {
			key         string
			exists      bool
			old, failed int
		}
		var claims []claim
		var wait time.Duration
		for _, k := range keys {
			c := claim{key: k.key}
			var last time.Time
			err := tx.QueryRowContext(ctx, `SELECT failures, last_failure_at FROM signin_failures WHERE key = $1`, k.key).Scan(&c.old, &last)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return sqldb.Err(err, "sign-in throttle")
			default:
				c.exists = true
				if now.Sub(last) < throttleForget {
					c.failed = c.old
					wait = max(wait, last.Add(k.rule.delay(c.old)).Sub(now))
				}
			}
			claims = append(claims, c)
		}
		if wait > 0 {
			return errs.TooManyFor(wait, "too many failed sign-ins; try again in %s", waitString(wait))
		}
		t := sqldb.Time(now)
		for _, c := range claims {
			var res sql.Result
			var err error
			if c.exists {
				res, err = tx.ExecContext(ctx, `UPDATE signin_failures SET failures = $1, last_failure_at = $2 WHERE key = $3 AND failures = $4`,
					c.failed+1, t, c.key, c.old)
			} else {
				res, err = tx.ExecContext(ctx, `INSERT INTO signin_failures (key, failures, last_failure_at) VALUES ($1, 1, $2) ON CONFLICT (key) DO NOTHING`, c.key, t)
			}
			if err != nil {
				return sqldb.Err(err, "sign-in throttle")
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errClaimRaced
			}
		}
		return nil
	})
}

func waitString(w time.Duration) string {
	if w <= time.Minute {
		return fmt.Sprintf("%d seconds", int(math.Ceil(w.Seconds())))
	}
	return fmt.Sprintf("%d minutes", int(math.Ceil(w.Minutes())))
}

// SignedIn records a right secret after BeginSignIn: the account's counts
// are cleared, the address's takes the attempt back, and the address is
// known to the account from now on.
func (s *Service) SignedIn(ctx context.Context, account, addr string) error {
	return s.signedIn(ctx, account, addr, 1)
}

// signedIn is SignedIn for a sign-in of several attempts (a password and
// its second factor): the address's count takes them all back.
func (s *Service) signedIn(ctx context.Context, account, addr string, attempts int) error {
	pair, acct, address, known := signInKeys(account, addr)
	t := sqldb.Time(s.now())
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = $1 OR key = $2`, pair.key, acct.key); err != nil {
			return sqldb.Err(err, "sign-in throttle")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signin_failures SET failures = failures - $1 WHERE key = $2 AND failures > 0`, attempts, address.key); err != nil {
			return sqldb.Err(err, "sign-in throttle")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE key = $1 AND failures <= 0`, address.key); err != nil {
			return sqldb.Err(err, "sign-in throttle")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signin_known (key, last_seen_at) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET last_seen_at = $2`, known, t)
		return sqldb.Err(err, "sign-in throttle")
	})
}

// purgeSignInFailures forgets counts whose last failure is long past, and
// addresses not signed in from for long.
func purgeSignInFailures(ctx context.Context, tx *sqldb.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE last_failure_at <= $1`, sqldb.Time(now.Add(-throttleForget))); err != nil {
		return sqldb.Err(err, "sign-in throttle")
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM signin_known WHERE last_seen_at <= $1`, sqldb.Time(now.Add(-knownFor)))
	return sqldb.Err(err, "sign-in throttle")
}
