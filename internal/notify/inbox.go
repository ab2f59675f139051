package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Notification is one thing a person was told.
type Notification struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"` // the event type: order.approved, …
	Title     string     `json:"title"`
	Body      string     `json:"body,omitempty"`
	Link      string     `json:"link"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

// Filter selects a user's notifications.
type Filter struct {
	Unread bool // only those not read
	Page   sqldb.Page
}

var inboxOrder = sqldb.Order{Name: "notifications", Columns: []string{"created_at", "id"}, Desc: true}

// List returns the caller's notifications, newest first.
func (s *Service) List(ctx context.Context, p *access.Principal, f Filter) (sqldb.Paged[*Notification], error) {
	var none sqldb.Paged[*Notification]
	user, err := self(p)
	if err != nil {
		return none, err
	}
	args := sqldb.Args{user}
	where := []string{"user_id = $1"}
	if f.Unread {
		where = append(where, "read_at IS NULL")
	}
	var at time.Time
	var id string
	seek, err := inboxOrder.Seek(&args, f.Page, &at, &id)
	if err != nil {
		return none, err
	}
	where = append(where, seek)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "notifications", scanNotification,
		`SELECT id, kind, title, body, link, created_at, read_at FROM notifications WHERE `+strings.Join(where, " AND ")+
			inboxOrder.By()+inboxOrder.Limit(&args, f.Page), args...)
	return sqldb.PageOf(rows, f.Page, inboxOrder, func(n *Notification) []any { return []any{n.CreatedAt, n.ID} }), err
}

func scanNotification(row sqldb.Scanner) (*Notification, error) {
	var n Notification
	var read sql.NullTime
	if err := row.Scan(&n.ID, &n.Kind, &n.Title, &n.Body, &n.Link, &n.CreatedAt, &read); err != nil {
		return nil, err
	}
	n.CreatedAt, n.ReadAt = n.CreatedAt.UTC(), sqldb.TimePtr(read)
	return &n, nil
}

// Unread counts the caller's unread notifications (0 for callers without
// an inbox).
func (s *Service) Unread(ctx context.Context, p *access.Principal) (int, error) {
	user, err := self(p)
	if err != nil {
		return 0, nil
	}
	var n int
	err = s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL`, user).Scan(&n)
	return n, sqldb.Err(err, "notifications")
}

