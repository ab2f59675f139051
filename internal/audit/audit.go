// Package audit keeps Steward's append-only audit log. Every mutation, in
// every domain, calls Write inside the transaction that makes the change, so
// the record and the change commit or roll back together.
//
// Records form a hash chain: each record's hash covers its own fields and the
// previous record's hash, and the head (last sequence number and hash) is kept
// in one row that whoever chains updates, which keeps the sequence free of
// gaps. On SQLite a record is chained as its transaction's last work; on
// PostgreSQL it is queued in its transaction and chained just after the
// commit (seal.go), so writers do not queue on the head. Database triggers refuse UPDATE and DELETE on the
// log. Verify walks the chain and reports the first record that does not
// match; `steward audit verify` runs it and prints the head hash, which an
// operator may record elsewhere to detect truncation of the tail.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Entry is what a service says about one mutation.
type Entry struct {
	Action     string // verb in the domain's words: "user.create", "grant.delete"
	ObjectType string // "user", "org_unit", …
	ObjectID   string
	Before     any // the object before the change, nil for a creation
	After      any // the object after the change, nil for a deletion
}

// Record is one stored audit record.
type Record struct {
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    string          `json:"actor_id"`
	ActorName  string          `json:"actor_name"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	RequestID  string          `json:"request_id"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

type requestIDKey struct{}

// WithRequestID returns a context that carries the request ID into the
// audit records written while serving it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request ID carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Write appends a record for a mutation made by actor at time now, in tx.
// The record is chained as the transaction's last work (tx.BeforeCommit):
// taking the chain's head row serialises writers on PostgreSQL, so it is
// held for the commit only (SQLite's single writer serialises them
// anyway). An error encoding the entry is returned now; one writing it
// fails the commit.
func Write(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, now time.Time, e Entry) error {
	before, err := marshal(e.Before)
	if err != nil {
		return errs.Internal(err, "encode audit record")
	}
	after, err := marshal(e.After)
	if err != nil {
		return errs.Internal(err, "encode audit record")
	}
	if tx.Dialect == sqldb.Postgres {
		return queue(ctx, tx, actor, now, []Entry{e}, []json.RawMessage{before}, []json.RawMessage{after})
	}
	tx.BeforeCommit(func() error { return write(ctx, tx, actor, now, e, before, after) })
	return nil
}

// write chains and stores one record: Write's work at the commit.
func write(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, now time.Time, e Entry, before, after json.RawMessage) error {
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&seq, &prev); err != nil {
		return sqldb.Err(err, "audit head")
	}
	actorID, actorName := actorOf(actor)
	r := Record{
		Seq: seq, ID: sqldb.NewID(), At: sqldb.Time(now),
		ActorID: actorID, ActorName: actorName,
		Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		Before: before, After: after, RequestID: RequestID(ctx), PrevHash: prev,
	}
	r.Hash = r.computeHash()
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, r.Hash); err != nil {
		return sqldb.Err(err, "audit head")
	}
	return insertRecords(ctx, tx, []Record{r})
}

func marshal(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage("null"), nil
	}
	return json.Marshal(v)
}

// computeHash is SHA-256 over a JSON array of every field but the hash, the
// previous record's hash included. The time is written in RFC 3339 with
// microseconds, as stored.
func (r Record) computeHash() string {
	canon, _ := json.Marshal([]any{
		r.Seq, r.ID, r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), r.ActorID, r.ActorName,
		r.Action, r.ObjectType, r.ObjectID, string(r.Before), string(r.After), r.RequestID, r.PrevHash,
	})
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// Service reads and verifies the audit log.
type Service struct {
	db *sqldb.DB
}

// NewService returns the audit log reader.
func NewService(db *sqldb.DB) *Service { return &Service{db: db} }

// Filter narrows a listing. Zero values match everything.
type Filter struct {
	ObjectType string
	ObjectID   string
	ActorID    string
	Action     string // exact action, or a prefix ending in "." ("user.")
	// From and To bound when the records were written: at or after From,
	// before To (zero: unbounded).
	From, To time.Time
	Page     sqldb.Page
}

// Validate checks the filter.
func (f *Filter) Validate() error {
	var v errs.Validator
	v.Check(f.To.IsZero() || f.From.IsZero() || f.From.Before(f.To), "to", "range", "to must be after from")
	return v.Err("the audit query is not valid")
}

// order lists records newest first.
var order = sqldb.Order{Name: "audit", Columns: []string{"seq"}, Desc: true}

