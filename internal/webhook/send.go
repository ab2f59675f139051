package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Limits of one attempt's answer.
const (
	// MaxResponseRead is how much of a response body is read.
	MaxResponseRead = 64 << 10
	// MaxResponseKept is how much of it the delivery log keeps.
	MaxResponseKept = 2 << 10
)

// NewSecret returns a new signing secret: whsec_ and the base64 of 32
// random bytes, as Standard Webhooks writes them.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header of a message: "v1," and the
// base64 HMAC-SHA256, keyed by the secret's bytes, of "id.timestamp.body".
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, at.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// client returns the HTTP client of deliveries: no proxy, no redirects,
// bounded in time, and refusing forbidden addresses when it connects.
func (s *Service) client() *http.Client {
	dialer := &net.Dialer{Timeout: s.opt.ConnectTimeout, Control: s.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   s.opt.ConnectTimeout,
			ResponseHeaderTimeout: s.opt.Timeout,
			MaxIdleConnsPerHost:   s.opt.Parallel,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       s.opt.Timeout,
	}
}

// errPrivate is the refusal of a forbidden address.
var errPrivate = errors.New("refused: the address is loopback, private, link-local or unspecified (server-side request forgery protection; an administrator may allow it with serve --webhook-allow-private)")

// control checks the address a connection is about to be made to, after
// name resolution: the check a DNS answer cannot get around.
func (s *Service) control(_, address string, _ syscall.RawConn) error {
	if s.opt.AllowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || Forbidden(ip) {
		return fmt.Errorf("%s: %w", host, errPrivate)
	}
	return nil
}

// Wake makes an idle deliverer look for work now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. An attempt in flight when ctx ends finishes
// (within Timeout) and is recorded.
func (s *Service) Run(ctx context.Context) {
	c := s.client()
	for {
		n, err := s.deliverDue(ctx, c)
		if err != nil && ctx.Err() == nil {
			s.log.Error("webhook deliveries", "err", err)
		}
		if n > 0 && err == nil && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(s.opt.Poll):
		}
	}
}

// DeliverDue sends the deliveries due now (at most Parallel at once) and
// reports how many it sent; for tests and the CLI.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	s.once.Do(func() { s.shared = s.client() })
	return s.deliverDue(ctx, s.shared)
}

type claimed struct {
	id, subID, subject string
	payload            []byte
	attempts           int
	retryUntil         time.Time
}

