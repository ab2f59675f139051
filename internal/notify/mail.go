package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"text/template"
	"time"

	"golang.org/x/time/rate"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TLS modes of the SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer (the default)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: a relay on the same host or network only
)

// SMTP is how mail is sent.
type SMTP struct {
	Addr     string // host:port; empty: no mail
	Username string // authenticate (PLAIN) when set
	Password string
	From     string // the From address: "Steward <steward@example.com>"
	TLS      string // TLSStartTLS (default), TLSImplicit or TLSNone
	// RootCAs verify the server's certificate; nil: the system's.
	RootCAs *x509.CertPool
	// Timeout bounds one connection: dial, TLS, and the mails sent on it
	// (default 30 s).
	Timeout time.Duration
	// Lease is how long mails a sender claimed wait before another may take
	// them, should the sender die (default 5 min; longer than Timeout).
	Lease time.Duration
	// Unrecorded is the most mails of a connection the server may have
	// accepted that are not yet recorded as sent, which a crash (kill -9,
	// a power cut) would send again (default DefaultUnrecorded; 1 to
	// MaxUnrecorded). 1 records each mail before the next is sent: at
	// most one mail twice after a crash, the least SMTP allows (no reply
	// outlives a crash between the server's acceptance and the record),
	// for a commit per mail.
	Unrecorded int
	// Rate is the most mails a second this replica sends (default
	// DefaultMailRate; negative: no limit). Mail yields to the business
	// transactions that cause it: sending as fast as the relay accepts
	// takes CPU and SQLite's writer from a billing run.
	Rate float64
}

// DefaultMailRate is the mails a second a replica sends by default: 10,000
// in 25 s. Unpaced, a burst took CPU and SQLite's writer from the billing
// run that caused it (finalising 29 % slower, against 13 % paced:
// docs/benchmarks.md). Many relays throttle harder; set Rate to theirs.
const DefaultMailRate = 400

func (m SMTP) rate() rate.Limit {
	switch {
	case m.Rate < 0:
		return rate.Inf
	case m.Rate == 0:
		return DefaultMailRate
	}
	return rate.Limit(m.Rate)
}

func (m SMTP) unrecorded() int {
	if m.Unrecorded > 0 {
		return m.Unrecorded
	}
	return DefaultUnrecorded
}

func (m SMTP) lease() time.Duration {
	if m.Lease > 0 {
		return m.Lease
	}
	return mailLease
}

// Configured reports whether mail is sent at all.
func (m SMTP) Configured() bool { return m.Addr != "" }

// Validate checks the settings (at start, so a typo fails loudly).
func (m SMTP) Validate() error {
	if !m.Configured() {
		return nil
	}
	if _, _, err := net.SplitHostPort(m.Addr); err != nil {
		return fmt.Errorf("smtp address %q is not host:port", m.Addr)
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return fmt.Errorf("smtp from %q is not a mail address: %v", m.From, err)
	}
	switch m.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("smtp tls %q is not starttls, tls or none", m.TLS)
	}
	if m.Unrecorded < 0 || m.Unrecorded > MaxUnrecorded {
		return fmt.Errorf("smtp unrecorded %d must be from 1 to %d (0: the default, %d)", m.Unrecorded, MaxUnrecorded, DefaultUnrecorded)
	}
	if m.lease() < 2*m.timeout() {
		return fmt.Errorf("smtp lease %s must be at least twice the timeout %s: a sender stops when its claim is about to run out", m.lease(), m.timeout())
	}
	return nil
}

// Mailer tuning.
const (
	mailBatch  = 100              // mails claimed at a time
	mailLease  = 5 * time.Minute  // a claim's lease: a sender that died lets go after it
	mailGiveUp = 24 * time.Hour   // a mail still failing a day after it was queued fails for good
	maxBackoff = 2 * time.Hour    // the longest wait between attempts
	firstRetry = 30 * time.Second // the wait after the first failure
)

// outMail is a message being sent: one notification, or a user's digest.
type outMail struct {
	ids     []string // notification_mails rows it settles
	user    string
	to      string
	name    string
	digest  bool
	items   []mailItem
	created time.Time
}

type mailItem struct {
	id, kind, title, body, link, approval string
	at                                    time.Time
}

