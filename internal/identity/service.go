package identity

import (
	"context"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/secret"
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
	// TokenCacheTTL is how long an API token's principal is reused without
	// reading the database (default 5 s; negative: never). A revocation,
	// grant or user change made through this process takes effect at once;
	// one made through another replica, within this time.
	TokenCacheTTL time.Duration
	// Box seals two-step sign-in secrets at rest; nil makes a random key
	// for this process only (for tests: sealed secrets will not open
	// after a restart).
	Box *secret.Box
}

// Service is the identity and access domain.
type Service struct {
	db     *sqldb.DB
	now    func() time.Time
	opts   Options
	tokens *tokenCache
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
	if opts.TokenCacheTTL == 0 {
		opts.TokenCacheTTL = 5 * time.Second
	}
	if opts.Box == nil {
		opts.Box, _ = secret.New(secret.NewKey()) // a fresh key of the right size: no error
	}
	return &Service{db: db, now: now, opts: opts, tokens: &tokenCache{ttl: opts.TokenCacheTTL, m: map[string]cachedToken{}}}
}

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}
