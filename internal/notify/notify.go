// Package notify is Steward's notification centre. It is a sink of the
// outbox: every event whose Notice says who is told becomes, in the
// dispatcher's transaction and so exactly once, one notification per
// recipient (their in-portal inbox) and, by the recipient's preferences,
// a mail queued for the mailer.
//
// Recipients are the users the notice names, the members of the
// assignment groups it names, and the holders of the roles it names on a
// scope covering the event's org unit or service (the rule access.Grant
// applies): never the actor of the event, a disabled user or a machine
// user (an OSB platform's).
//
// The mailer sends queued mails over SMTP (STARTTLS and authentication),
// plain text and HTML, from its own table: claimed with a lease (FOR
// UPDATE SKIP LOCKED across replicas on PostgreSQL), retried with
// exponential backoff for a day, then marked failed; a digest collects a
// user's mails of the day into one. A mail is recorded sent close behind
// the server's acceptance, by a recorder that group-commits a connection's
// accepted mails while the sender goes on; only a crash between the two can
// send it twice (at most SMTP.Unrecorded mails a connection: 16 by
// default, 1 to 64), and its
// Message-ID is the same both times.
package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Email preferences.
const (
	EmailImmediate = "immediate" // a mail per notification (the default)
	EmailDigest    = "digest"    // one mail a day with the day's notifications
	EmailOff       = "off"       // the inbox only
)

// DigestHour is the hour (UTC) digests are sent.
const DigestHour = 7

// Service is the notification centre.
type Service struct {
	db  *sqldb.DB
	now func() time.Time
	log *slog.Logger
	// Mail is how mail is sent; a zero Mail (no server) keeps notifications
	// in the inbox and queues no mail.
	Mail SMTP
	// PublicURL is where mails link to: https://steward.example.com.
	PublicURL string
	links     linkKey
	// pacer paces sending to Mail.Rate across the mailer's batches.
	pacerOnce sync.Once
	pacer     *rate.Limiter
}

// pace returns the limiter that paces this replica's mail (Mail.Rate; a
// burst of 10).
func (s *Service) pace() *rate.Limiter {
	s.pacerOnce.Do(func() { s.pacer = rate.NewLimiter(s.Mail.rate(), 10) })
	return s.pacer
}

// New returns the notification centre. key signs the links in mails
// (approving from a mail, unsubscribing); it is derived from the secret
// key that seals credentials.
func New(db *sqldb.DB, now func() time.Time, log *slog.Logger, key []byte) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now, log: log, links: newLinkKey(key)}
}

// Take makes the notifications of a batch of events (an outbox.Sink).
func (s *Service) Take(ctx context.Context, tx *sqldb.Tx, events []outbox.Stored) error {
	write, err := s.Prepare(ctx, events)
	if err != nil {
		return err
	}
	return write(ctx, tx)
}

// Prepare resolves who each event tells, and their preferences, from
// committed data, and returns the writes of their notifications and mails
// for the dispatcher's transaction (an outbox.Preparer).
func (s *Service) Prepare(ctx context.Context, events []outbox.Stored) (func(context.Context, *sqldb.Tx) error, error) {
	now := sqldb.Time(s.now())
	q := s.db.Read()
	type row struct {
		id, user string
		e        *outbox.Stored
	}
	var rows []row
	users := map[string]bool{}
	for i := range events {
		e := &events[i]
		if e.Notice == nil {
			continue
		}
		to, err := recipients(ctx, q, e)
		if err != nil {
			return nil, err
		}
		for _, u := range to {
			rows = append(rows, row{sqldb.NewID(), u, e})
			users[u] = true
		}
	}
	type mail struct {
		id, user, notification string
		digest                 bool
		runAt                  time.Time
	}
	var mails []mail
	if len(rows) > 0 && s.Mail.Configured() {
		prefs, err := preferencesOf(ctx, q, keys(users))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			pr := prefs[r.user]
			if pr.Email == EmailOff || slices.Contains(pr.Muted, r.e.Type) {
				continue
			}
			m := mail{sqldb.NewID(), r.user, r.id, false, now}
			if pr.Email == EmailDigest {
				m.digest, m.runAt = true, nextDigest(now)
			}
			mails = append(mails, m)
		}
	}
	return func(ctx context.Context, tx *sqldb.Tx) error {
		inserted := map[string]bool{}
		err := sqldb.Bulk{
			Object: "notifications",
			Head:   `INSERT INTO notifications (id, user_id, event_id, kind, title, body, link, approval_id, created_at)`,
			// A notification made before (a batch dispatched again after
			// its sinks wrote) is kept, and gets no second mail.
			Tail: ` ON CONFLICT (event_id, user_id) DO NOTHING RETURNING id`,
			Cols: 9, Rows: len(rows),
			Args: func(i int, args []any) []any {
				r := rows[i]
				return append(args, r.id, r.user, r.e.ID, r.e.Type, clip(r.e.Notice.Title, 300), clip(r.e.Notice.Body, 2000), r.e.Notice.Link, r.e.Notice.Approval, sqldb.Time(r.e.At))
			},
			Scan: func(row sqldb.Scanner) error {
				var id string
				err := row.Scan(&id)
				inserted[id] = true
				return err
			},
		}.Insert(ctx, tx)
		if err != nil {
			return err
		}
		mails := slices.DeleteFunc(slices.Clone(mails), func(m mail) bool { return !inserted[m.notification] })
		return sqldb.Bulk{
			Object: "notification mails",
			Head:   `INSERT INTO notification_mails (id, user_id, notification_id, digest, status, run_at, created_at)`,
			Cols:   7, Rows: len(mails),
			Args: func(i int, args []any) []any {
				m := mails[i]
				return append(args, m.id, m.user, m.notification, m.digest, "queued", m.runAt, now)
			},
		}.Insert(ctx, tx)
	}, nil
}