// RunMailer sends mail until ctx ends: batch after batch while mail is
// due, then every tick.
func (s *Service) RunMailer(ctx context.Context, tick time.Duration) {
	if !s.Mail.Configured() {
		return
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		for {
			n, err := s.DeliverMail(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("mail delivery", "err", err)
			}
			if err != nil || n < mailBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverMail sends one batch of due mail and reports how many queued
// rows it settled (sent, failed for good, or put back for a retry).
func (s *Service) DeliverMail(ctx context.Context) (int, error) {
	msgs, err := s.claim(ctx)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		n += len(m.ids)
	}
	claimed := time.Now()
	c, err := s.dial(ctx)
	if err != nil {
		for _, m := range msgs {
			s.settle(ctx, m, err)
		}
		return n, err
	}
	defer c.Close()
	rec := s.newRecorder(ctx)
	defer rec.close() // what the server accepted is recorded before the connection returns
	pace := s.pace()
	for i, m := range msgs {
		rec.room()
		_ = pace.Wait(ctx) // a cancelled wait is the ctx.Err() below
		// Stop while the claim is sure to hold for one more mail, and when
		// the server shuts down: what is left goes back to the queue as it
		// was, for this replica's next round or another's.
		if ctx.Err() != nil || time.Since(claimed) > s.Mail.lease()-s.Mail.timeout() {
			rec.close()
			s.release(ctx, msgs[i:])
			return n, ctx.Err()
		}
		err := s.send(c, m)
		if err == nil {
			rec.sent(m.ids)
			continue
		}
		s.settle(ctx, m, err)
		if !sessionGoesOn(err) {
			// The server refused the session (the sender, authentication) or
			// the connection broke: what is left waits for its retry.
			rec.close()
			for _, rest := range msgs[i+1:] {
				s.settle(ctx, rest, fmt.Errorf("not sent: an earlier mail on the connection failed: %w", err))
			}
			return n, err
		}
	}
	_ = c.Quit()
	return n, nil
}

// release puts claimed mails that were not tried back in the queue as
// they were.
func (s *Service) release(ctx context.Context, msgs []*outMail) {
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.ids...)
	}
	if len(ids) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var args sqldb.Args
		_, err := tx.ExecContext(ctx, `UPDATE notification_mails SET locked_until = NULL, attempts = attempts - 1 WHERE status = 'queued' AND `+
			sqldb.In(&args, "id", ids), args...)
		return err
	})
	if err != nil {
		s.log.Error("release mails", "err", err, "mails", len(ids))
	}
}

// DefaultUnrecorded is how many mails of a connection may, by default, be
// accepted by the server and not yet recorded as sent (SMTP.Unrecorded):
// before sending another the sender waits for the recorder. It bounds
// what a crash sends twice (at most these, per connection: the mail on
// the wire included), and is reached only while the database is slower
// than the mail server. MaxUnrecorded is the largest bound allowed.
const (
	DefaultUnrecorded = 16
	MaxUnrecorded     = 64
)

// A commit of the recorder waits until half its bound of mails (at least
// one) are handed over, or recordGather has passed since the first of
// them, or the connection ends: a commit per mail (at the pace of Rate, a
// few a second apart) would each take SQLite's writer, and a sync of its
// log, from the business transactions. Half the bound lets the sender go
// on while a commit is in flight.
const recordGather = 100 * time.Millisecond

// recorder records a connection's sent mails close behind the server's
// acceptance of each, off the sending path: the sender hands over every
// mail the server accepted and goes on with the next, while the recorder
// commits, in one transaction, all the mails handed over since its last
// commit began (a group commit). A mail is recorded once the commit in
// flight when it was accepted and the next have ended; the sender waits
// only when bound mails are unrecorded. close commits what is left
// and ends the recorder: before the connection returns, and on shutdown
// (the commits outlive the server's context: sent is sent).
type recorder struct {
	commit func(ids []string) // records mails sent, whatever the outcome (it logs failures)
	mu     sync.Mutex
	cond   *sync.Cond // signalled when mails are handed over, committed, or the recorder closes
	// pending are the IDs of the mails handed over since the last commit
	// began (pendingMails mails: a digest has several IDs); committing
	// mails are in the commit in flight.
	pending      []string
	pendingMails int
	committing   int
	closed       bool
	done         chan struct{}
	// bound is the most mails unrecorded; a commit waits for every mails
	// (half the bound, at least one), or for gather (recordGather).
	bound, every int
	gather       time.Duration
}

