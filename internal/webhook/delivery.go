package webhook

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// State is where a delivery is.
type State string

// The delivery states.
const (
	// StatePending waits to be sent, or to be sent again.
	StatePending State = "pending"
	// StateDelivered was answered 2xx.
	StateDelivered State = "delivered"
	// StateDead failed for RetryFor and is no longer tried (dead-lettered);
	// Redeliver queues it again.
	StateDead State = "dead"
)

// Delivery is one event on its way to one subscription, and the log of
// its last attempt.
type Delivery struct {
	// ID is the webhook-id header of every attempt.
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	Subject        string `json:"subject"`
	State          State  `json:"state"`
	Attempts       int    `json:"attempts"`
	// NextAt is when a pending delivery is tried next.
	NextAt time.Time `json:"next_at"`
	// RetryUntil is when a failing delivery is dead-lettered.
	RetryUntil time.Time `json:"retry_until"`
	// LastStatus is the HTTP status of the last attempt, 0 without an answer.
	LastStatus     int        `json:"last_status"`
	LastDurationMS int64      `json:"last_duration_ms"`
	LastResponse   string     `json:"last_response"`
	LastError      string     `json:"last_error"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	// Payload is the CloudEvent sent, as sent.
	Payload json.RawMessage `json:"payload"`
}

// CloudEvent is the body of a delivery: a CloudEvents 1.0 event in the
// structured JSON mode. Its type is "steward." and the outbox event type.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// TypePrefix goes before an outbox event type to make the CloudEvents type.
const TypePrefix = "steward."

// TestType is the outbox-like type of a test delivery ("steward.webhook.test").
const TestType = "webhook.test"

const deliveryColumns = `id, subscription_id, event_id, event_type, subject, state, attempts, next_at, retry_until, last_status,
	last_duration_ms, last_response, last_error, last_attempt_at, delivered_at, created_at, payload, seq`

func scanDelivery(row sqldb.Scanner) (*Delivery, error) {
	var d Delivery
	var payload string
	var last, delivered sql.NullTime
	var seq int64
	if err := row.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Subject, &d.State, &d.Attempts, &d.NextAt, &d.RetryUntil,
		&d.LastStatus, &d.LastDurationMS, &d.LastResponse, &d.LastError, &last, &delivered, &d.CreatedAt, &payload, &seq); err != nil {
		return nil, err
	}
	d.Payload = json.RawMessage(payload)
	d.NextAt, d.RetryUntil, d.CreatedAt = d.NextAt.UTC(), d.RetryUntil.UTC(), d.CreatedAt.UTC()
	d.LastAttemptAt, d.DeliveredAt = sqldb.TimePtr(last), sqldb.TimePtr(delivered)
	return &d, nil
}

// matches reports whether the subscription wants the event.
func (s *Subscription) matches(e outbox.Stored) bool {
	if len(s.EventTypes) > 0 && !contains(s.EventTypes, e.Type) {
		return false
	}
	if s.OrgUnitID == "" {
		return true
	}
	return s.orgUnitPath != "" && e.OrgUnitPath != "" && strings.HasPrefix(e.OrgUnitPath, s.orgUnitPath)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Service) payload(id, typ, subject string, at time.Time, data json.RawMessage) ([]byte, error) {
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return json.Marshal(CloudEvent{SpecVersion: "1.0", ID: id, Source: s.opt.Source, Type: TypePrefix + typ, Subject: subject,
		Time: at.UTC(), DataContentType: "application/json", Data: data})
}

type newDelivery struct {
	id, sub, event, typ, subject string
	payload                      []byte
}

// Take is the outbox sink: one delivery per event and matching enabled
// subscription, written in the dispatcher's transaction.
func (s *Service) Take(ctx context.Context, tx *sqldb.Tx, events []outbox.Stored) error {
	subs, err := sqldb.QueryAll(ctx, tx, "webhook subscriptions", scanSub, `SELECT `+subColumns+subFrom+` WHERE w.enabled ORDER BY w.id`)
	if err != nil || len(subs) == 0 {
		return err
	}
	var rows []newDelivery
	for _, e := range events {
		for _, sub := range subs {
			if !sub.matches(e) {
				continue
			}
			body, err := s.payload(e.ID, e.Type, e.Subject, e.At, e.Data)
			if err != nil {
				s.log.Error("webhook payload; event skipped", "event", e.ID, "err", err)
				continue
			}
			rows = append(rows, newDelivery{sqldb.NewID(), sub.ID, e.ID, e.Type, e.Subject, body})
		}
	}
	if err := s.insert(ctx, tx, rows); err != nil {
		return err
	}
	if len(rows) > 0 {
		s.Wake()
	}
	return nil
}

func (s *Service) insert(ctx context.Context, tx *sqldb.Tx, rows []newDelivery) error {
	now := sqldb.Time(s.now())
	until := now.Add(s.opt.RetryFor)
	return sqldb.Bulk{
		Object: "webhook deliveries",
		Head:   `INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, subject, payload, state, next_at, retry_until, created_at)`,
		Tail:   ` ON CONFLICT (event_id, subscription_id) DO NOTHING`,
		Cols:   10, Rows: len(rows),
		Args: func(i int, a []any) []any {
			r := rows[i]
			return append(a, r.id, r.sub, r.event, r.typ, r.subject, string(r.payload), StatePending, now, until, now)
		},
	}.Insert(ctx, tx)
}

// DeliveryFilter narrows a delivery log.
type DeliveryFilter struct {
	State State
	Page  sqldb.Page
}

var deliveryOrder = sqldb.Order{Name: "webhook_deliveries", Columns: []string{"seq"}, Desc: true}

// Deliveries is a subscription's delivery log, newest first. Callers need
// to be able to read the subscription.
func (s *Service) Deliveries(ctx context.Context, p *access.Principal, subID string, f DeliveryFilter) (sqldb.Paged[*Delivery], error) {
	var none sqldb.Paged[*Delivery]
	if _, err := s.readable(ctx, s.db.Read(), p, subID); err != nil {
		return none, err
	}
	args := sqldb.Args{subID}
	where := "subscription_id = $1"
	switch f.State {
	case "":
	case StatePending, StateDelivered, StateDead:
		where += " AND state = " + args.Add(f.State)
	default:
		var v errs.Validator
		v.Add("state", "enum", "state must be pending, delivered or dead")
		return none, v.Err("a query parameter is not valid")
	}
	var seq int64
	seek, err := deliveryOrder.Seek(&args, f.Page, &seq)
	if err != nil {
		return none, err
	}
	type row struct {
		d   *Delivery
		seq int64
	}
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE ` + where + ` AND ` + seek + deliveryOrder.By() + deliveryOrder.Limit(&args, f.Page)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "webhook deliveries", func(sc sqldb.Scanner) (row, error) {
		var r row
		var err error
		r.d, err = scanDeliverySeq(sc, &r.seq)
		return r, err
	}, q, args...)
	page := sqldb.PageOf(rows, f.Page, deliveryOrder, func(r row) []any { return []any{r.seq} })
	out := sqldb.Paged[*Delivery]{Items: make([]*Delivery, len(page.Items)), Next: page.Next}
	for i, r := range page.Items {
		out.Items[i] = r.d
	}
	return out, err
}