// nextDigest is the next DigestHour:00 UTC after now.
func nextDigest(now time.Time) time.Time {
	d := time.Date(now.Year(), now.Month(), now.Day(), DigestHour, 0, 0, 0, time.UTC)
	if !d.After(now) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// recipients are the users an event's notice tells, in a stable order.
func recipients(ctx context.Context, q sqldb.Querier, e *outbox.Stored) ([]string, error) {
	n := e.Notice
	var args sqldb.Args
	var parts []string
	if len(n.Users) > 0 {
		parts = append(parts, `SELECT id FROM users WHERE `+sqldb.In(&args, "id", n.Users))
	}
	if len(n.Groups) > 0 {
		parts = append(parts, `SELECT user_id FROM group_members WHERE `+sqldb.In(&args, "group_id", n.Groups))
	}
	if len(n.Roles) > 0 {
		roles := make([]string, len(n.Roles))
		for i, r := range n.Roles {
			roles[i] = string(r)
		}
		// The org units that cover the event's are its path's: the path is
		// the IDs from the root ("/root/…/unit/"), so the grants index
		// answers (a grant covers its org unit and everything under it);
		// effective_grants holds the roles members hold through groups too.
		in := func() string { return sqldb.In(&args, "role", roles) }
		parts = append(parts, `SELECT user_id FROM effective_grants WHERE scope_kind = 'global' AND `+in())
		if ancestors := strings.FieldsFunc(e.OrgUnitPath, func(r rune) bool { return r == '/' }); len(ancestors) > 0 {
			parts = append(parts, `SELECT user_id FROM effective_grants WHERE scope_kind = 'org_unit' AND `+sqldb.In(&args, "scope_id", ancestors)+` AND `+in())
		}
		if e.ServiceID != "" {
			parts = append(parts, `SELECT user_id FROM effective_grants WHERE scope_kind = 'service' AND scope_id = `+args.Add(e.ServiceID)+` AND `+in())
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	query := `SELECT u.id FROM users u WHERE NOT u.disabled AND NOT u.machine AND u.id IN (`
	for i, p := range parts {
		if i > 0 {
			query += ` UNION `
		}
		query += p
	}
	query += `) ORDER BY u.id`
	ids, err := sqldb.QueryAll(ctx, q, "recipients", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == e.ActorID || slices.Contains(n.Except, id) }), nil
}

// Preferences are a user's choices of how they are told.
type Preferences struct {
	// Email is immediate, digest or off.
	Email string `json:"email"`
	// Muted are the event types the user gets no mail for (they stay in
	// the inbox).
	Muted []string `json:"muted"`
}

func preferencesOf(ctx context.Context, q sqldb.Querier, users []string) (map[string]Preferences, error) {
	out := make(map[string]Preferences, len(users))
	for _, u := range users {
		out[u] = Preferences{Email: EmailImmediate, Muted: []string{}}
	}
	for start := 0; start < len(users); start += 500 {
		var args sqldb.Args
		end := min(start+500, len(users))
		type pref struct {
			user string
			p    Preferences
		}
		got, err := sqldb.QueryAll(ctx, q, "notification preferences", func(row sqldb.Scanner) (pref, error) {
			var r pref
			var muted string
			if err := row.Scan(&r.user, &r.p.Email, &muted); err != nil {
				return r, err
			}
			return r, json.Unmarshal([]byte(muted), &r.p.Muted)
		}, `SELECT user_id, email, muted_json FROM notification_preferences WHERE `+sqldb.In(&args, "user_id", users[start:end]), args...)
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			out[r.user] = r.p
		}
	}
	return out, nil
}

// self is the user a notification operation acts for: a person signed in
// or with a token of all their roles. A token limited to some roles is a
// machine's, and has no inbox.
func self(p *access.Principal) (string, error) {
	if p == nil || p.IsSystem() || p.UserID == "" {
		return "", errs.Unauthenticated("sign in to see your notifications")
	}
	if p.Limited() {
		return "", errs.Forbidden("an API token limited to some roles has no notifications; use a session or a token with all your roles")
	}
	return p.UserID, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}