func (s *Service) newRecorder(ctx context.Context) *recorder {
	return startRecorder(func(ids []string) { s.markSent(ctx, ids) }, s.Mail.unrecorded())
}

func startRecorder(commit func(ids []string), bound int) *recorder {
	r := &recorder{commit: commit, done: make(chan struct{}), bound: bound, every: max(1, bound/2), gather: recordGather}
	r.cond = sync.NewCond(&r.mu)
	go r.run()
	return r
}

// room waits until the sender may send one more mail.
func (r *recorder) room() {
	r.mu.Lock()
	for r.pendingMails+r.committing >= r.bound {
		r.cond.Wait()
	}
	r.mu.Unlock()
}

// sent hands over a mail the server accepted.
func (r *recorder) sent(ids []string) {
	r.mu.Lock()
	r.pending = append(r.pending, ids...)
	r.pendingMails++
	r.mu.Unlock()
	r.cond.Broadcast()
}

// close records what was handed over and not yet recorded, and ends the
// recorder. It may be called again.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cond.Broadcast()
	<-r.done
}

func (r *recorder) run() {
	defer close(r.done)
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		for len(r.pending) == 0 && !r.closed {
			r.cond.Wait()
		}
		if len(r.pending) == 0 {
			return // closed, and everything recorded
		}
		gathered := time.Now().Add(r.gather)
		for r.pendingMails < r.every && !r.closed && time.Now().Before(gathered) {
			wake := time.AfterFunc(time.Until(gathered), r.cond.Broadcast)
			r.cond.Wait()
			wake.Stop()
		}
		ids := r.pending
		r.pending, r.committing, r.pendingMails = nil, r.pendingMails, 0
		r.mu.Unlock()
		r.commit(ids)
		r.mu.Lock()
		r.committing = 0
		r.cond.Broadcast()
	}
}

// markSent records mails the server accepted.
func (s *Service) markSent(ctx context.Context, ids []string) {
	ctx = context.WithoutCancel(ctx) // sent is sent, even while shutting down
	now := sqldb.Time(s.now())
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var args sqldb.Args
		at := args.Add(now)
		_, err := tx.ExecContext(ctx, `UPDATE notification_mails SET status = 'sent', sent_at = `+at+`, locked_until = NULL, last_error = '' WHERE `+sqldb.In(&args, "id", ids), args...)
		return err
	})
	if err != nil {
		// Their lease runs out and they are sent again, with the same Message-ID.
		s.log.Error("record sent mails", "err", err, "mails", len(ids))
	}
}

