package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Links in mails act without a session, so they carry who may do what
// until when, signed with HMAC-SHA256 under a key derived from Steward's
// secret key: "<payload>.<signature>", both base64url. A link that decides
// something works once (its hash is recorded when used, in the
// transaction of the use); opening it (GET) changes nothing.
type linkKey []byte

func newLinkKey(secret []byte) linkKey {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("steward mail links v1"))
	return m.Sum(nil)
}

// Link actions.
const (
	ActionApprove     = "approve"     // decide an approval (Object) as User
	ActionUnsubscribe = "unsubscribe" // stop User's mail
	ActionReset       = "reset"       // set User's password, the one whose stamp is Object
)

// How long links work.
const (
	approveLinkTTL     = 7 * 24 * time.Hour
	resetLinkTTL       = time.Hour
	unsubscribeLinkTTL = 365 * 24 * time.Hour
)

// Link is what a mail's link lets its bearer do.
type Link struct {
	Action  string `json:"a"`
	User    string `json:"u"`
	Object  string `json:"o,omitempty"`
	Expires int64  `json:"e"` // Unix seconds
	token   string
}

func (k linkKey) sign(l Link) string {
	payload, _ := json.Marshal(l)
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var badLink = errs.NotFound("this link is not valid; it may have been cut short in the mail, or it has expired. Open Steward to act instead")

func (k linkKey) open(token string, now time.Time) (*Link, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 1024 {
		return nil, badLink
	}
	// A signature has one spelling, so a link used once cannot be used
	// again spelt another way: Strict refuses other padding bits, and the
	// decoder skips CR and LF even then, so the spelling is compared too.
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || base64.RawURLEncoding.EncodeToString(got) != sig {
		return nil, badLink
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(p))
	if !hmac.Equal(got, m.Sum(nil)) {
		return nil, badLink
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, badLink
	}
	var l Link
	if json.Unmarshal(raw, &l) != nil || l.User == "" {
		return nil, badLink
	}
	if now.Unix() >= l.Expires {
		return nil, errs.NotFound("this link expired on %s; open Steward to act instead", time.Unix(l.Expires, 0).UTC().Format("2 Jan 2006"))
	}
	l.token = token
	return &l, nil
}

// LinkToken makes the token of a link for user to do action on object.
func (s *Service) LinkToken(action, user, object string) string {
	ttl := approveLinkTTL
	switch action {
	case ActionUnsubscribe:
		ttl = unsubscribeLinkTTL
	case ActionReset:
		ttl = resetLinkTTL
	}
	return s.links.sign(Link{Action: action, User: user, Object: object, Expires: s.now().Add(ttl).Unix()})
}

// OpenLink checks a link's token for the action, changing nothing: a
// link that is forged, expired, already used (for single-use actions), or
// whose user is disabled is not found.
func (s *Service) OpenLink(ctx context.Context, token, action string) (*Link, error) {
	l, err := s.links.open(token, s.now())
	if err != nil {
		return nil, err
	}
	if l.Action != action {
		return nil, badLink
	}
	var disabled bool
	if err := s.db.Read().QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1`, l.User).Scan(&disabled); err != nil || disabled {
		return nil, badLink
	}
	if action != ActionUnsubscribe { // single use
		var n int
		if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM email_actions WHERE token_hash = $1`, linkHash(l.token)).Scan(&n); err != nil {
			return nil, sqldb.Err(err, "mail link")
		}
		if n > 0 {
			return nil, errs.Conflict("this link was used already; open Steward to see the decision")
		}
	}
	return l, nil
}

// UseLink runs do for a single-use link's user and object, once: the link
// is recorded as used first, and released again if do fails, so a link
// whose action failed (the approval was decided meanwhile, say) may be
// followed again to see why.
func (s *Service) UseLink(ctx context.Context, token, action string, do func(l *Link) error) error {
	l, err := s.OpenLink(ctx, token, action)
	if err != nil {
		return err
	}
	h := linkHash(l.token)
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Time(s.now())
		_, err := tx.ExecContext(ctx, `INSERT INTO email_actions (token_hash, user_id, action, object_id, expires_at, used_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, h, l.User, l.Action, l.Object, time.Unix(l.Expires, 0).UTC(), now)
		return err
	})
	if err != nil {
		if errs.Is(sqldb.Err(err, "mail link"), errs.CodeConflict) {
			return errs.Conflict("this link was used already; open Steward to see the decision")
		}
		return sqldb.Err(err, "mail link")
	}
	if err := do(l); err != nil {
		ctx := context.WithoutCancel(ctx)
		_ = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM email_actions WHERE token_hash = $1`, h)
			return err
		})
		return err
	}
	return nil
}

// Unsubscribe stops the mail of a link's user (their inbox keeps
// everything). It is idempotent: the link works again and again.
func (s *Service) Unsubscribe(ctx context.Context, token string) (*Link, error) {
	l, err := s.OpenLink(ctx, token, ActionUnsubscribe)
	if err != nil {
		return nil, err
	}
	all, err := preferencesOf(ctx, s.db.Read(), []string{l.User})
	if err != nil {
		return nil, err
	}
	pr := all[l.User]
	pr.Email = EmailOff
	return l, s.setPreferences(ctx, l.User, pr)
}

func linkHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// How long the notification centre keeps what it made.
const (
	keepMail     = 90 * 24 * time.Hour  // sent or failed mails in the mail log
	keepReadNote = 365 * 24 * time.Hour // notifications read
)

// Purge forgets used links past their expiry, mails sent or failed more
// than 90 days ago, and notifications read more than a year ago (unread
// ones are kept), a thousand rows a transaction, and says how many rows
// it deleted (the notifications.purge job).
func (s *Service) Purge(ctx context.Context) (int64, error) {
	now := sqldb.Time(s.now())
	var total int64
	for _, q := range []struct {
		sql    string
		before time.Time
	}{
		{`DELETE FROM email_actions WHERE token_hash IN (SELECT token_hash FROM email_actions WHERE expires_at < $1 LIMIT 1000)`, now},
		{`DELETE FROM notification_mails WHERE id IN (SELECT id FROM notification_mails WHERE status <> 'queued' AND created_at < $1 LIMIT 1000)`, now.Add(-keepMail)},
		{`DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE read_at IS NOT NULL AND read_at < $1
			AND NOT EXISTS (SELECT 1 FROM notification_mails m WHERE m.notification_id = notifications.id AND m.status = 'queued') LIMIT 1000)`, now.Add(-keepReadNote)},
	} {
		for {
			var n int64
			err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
				res, err := tx.ExecContext(ctx, q.sql, q.before)
				if err != nil {
					return sqldb.Err(err, "notifications")
				}
				n, _ = res.RowsAffected()
				return nil
			})
			total += n
			if err != nil {
				return total, err
			}
			if n < 1000 {
				break
			}
		}
	}
	return total, nil
}