func scanDeliverySeq(row sqldb.Scanner, seq *int64) (*Delivery, error) {
	var d Delivery
	var payload string
	var last, delivered sql.NullTime
	if err := row.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Subject, &d.State, &d.Attempts, &d.NextAt, &d.RetryUntil,
		&d.LastStatus, &d.LastDurationMS, &d.LastResponse, &d.LastError, &last, &delivered, &d.CreatedAt, &payload, seq); err != nil {
		return nil, err
	}
	d.Payload = json.RawMessage(payload)
	d.NextAt, d.RetryUntil, d.CreatedAt = d.NextAt.UTC(), d.RetryUntil.UTC(), d.CreatedAt.UTC()
	d.LastAttemptAt, d.DeliveredAt = sqldb.TimePtr(last), sqldb.TimePtr(delivered)
	return &d, nil
}

func (s *Service) delivery(ctx context.Context, q sqldb.Querier, subID, id string) (*Delivery, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("webhook delivery %q not found", id)
	}
	return sqldb.QueryOne(ctx, q, "webhook delivery", scanDelivery,
		`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2`, id, subID)
}

// Redeliver queues a delivery again, now, with its ID and payload: the
// receiver sees the same webhook-id. Callers need webhook.manage on the
// subscription. It is tried for RetryFor again.
func (s *Service) Redeliver(ctx context.Context, p *access.Principal, subID, id string) (*Delivery, error) {
	var d *Delivery
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		sub, err := s.manageable(ctx, tx, p, subID)
		if err != nil {
			return err
		}
		if _, err := s.delivery(ctx, tx, subID, id); err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', next_at = $1, retry_until = $2, attempts = 0,
			locked_by = '', locked_until = NULL, delivered_at = NULL WHERE id = $3`, now, now.Add(s.opt.RetryFor), id); err != nil {
			return sqldb.Err(err, "webhook delivery")
		}
		if d, err = s.delivery(ctx, tx, subID, id); err != nil {
			return err
		}
		if !sub.Enabled {
			d.LastError = "the subscription is disabled: it is sent once the subscription is enabled"
		}
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "webhook.redeliver", ObjectType: "webhook_delivery", ObjectID: id,
			After: map[string]string{"subscription_id": subID, "event_id": d.EventID}})
	})
	if err == nil {
		s.Wake()
	}
	return d, err
}

// Test queues a test event (type steward.webhook.test) to the
// subscription, to check the receiver and its signature verification.
func (s *Service) Test(ctx context.Context, p *access.Principal, subID string) (*Delivery, error) {
	var d *Delivery
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		sub, err := s.manageable(ctx, tx, p, subID)
		if err != nil {
			return err
		}
		if !sub.Enabled {
			return errs.Conflict("the subscription is disabled; enable it before sending a test event")
		}
		now := s.now()
		eventID := sqldb.NewID()
		data, _ := json.Marshal(map[string]string{"subscription_id": sub.ID, "message": "a test event from Steward"})
		body, err := s.payload(eventID, TestType, "webhooks/"+sub.ID, now, data)
		if err != nil {
			return errs.Internal(err, "webhook payload")
		}
		nd := newDelivery{sqldb.NewID(), sub.ID, eventID, TestType, "webhooks/" + sub.ID, body}
		if err := s.insert(ctx, tx, []newDelivery{nd}); err != nil {
			return err
		}
		d, err = s.delivery(ctx, tx, subID, nd.id)
		return err
	})
	if err == nil {
		s.Wake()
	}
	return d, err
}

// Purge deletes delivered and dead-lettered deliveries created before
// before, a batch at a time, and reports how many it deleted. Pending ones
// stay whatever their age.
func Purge(ctx context.Context, db *sqldb.DB, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE seq IN
				(SELECT seq FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1 ORDER BY seq LIMIT 1000)`, sqldb.Time(before))
			if err != nil {
				return sqldb.Err(err, "webhook deliveries")
			}
			n, _ = res.RowsAffected()
			return nil
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