// claim leases due mails: single ones in order, then the due digests of a
// few users, each whole.
func (s *Service) claim(ctx context.Context) ([]*outMail, error) {
	now := sqldb.Time(s.now())
	var ids []string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		lease := func(where string, args ...any) error {
			a := sqldb.Args{now.Add(s.Mail.lease()), now}
			a = append(a, args...)
			got, err := sqldb.QueryAll(ctx, tx, "notification mails", func(row sqldb.Scanner) (string, error) {
				var id string
				return id, row.Scan(&id)
			}, `UPDATE notification_mails SET locked_until = $1, attempts = attempts + 1 WHERE id IN
				(SELECT id FROM notification_mails WHERE status = 'queued' AND run_at <= $2 AND (locked_until IS NULL OR locked_until <= $2) AND `+where+
				` ORDER BY run_at, id LIMIT `+fmt.Sprint(mailBatch)+tx.Dialect.SkipLocked()+`) RETURNING id`, a...)
			ids = append(ids, got...)
			return err
		}
		if err := lease("NOT digest"); err != nil {
			return err
		}
		users, err := sqldb.QueryAll(ctx, tx, "notification mails", func(row sqldb.Scanner) (string, error) {
			var id string
			return id, row.Scan(&id)
		}, `SELECT DISTINCT user_id FROM notification_mails WHERE status = 'queued' AND digest AND run_at <= $1
			AND (locked_until IS NULL OR locked_until <= $1) ORDER BY user_id LIMIT 10`, now)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := lease("digest AND user_id = $3", u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	type row struct {
		id, user, to, name string
		digest             bool
		created            time.Time
		item               mailItem
	}
	var args sqldb.Args
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "notification mails", func(r sqldb.Scanner) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.user, &x.to, &x.name, &x.digest, &x.created, &x.item.id, &x.item.kind, &x.item.title, &x.item.body,
			&x.item.link, &x.item.approval, &x.item.at)
		x.created, x.item.at = x.created.UTC(), x.item.at.UTC()
		return x, err
	}, `SELECT m.id, m.user_id, u.email, u.name, m.digest, m.created_at, n.id, n.kind, n.title, n.body, n.link, n.approval_id, n.created_at
		FROM notification_mails m JOIN users u ON u.id = m.user_id JOIN notifications n ON n.id = m.notification_id
		WHERE `+sqldb.In(&args, "m.id", ids)+` ORDER BY m.run_at, n.created_at, m.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []*outMail
	digests := map[string]*outMail{}
	for _, r := range rows {
		if r.digest {
			if m := digests[r.user]; m != nil {
				m.ids, m.items = append(m.ids, r.id), append(m.items, r.item)
				continue
			}
		}
		m := &outMail{ids: []string{r.id}, user: r.user, to: r.to, name: r.name, digest: r.digest, items: []mailItem{r.item}, created: r.created}
		if r.digest {
			digests[r.user] = m
		}
		out = append(out, m)
	}
	return out, nil
}

// settle records how sending m ended: sent; failed for good (the server
// refused it, or it has been failing for a day); or back in the queue
// after a backoff that doubles with each attempt.
func (s *Service) settle(ctx context.Context, m *outMail, sendErr error) {
	ctx = context.WithoutCancel(ctx)
	now := sqldb.Time(s.now())
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var args sqldb.Args
		in := sqldb.In(&args, "id", m.ids)
		if sendErr == nil {
			_, err := tx.ExecContext(ctx, `UPDATE notification_mails SET status = 'sent', sent_at = `+args.Add(now)+`, locked_until = NULL, last_error = '' WHERE `+in, args...)
			return err
		}
		msg := clip(sendErr.Error(), 500)
		if permanent(sendErr) || now.Sub(m.created) >= mailGiveUp {
			_, err := tx.ExecContext(ctx, `UPDATE notification_mails SET status = 'failed', locked_until = NULL, last_error = `+args.Add(msg)+` WHERE `+in, args...)
			return err
		}
		var attempts int
		if err := tx.QueryRowContext(ctx, `SELECT MAX(attempts) FROM notification_mails WHERE `+in, args...).Scan(&attempts); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE notification_mails SET locked_until = NULL, last_error = `+args.Add(msg)+`, run_at = `+
			args.Add(now.Add(backoff(attempts)))+` WHERE `+in, args...)
		return err
	})
	if err != nil {
		// The lease runs out and the mail is tried again.
		s.log.Error("record mail delivery", "err", err, "mails", m.ids)
	}
}

// backoff is the wait after the n-th failed attempt: 30 s, 1 min, 2 min …
// up to two hours, with a tenth of jitter.
func backoff(n int) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d + time.Duration(rand.Int64N(int64(d/10)+1))
}

// sendError is a failure of one mail at a stage of its SMTP exchange.
type sendError struct {
	stage string // MAIL, RCPT, DATA
	err   error
}

func (e *sendError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// reply is the server's reply to a mail's RCPT or DATA (nil for anything
// else: the connection, the session, the sender).
func reply(err error) *textproto.Error {
	var se *sendError
	var tp *textproto.Error
	if errors.As(err, &se) && (se.stage == "RCPT" || se.stage == "DATA") && errors.As(err, &tp) {
		return tp
	}
	return nil
}

// permanent reports whether the server refused this mail for good: a 5xx
// reply to its recipient or its data (a refusal of the sender or of the
// session is the server's configuration, which may be fixed, and retried).
func permanent(err error) bool {
	tp := reply(err)
	return tp != nil && tp.Code >= 500 && tp.Code < 600
}

// sessionGoesOn reports whether, after the error, the connection can send
// the next mail: the server answered this one's recipient or data (4xx or
// 5xx), and the transaction was reset.
func sessionGoesOn(err error) bool { return reply(err) != nil }

// errSession marks failures of the connection itself (dial, TLS, EHLO,
// authentication): never the mails' fault; they are tried again.
var errSession = errors.New("smtp session")

// session is a connection to the mail server.
type session struct {
	*smtp.Client
	conn net.Conn
}

func (m SMTP) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return 30 * time.Second
}