// List returns records newest first. Auditors and admins may call it
// (access.AuditRead on the provider); others get a forbidden error.
func (s *Service) List(ctx context.Context, p *access.Principal, f Filter) (sqldb.Paged[Record], error) {
	var none sqldb.Paged[Record]
	if err := p.Require(access.AuditRead, access.Resource{}); err != nil {
		return none, err
	}
	if err := f.Validate(); err != nil {
		return none, err
	}
	var where []string
	var args sqldb.Args
	if f.ObjectType != "" {
		where = append(where, "object_type = "+args.Add(f.ObjectType))
	}
	if f.ObjectID != "" {
		where = append(where, "object_id = "+args.Add(f.ObjectID))
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+args.Add(f.ActorID))
	}
	if strings.HasSuffix(f.Action, ".") {
		where = append(where, "action LIKE "+args.Add(f.Action+"%"))
	} else if f.Action != "" {
		where = append(where, "action = "+args.Add(f.Action))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+args.Add(sqldb.Time(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+args.Add(sqldb.Time(f.To)))
	}
	var seq int64
	seek, err := order.Seek(&args, f.Page, &seq)
	if err != nil {
		return none, err
	}
	where = append(where, seek)
	q := `SELECT seq, id, at, actor_id, actor_name, action, object_type, object_id,
		before_json, after_json, request_id, prev_hash, hash FROM audit_log WHERE ` + strings.Join(where, " AND ") +
		order.By() + order.Limit(&args, f.Page)
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "audit log", scan, q, args...)
	return sqldb.PageOf(rows, f.Page, order, func(r Record) []any { return []any{r.Seq} }), err
}

func scan(row sqldb.Scanner) (Record, error) {
	var r Record
	var before, after string
	err := row.Scan(&r.Seq, &r.ID, &r.At, &r.ActorID, &r.ActorName, &r.Action, &r.ObjectType,
		&r.ObjectID, &before, &after, &r.RequestID, &r.PrevHash, &r.Hash)
	r.At = r.At.UTC()
	r.Before, r.After = json.RawMessage(before), json.RawMessage(after)
	return r, sqldb.Err(err, "audit record")
}

// Verification is the result of walking the chain.
type Verification struct {
	Records  int64  `json:"records"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	OK       bool   `json:"ok"`
	// BrokenAt is the first sequence number that does not match, 0 if none.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// Verify recomputes every hash in order and checks the links and the head.
// Auditors and admins may call it.
func (s *Service) Verify(ctx context.Context, p *access.Principal) (Verification, error) {
	if err := p.Require(access.AuditRead, access.Resource{}); err != nil {
		return Verification{}, err
	}
	var v Verification
	// What waits in the queue is chained first (PostgreSQL, waiting for a
	// sealer at work), so the walk covers every record committed before
	// it; the walk reads up to the head it read, whatever is sealed after.
	if _, err := Seal(ctx, s.db); err != nil {
		return v, err
	}
	if err := s.db.Read().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&v.HeadSeq, &v.HeadHash); err != nil {
		return v, sqldb.Err(err, "audit head")
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT seq, id, at, actor_id, actor_name, action, object_type, object_id,
		before_json, after_json, request_id, prev_hash, hash FROM audit_log WHERE seq <= $1 ORDER BY seq`, v.HeadSeq)
	if err != nil {
		return v, sqldb.Err(err, "audit log")
	}
	defer rows.Close()
	prev := ""
	fail := func(seq int64, format string, args ...any) {
		if v.BrokenAt == 0 {
			v.BrokenAt, v.Problem = seq, fmt.Sprintf(format, args...)
		}
	}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return v, err
		}
		v.Records++
		switch {
		case r.Seq != v.Records:
			fail(r.Seq, "expected record %d, found %d: records are missing", v.Records, r.Seq)
		case r.PrevHash != prev:
			fail(r.Seq, "record %d does not link to the record before it", r.Seq)
		case r.computeHash() != r.Hash:
			fail(r.Seq, "record %d was altered: its hash does not match its content", r.Seq)
		}
		prev = r.Hash
	}
	if err := rows.Err(); err != nil {
		return v, sqldb.Err(err, "audit log")
	}
	if v.BrokenAt == 0 && (v.HeadSeq != v.Records || v.HeadHash != prev) {
		fail(v.Records+1, "the head says %d records but %d were found: the tail was removed", v.HeadSeq, v.Records)
	}
	v.OK = v.BrokenAt == 0
	return v, nil
}
