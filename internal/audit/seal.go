package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// On PostgreSQL a record is not chained in the transaction that writes it:
// chaining takes the head row, and writers held it to their commit, one
// after another (issue 20: every lock wait of tickets raised at 200 a
// second was on it). The record is queued instead (audit_queue, numbered
// by a sequence, which locks nothing), in the same transaction as the
// change it records, so both commit or neither. Seal then chains the
// queued records into the log in the order they were queued, a batch
// per transaction under the head's lock: right after each writing
// transaction commits (the writer that finds the head taken leaves its
// records to the sealer holding it, which goes on until the queue is
// empty) and every half second from the app's sealer, so the log shows a
// record within moments, and Verify seals before it walks the chain. A
// crash leaves queued records queued; they are sealed after the restart.
// SQLite's one writer chains each record as its transaction's last work.

// sealBatch is how many queued records one sealing transaction chains.
const sealBatch = 1000

// queue stores entries in tx's audit queue, to be chained after commit.
func queue(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, now time.Time, entries []Entry, before, after []json.RawMessage) error {
	actorID, actorName := actorOf(actor)
	at, req := sqldb.Time(now), RequestID(ctx)
	err := sqldb.Bulk{
		Object: "audit record",
		Head:   `INSERT INTO audit_queue (id, at, actor_id, actor_name, action, object_type, object_id, before_json, after_json, request_id)`,
		Cols:   10, Rows: len(entries),
		Args: func(i int, args []any) []any {
			e := entries[i]
			return append(args, sqldb.NewID(), at, actorID, actorName, e.Action, e.ObjectType, e.ObjectID, string(before[i]), string(after[i]), req)
		},
	}.Insert(ctx, tx)
	if err != nil {
		return err
	}
	db := tx.DB()
	tx.AfterCommit(func() {
		// Best effort: what this leaves queued, the app's sealer seals.
		_, _ = Seal(context.WithoutCancel(ctx), db)
	})
	return nil
}

// actorOf is how a record names its actor.
func actorOf(actor *access.Principal) (id, name string) {
	if actor == nil {
		return "anonymous", "anonymous"
	}
	name = actor.Name
	if actor.TokenID != "" {
		name += " (token " + actor.TokenID + ")"
	}
	return actor.UserID, name
}

// Seal chains the queued records into the log, oldest queued first, and
// reports how many it chained. If another sealer holds the head it leaves
// the queue to it and returns 0. On SQLite nothing is ever queued.
func Seal(ctx context.Context, db *sqldb.DB) (int, error) {
	if db.Dialect != sqldb.Postgres {
		return 0, nil
	}
	total := 0
	for range 100 { // until the queue is empty, or a hundred batches
		n, err := sealOnce(ctx, db)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

// sealOnce chains one batch of queued records in one transaction.
func sealOnce(ctx context.Context, db *sqldb.DB) (int, error) {
	n := 0
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		var seq int64
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE SKIP LOCKED`).Scan(&seq, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // another sealer holds the head
		}
		if err != nil {
			return sqldb.Err(err, "audit head")
		}
		type queued struct {
			n int64
			Record
		}
		batch, err := sqldb.QueryAll(ctx, tx, "audit queue", func(row sqldb.Scanner) (queued, error) {
			var q queued
			var before, after string
			err := row.Scan(&q.n, &q.ID, &q.At, &q.ActorID, &q.ActorName, &q.Action, &q.ObjectType, &q.ObjectID, &before, &after, &q.RequestID)
			q.At, q.Before, q.After = q.At.UTC(), json.RawMessage(before), json.RawMessage(after)
			return q, err
		}, `SELECT queued, id, at, actor_id, actor_name, action, object_type, object_id, before_json, after_json, request_id
			FROM audit_queue ORDER BY queued LIMIT `+fmt.Sprint(sealBatch))
		if err != nil || len(batch) == 0 {
			return err
		}
		records := make([]Record, len(batch))
		numbers := make([]int64, len(batch))
		for i, q := range batch {
			seq++
			r := q.Record
			r.Seq, r.PrevHash = seq, prev
			r.Hash = r.computeHash()
			prev = r.Hash
			records[i], numbers[i] = r, q.n
		}
		if err := insertRecords(ctx, tx, records); err != nil {
			return err
		}
		var args sqldb.Args
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_queue WHERE `+sqldb.In(&args, "queued", numbers), args...); err != nil {
			return sqldb.Err(err, "audit queue")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, prev); err != nil {
			return sqldb.Err(err, "audit head")
		}
		n = len(batch)
		return nil
	})
	return n, err
}

// insertRecords stores chained records in the log.
func insertRecords(ctx context.Context, tx *sqldb.Tx, records []Record) error {
	return sqldb.Bulk{
		Object: "audit record",
		Head:   `INSERT INTO audit_log (seq, id, at, actor_id, actor_name, action, object_type, object_id, before_json, after_json, request_id, prev_hash, hash)`,
		Cols:   13, Rows: len(records),
		Args: func(i int, args []any) []any {
			r := &records[i]
			return append(args, r.Seq, r.ID, r.At, r.ActorID, r.ActorName, r.Action, r.ObjectType, r.ObjectID,
				string(r.Before), string(r.After), r.RequestID, r.PrevHash, r.Hash)
		},
	}.Insert(ctx, tx)
}

// Pending is how many records wait in the queue to be sealed.
func (s *Service) Pending(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_queue`).Scan(&n)
	return n, sqldb.Err(err, "audit queue")
}

// RunSealer seals the queue every interval until ctx ends (the app's
// worker on PostgreSQL): what a writer's own seal left behind.
func (s *Service) RunSealer(ctx context.Context, interval time.Duration, log func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := Seal(ctx, s.db); err != nil && ctx.Err() == nil {
				log(err)
			}
		}
	}
}