func (s *Service) dial(ctx context.Context) (*session, error) {
	timeout := s.Mail.timeout()
	host, _, _ := net.SplitHostPort(s.Mail.Addr)
	tlsConf := &tls.Config{ServerName: host, RootCAs: s.Mail.RootCAs, MinVersion: tls.VersionTLS12}
	d := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if s.Mail.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", s.Mail.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.Mail.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: connect to %s: %v", errSession, s.Mail.Addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %s: %v", errSession, s.Mail.Addr, err)
	}
	fail := func(what string, err error) (*session, error) {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %s: %v", errSession, s.Mail.Addr, what, err)
	}
	if err := c.Hello(helloName(s.Mail.From)); err != nil {
		return fail("EHLO", err)
	}
	if s.Mail.TLS == "" || s.Mail.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail("STARTTLS", errors.New("the server does not offer STARTTLS (set the TLS mode to none only for a relay on a trusted network)"))
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if s.Mail.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Mail.Username, s.Mail.Password, host)); err != nil {
			return fail("AUTH", err)
		}
	}
	return &session{Client: c, conn: conn}, nil
}

func helloName(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if _, domain, ok := strings.Cut(a.Address, "@"); ok {
			return domain
		}
	}
	return "localhost"
}

func (s *Service) send(c *session, m *outMail) error {
	body, err := s.message(m)
	if err != nil {
		return err
	}
	// A deadline per mail: a slow server may take its time with each.
	_ = c.conn.SetDeadline(time.Now().Add(s.Mail.timeout()))
	from, _ := mail.ParseAddress(s.Mail.From)
	if err := c.Mail(from.Address); err != nil {
		return &sendError{"MAIL", err}
	}
	if err := c.Rcpt(m.to); err != nil {
		_ = c.Reset()
		return &sendError{"RCPT", err}
	}
	w, err := c.Data()
	if err != nil {
		_ = c.Reset()
		return &sendError{"DATA", err}
	}
	if _, err := w.Write(body); err != nil {
		return err // the connection broke mid-message
	}
	if err := w.Close(); err != nil {
		_ = c.Reset()
		return &sendError{"DATA", err}
	}
	return nil
}

// link is an absolute link to a portal path.
func (s *Service) link(path string) string {
	return strings.TrimRight(s.PublicURL, "/") + path
}

type mailView struct {
	Name        string
	Items       []mailViewItem
	Digest      bool
	Inbox       string
	Preferences string
	Unsubscribe string
}

type mailViewItem struct {
	Title, Body, Link, Approve string
	At                         string
}