func (s *Service) deliverDue(ctx context.Context, c *http.Client) (int, error) {
	batch, err := s.claim(ctx)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	subs := map[string]*Subscription{}
	for _, d := range batch {
		if subs[d.subID] == nil {
			sub, err := s.get(ctx, s.db.Read(), d.subID)
			if err != nil {
				return 0, err
			}
			subs[d.subID] = sub
		}
	}
	outs := make([]outcome, len(batch))
	var wg sync.WaitGroup
	for i, d := range batch {
		wg.Go(func() { outs[i] = s.attempt(context.WithoutCancel(ctx), c, subs[d.subID], d) })
	}
	wg.Wait()
	// The batch's outcomes in one transaction (one commit, not one each);
	// should it fail, each on its own, so one bad row spoils no other.
	rctx := context.WithoutCancel(ctx)
	err = s.db.Tx(rctx, func(tx *sqldb.Tx) error {
		for i, d := range batch {
			if err := s.record(rctx, tx, subs[d.subID], d, outs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i, d := range batch {
			if err := s.db.Tx(rctx, func(tx *sqldb.Tx) error { return s.record(rctx, tx, subs[d.subID], d, outs[i]) }); err != nil {
				s.log.Error("record webhook delivery", "delivery", d.id, "err", err)
			}
		}
	}
	return len(batch), nil
}

// claim leases the due deliveries, the earliest pending one of each
// (subscription, subject) only, so a subject's events go in order.
func (s *Service) claim(ctx context.Context) ([]claimed, error) {
	now := sqldb.Time(s.now())
	q := `UPDATE webhook_deliveries SET locked_by = $1, locked_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT d.id FROM webhook_deliveries d
			WHERE d.state = 'pending' AND d.next_at <= $3 AND (d.locked_until IS NULL OR d.locked_until < $3)
			AND EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = d.subscription_id AND s.enabled)
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.subscription_id = d.subscription_id
				AND e.subject = d.subject AND e.state = 'pending' AND e.seq < d.seq)
			ORDER BY d.next_at, d.seq LIMIT $4` + s.db.Dialect.SkipLocked() + `)
		RETURNING id, subscription_id, subject, payload, attempts, retry_until`
	var out []claimed
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = sqldb.QueryAll(ctx, tx, "webhook deliveries", func(row sqldb.Scanner) (claimed, error) {
			var c claimed
			var payload string
			err := row.Scan(&c.id, &c.subID, &c.subject, &payload, &c.attempts, &c.retryUntil)
			c.payload = []byte(payload)
			return c, err
		}, q, s.opt.WorkerID, now.Add(s.opt.Lease), now, s.opt.Parallel)
		return err
	})
	return out, err
}

// outcome is what one attempt came to.
type outcome struct {
	status   int
	duration time.Duration
	response string
	err      string
	at       time.Time
}

func (o outcome) ok() bool { return o.err == "" && o.status >= 200 && o.status < 300 }

// attempt sends one delivery.
func (s *Service) attempt(ctx context.Context, c *http.Client, sub *Subscription, d claimed) outcome {
	at := s.now()
	out := outcome{at: at}
	key, err := s.box.Open(sub.sealed)
	if err != nil {
		out.err = "the subscription's secret does not open with this server's key: rotate the secret"
		return out
	}
	sig, err := Sign(key, d.id, at, d.payload)
	if err != nil {
		out.err = err.Error()
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(d.payload))
	if err != nil {
		out.err = err.Error()
		return out
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("User-Agent", "Steward-Webhooks/1")
	req.Header.Set("webhook-id", d.id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		out.duration = time.Since(start)
		out.err = s.describe(err)
		return out
	}
	body, rerr := io.ReadAll(io.LimitReader(res.Body, MaxResponseRead))
	res.Body.Close()
	out.duration = time.Since(start)
	out.status = res.StatusCode
	out.response = clean(string(body), MaxResponseKept)
	switch {
	case rerr != nil:
		out.err = "reading the answer: " + s.describe(rerr)
	case res.StatusCode >= 300 && res.StatusCode < 400:
		out.err = clean(fmt.Sprintf("redirects are not followed: the receiver answered %d to %s", res.StatusCode, res.Header.Get("Location")), 1000)
	case res.StatusCode < 200 || res.StatusCode >= 300:
		out.err = fmt.Sprintf("the receiver answered %d", res.StatusCode)
	}
	return out
}

// describe says what went wrong with an attempt, naming a timeout as one.
func (s *Service) describe(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return clean(fmt.Sprintf("timed out after %s: %v", s.opt.Timeout, err), 1000)
	}
	return clean(err.Error(), 1000)
}

// clean makes text fit the log: valid UTF-8 without control characters
// but newlines and tabs, at most n bytes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// record writes an attempt's outcome if this deliverer still holds the
// delivery, and what it means for the subscription.
func (s *Service) record(ctx context.Context, tx *sqldb.Tx, sub *Subscription, d claimed, o outcome) error {
	now := sqldb.Time(s.now())
	set := `last_status = $1, last_duration_ms = $2, last_response = $3, last_error = $4, last_attempt_at = $5, locked_by = '', locked_until = NULL`
	args := sqldb.Args{o.status, o.duration.Milliseconds(), o.response, o.err, sqldb.Time(o.at)}
	dead := false
	if o.ok() {
		set += `, state = 'delivered', delivered_at = ` + args.Add(now)
	} else if next := now.Add(s.opt.Backoff(d.attempts)); next.After(d.retryUntil) {
		dead = true
		set += `, state = 'dead'`
	} else {
		set += `, next_at = ` + args.Add(sqldb.Time(next))
	}
	res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET `+set+` WHERE id = `+args.Add(d.id)+
		` AND locked_by = `+args.Add(s.opt.WorkerID)+` AND state = 'pending'`, args...)
	if err != nil {
		return sqldb.Err(err, "webhook delivery")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		s.log.Warn("webhook delivery was taken back before its attempt was recorded", "delivery", d.id)
		return nil
	}
	if o.ok() {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, sub.ID)
		return sqldb.Err(err, "webhook subscription")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL`, sqldb.Time(o.at), sub.ID); err != nil {
		return sqldb.Err(err, "webhook subscription")
	}
	if dead {
		s.log.Warn("webhook delivery dead-lettered", "delivery", d.id, "subscription", sub.ID, "attempts", d.attempts, "err", o.err)
		return s.maybeDisable(ctx, tx, sub.ID, d, now)
	}
	return nil
}

// maybeDisable disables a subscription at a dead letter when nothing was
// delivered to it for DisableAfter, with an audit record its owner sees.
func (s *Service) maybeDisable(ctx context.Context, tx *sqldb.Tx, subID string, d claimed, now time.Time) error {
	sub, err := s.get(ctx, tx, subID)
	if err != nil || !sub.Enabled || sub.FailingSince == nil || now.Sub(*sub.FailingSince) < s.opt.DisableAfter {
		return err
	}
	before := *sub
	sub.Enabled = false
	sub.DisabledReason = fmt.Sprintf("disabled by Steward at %s: every delivery failed since %s and delivery %s was dead-lettered; fix the receiver, then enable the subscription and redeliver what it missed",
		now.Format(time.RFC3339), sub.FailingSince.Format(time.RFC3339), d.id)
	sub.UpdatedAt = now
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET enabled = FALSE, disabled_reason = $1, updated_at = $2 WHERE id = $3`,
		sub.DisabledReason, now, subID); err != nil {
		return sqldb.Err(err, "webhook subscription")
	}
	s.log.Error("webhook subscription disabled after persistent failure", "subscription", subID, "owner", sub.OwnerID, "url", sub.URL)
	if err := audit.Write(ctx, tx, access.System(), now, audit.Entry{Action: "webhook.disable", ObjectType: "webhook", ObjectID: subID, Before: &before, After: sub}); err != nil {
		return err
	}
	// The owner is told through the notification centre (in the inbox and
	// by mail), and other subscribers by the event.
	return outbox.Emit(ctx, tx, access.System(), now, outbox.Event{Type: DisabledType, Subject: "webhooks/" + subID, OrgUnitID: sub.OrgUnitID,
		Data:   map[string]string{"subscription_id": subID, "url": sub.URL, "reason": sub.DisabledReason},
		Notice: &outbox.Notice{Title: "A webhook subscription was disabled", Body: sub.DisabledReason, Link: "/admin/webhooks/" + subID, Users: []string{sub.OwnerID}}})
}

// DisabledType is the outbox event type that tells a subscription's owner
// Steward disabled it.
const DisabledType = "webhook.disabled"
