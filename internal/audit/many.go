package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// WriteAll appends records for many mutations made by actor at time now,
// in tx, in the order given: the same records and chain as Write called
// for each, in three statements rather than three per record (the
// compliance pass opens thousands of breaches at once). Like Write, it
// chains them as the transaction's last work on SQLite and queues them on
// PostgreSQL (seal.go).
func WriteAll(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, now time.Time, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	type encoded struct{ before, after json.RawMessage }
	enc := make([]encoded, len(entries))
	for i, e := range entries {
		var err error
		if enc[i].before, err = marshal(e.Before); err != nil {
			return errs.Internal(err, "encode audit record")
		}
		if enc[i].after, err = marshal(e.After); err != nil {
			return errs.Internal(err, "encode audit record")
		}
	}
	if tx.Dialect == sqldb.Postgres {
		before, after := make([]json.RawMessage, len(enc)), make([]json.RawMessage, len(enc))
		for i := range enc {
			before[i], after[i] = enc[i].before, enc[i].after
		}
		return queue(ctx, tx, actor, now, entries, before, after)
	}
	tx.BeforeCommit(func() error {
		return writeAll(ctx, tx, actor, now, entries, func(i int) (json.RawMessage, json.RawMessage) { return enc[i].before, enc[i].after })
	})
	return nil
}

// writeAll chains and stores the records: WriteAll's work at the commit.
func writeAll(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, now time.Time, entries []Entry, encoded func(int) (json.RawMessage, json.RawMessage)) error {
	actorID, actorName := actorOf(actor)
	var last int64
	var prev string
	// Taking the head row's lock first serialises writers, as in Write.
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash`, int64(len(entries))).Scan(&last, &prev); err != nil {
		return sqldb.Err(err, "audit head")
	}
	records := make([]Record, len(entries))
	for i, e := range entries {
		before, after := encoded(i)
		r := Record{
			Seq: last - int64(len(entries)) + int64(i) + 1, ID: sqldb.NewID(), At: sqldb.Time(now),
			ActorID: actorID, ActorName: actorName,
			Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
			Before: before, After: after, RequestID: RequestID(ctx), PrevHash: prev,
		}
		r.Hash = r.computeHash()
		prev = r.Hash
		records[i] = r
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, prev); err != nil {
		return sqldb.Err(err, "audit head")
	}
	return insertRecords(ctx, tx, records)
}