// message renders m as a MIME message: plain text and HTML alternatives,
// a List-Unsubscribe header (one click, RFC 8058), links to the portal
// and, for an approval the recipient may decide, a link to a page that
// asks them to confirm.
func (s *Service) message(m *outMail) ([]byte, error) {
	v := mailView{Name: m.name, Digest: m.digest, Inbox: s.link("/notifications"), Preferences: s.link("/account#notifications"),
		Unsubscribe: s.link("/mail/unsubscribe/" + s.LinkToken(ActionUnsubscribe, m.user, ""))}
	for _, it := range m.items {
		vi := mailViewItem{Title: it.title, Body: it.body, Link: s.link(it.link), At: it.at.Format("2 Jan 2006 15:04 UTC")}
		if it.approval != "" {
			vi.Approve = s.link("/mail/approvals/" + s.LinkToken(ActionApprove, m.user, it.approval))
		}
		v.Items = append(v.Items, vi)
	}
	subject := m.items[0].title
	if m.digest {
		subject = fmt.Sprintf("Steward: %d notification%s today", len(m.items), plural(len(m.items)))
	}
	var text, html bytes.Buffer
	if err := textMail.Execute(&text, v); err != nil {
		return nil, errs.Internal(err, "render mail")
	}
	if err := htmlMail.Execute(&html, v); err != nil {
		return nil, errs.Internal(err, "render mail")
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	from, _ := mail.ParseAddress(s.Mail.From)
	_, domain, _ := strings.Cut(from.Address, "@")
	to := (&mail.Address{Name: m.name, Address: m.to}).String()
	h := []string{
		"From: " + from.String(),
		"To: " + to,
		// Long subjects are folded between encoded words (RFC 2047, 5322).
		"Subject: " + strings.ReplaceAll(mime.QEncoding.Encode("utf-8", subject), "?= =?", "?=\r\n =?"),
		"Date: " + s.now().UTC().Format(time.RFC1123Z),
		"Message-ID: <" + m.ids[0] + "@" + domain + ">",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		"List-Unsubscribe: <" + v.Unsubscribe + ">",
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
		"Content-Type: multipart/alternative; boundary=" + mw.Boundary(),
	}
	var out bytes.Buffer
	for _, line := range h {
		out.WriteString(line + "\r\n")
	}
	out.WriteString("\r\n")
	for _, part := range []struct {
		ctype string
		body  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(map[string][]string{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(part.body); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	out.Write(b.Bytes())
	return out.Bytes(), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var textMail = template.Must(template.New("text").Parse(`Hello {{.Name}},
{{range .Items}}
{{.Title}}
{{- if .Body}}
{{.Body}}{{end}}
Open: {{.Link}}
{{- if .Approve}}
Approve or reject from here (you will be asked to confirm): {{.Approve}}{{end}}
({{.At}})
{{end}}
All your notifications: {{.Inbox}}
Choose which mails you get: {{.Preferences}}
Stop these mails: {{.Unsubscribe}}
`))

var htmlMail = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #1d2430; max-width: 40em">
<p>Hello {{.Name}},</p>
{{range .Items}}<div style="border-left: 3px solid #2c5fb3; padding: 0.2em 0.8em; margin: 1em 0">
<p style="margin: 0.2em 0"><strong><a href="{{.Link}}">{{.Title}}</a></strong></p>
{{if .Body}}<p style="margin: 0.2em 0">{{.Body}}</p>{{end}}
{{if .Approve}}<p style="margin: 0.4em 0"><a href="{{.Approve}}" style="background: #2c5fb3; color: #fff; padding: 0.3em 0.8em; text-decoration: none; border-radius: 3px">Approve or reject</a> (you will be asked to confirm)</p>{{end}}
<p style="margin: 0.2em 0; color: #5b6472; font-size: 0.9em">{{.At}}</p>
</div>{{end}}
<p style="color: #5b6472; font-size: 0.9em"><a href="{{.Inbox}}">All your notifications</a> · <a href="{{.Preferences}}">Choose which mails you get</a> · <a href="{{.Unsubscribe}}">Stop these mails</a></p>
</body></html>
`))

// SendTest sends one mail to the address now, over the configured server,
// outside the queue: `steward mail test` checks the settings with it.
func (s *Service) SendTest(ctx context.Context, to string) error {
	if !s.Mail.Configured() {
		return errors.New("no mail server is configured: set --smtp-addr (STEWARD_SMTP_ADDR) and --smtp-from")
	}
	if _, err := mail.ParseAddress(to); err != nil {
		return fmt.Errorf("%q is not a mail address: %v", to, err)
	}
	m := &outMail{ids: []string{sqldb.NewID()}, to: to, name: to, created: s.now(),
		items: []mailItem{{title: "Steward can send you mail", body: "This is a test of Steward's mail settings; nothing needs doing.", link: "/notifications", at: s.now()}}}
	return s.sendNow(ctx, m)
}

// SendPasswordReset mails a person a link to set a new password, now,
// outside the queue (they are waiting for it): valid for an hour, once,
// and only while the password it replaces (stamp) is theirs.
func (s *Service) SendPasswordReset(ctx context.Context, userID, name, to, stamp string) error {
	if !s.Mail.Configured() {
		return errors.New("no mail server is configured")
	}
	m := &outMail{ids: []string{sqldb.NewID()}, user: userID, to: to, name: name, created: s.now(),
		items: []mailItem{{title: "Reset your Steward password", at: s.now(),
			body: "Someone, we hope you, asked to reset your password. The link works once, for an hour. If it was not you, ignore this mail: your password stays as it is.",
			link: "/login/reset/" + s.LinkToken(ActionReset, userID, stamp)}}}
	return s.sendNow(ctx, m)
}

// sendNow sends one mail over a connection of its own, outside the queue.
func (s *Service) sendNow(ctx context.Context, m *outMail) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := s.send(c, m); err != nil {
		return err
	}
	return c.Quit()
}