// MarkRead marks one of the caller's notifications read (again: no error)
// and returns it. Another's notification is not found.
func (s *Service) MarkRead(ctx context.Context, p *access.Principal, id string) (*Notification, error) {
	user, err := self(p)
	if err != nil {
		return nil, err
	}
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("notification %q not found", id)
	}
	var out *Notification
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL`,
			sqldb.Time(s.now()), id, user); err != nil {
			return sqldb.Err(err, "notification")
		}
		out, err = sqldb.QueryOne(ctx, tx, "notification "+id, scanNotification,
			`SELECT id, kind, title, body, link, created_at, read_at FROM notifications WHERE id = $1 AND user_id = $2`, id, user)
		return err
	})
	return out, err
}

// MarkAllRead marks every unread notification of the caller read and says
// how many it marked.
func (s *Service) MarkAllRead(ctx context.Context, p *access.Principal) (int64, error) {
	user, err := self(p)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL`, sqldb.Time(s.now()), user)
		if err != nil {
			return sqldb.Err(err, "notifications")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// Preferences returns the caller's preferences (the defaults until they
// set theirs).
func (s *Service) Preferences(ctx context.Context, p *access.Principal) (*Preferences, error) {
	user, err := self(p)
	if err != nil {
		return nil, err
	}
	all, err := preferencesOf(ctx, s.db.Read(), []string{user})
	if err != nil {
		return nil, err
	}
	pr := all[user]
	return &pr, nil
}

// Validate checks preferences and puts the muted types in order.
func (in *Preferences) Validate() error {
	var v errs.Validator
	v.Check(in.Email == EmailImmediate || in.Email == EmailDigest || in.Email == EmailOff, "email", "enum",
		"email is immediate, digest or off")
	v.Check(len(in.Muted) <= 100, "muted", "length", "muted lists at most 100 event types")
	for i, t := range in.Muted {
		if i < 100 && !outbox.Known(t) {
			v.Check(false, "muted", "enum", "muted names event types; "+clip(t, 60)+" is not one (GET /api/v1/event-types lists them)")
			break
		}
	}
	slices.Sort(in.Muted)
	in.Muted = slices.Compact(in.Muted)
	if in.Muted == nil {
		in.Muted = []string{}
	}
	return v.Err("the notification preferences are not valid")
}

// SetPreferences replaces the caller's preferences.
func (s *Service) SetPreferences(ctx context.Context, p *access.Principal, in Preferences) (*Preferences, error) {
	user, err := self(p)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return &in, s.setPreferences(ctx, user, in)
}

func (s *Service) setPreferences(ctx context.Context, user string, in Preferences) error {
	muted, _ := json.Marshal(in.Muted)
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notification_preferences (user_id, email, muted_json, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, muted_json = excluded.muted_json, updated_at = excluded.updated_at`,
			user, in.Email, string(muted), sqldb.Time(s.now()))
		return sqldb.Err(err, "notification preferences")
	})
}

// Mail is one mail of the mail log.
type Mail struct {
	ID        string     `json:"id"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Kind      string     `json:"kind"`
	Digest    bool       `json:"digest"`
	Status    string     `json:"status"` // queued, sent, failed
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	RunAt     time.Time  `json:"run_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// MailFilter selects mails of the log.
type MailFilter struct {
	Status string // queued, sent or failed; "" for all
	Page   sqldb.Page
}

var mailOrder = sqldb.Order{Name: "mails", Columns: []string{"m.created_at", "m.id"}, Desc: true}

// Mails is the mail log, newest first, for administrators (job.read: the
// mailer is background work).
func (s *Service) Mails(ctx context.Context, p *access.Principal, f MailFilter) (sqldb.Paged[*Mail], error) {
	var none sqldb.Paged[*Mail]
	if err := p.Require(access.JobRead, access.Resource{}); err != nil {
		return none, err
	}
	var args sqldb.Args
	where := []string{"1 = 1"}
	switch f.Status {
	case "":
	case "queued", "sent", "failed":
		where = append(where, "m.status = "+args.Add(f.Status))
	default:
		var v errs.Validator
		v.Add("status", "enum", "status is queued, sent or failed")
		return none, v.Err("a query parameter is not valid")
	}
	var at time.Time
	var id string
	seek, err := mailOrder.Seek(&args, f.Page, &at, &id)
	if err != nil {
		return none, err
	}
	where = append(where, seek)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "mails", func(row sqldb.Scanner) (*Mail, error) {
		var m Mail
		var sent sql.NullTime
		err := row.Scan(&m.ID, &m.To, &m.Subject, &m.Kind, &m.Digest, &m.Status, &m.Attempts, &m.LastError, &m.RunAt, &sent, &m.CreatedAt)
		m.RunAt, m.CreatedAt, m.SentAt = m.RunAt.UTC(), m.CreatedAt.UTC(), sqldb.TimePtr(sent)
		return &m, err
	}, `SELECT m.id, u.email, n.title, n.kind, m.digest, m.status, m.attempts, m.last_error, m.run_at, m.sent_at, m.created_at
		FROM notification_mails m JOIN users u ON u.id = m.user_id JOIN notifications n ON n.id = m.notification_id
		WHERE `+strings.Join(where, " AND ")+mailOrder.By()+mailOrder.Limit(&args, f.Page), args...)
	return sqldb.PageOf(rows, f.Page, mailOrder, func(m *Mail) []any { return []any{m.CreatedAt, m.ID} }), err
}
