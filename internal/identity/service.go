package identity

import (
	"context"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Options tune a Service. The zero value gives the production defaults.
type Options struct {
	// Argon2 sets the password hashing cost; zero means DefaultArgon2.
	Argon2 Argon2Params
	// SessionTTL is how long a portal session lasts at most (default 12 h).
	SessionTTL time.Duration
	// SessionIdle ends a session unused for this long (default 2 h).
	SessionIdle time.Duration
}

// Service is the identity and access domain.
type Service struct {
	db       *sqldb.DB
	now      func() time.Time
	opts     Options
	throttle *throttle
}

// NewService returns the identity service.
func NewService(db *sqldb.DB, now func() time.Time, opts Options) *Service {
	if opts.Argon2 == (Argon2Params{}) {
		opts.Argon2 = DefaultArgon2
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.SessionIdle == 0 {
		opts.SessionIdle = 2 * time.Hour
	}
	return &Service{db: db, now: now, opts: opts, throttle: newThrottle()}
}

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}

// limit clamps a page size: 0 means 50, at most 500.
func limit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 500:
		return 500
	}
	return n
}
