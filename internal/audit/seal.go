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
// change it records, so both commit or neither. Right after the commit,
// before the write returns, the writer sees its records chained into the
// log in the order they were queued: by sealing itself, a batch per
// transaction under the head's lock, or by the sealer already at work. So a write is in the log
// when it returns, as on SQLite. A crash between the commit and the seal
// leaves the records queued: the app's sealer (every half second) and
// Verify seal them. While queued, a record is not yet under the chain: a
// window of milliseconds, longer only after a crash.
// SQLite's one writer chains each record as its transaction's last work.

// sealBatch is how many queued records one sealing transaction chains.
const sealBatch = 1000

// queuedKey keeps, on a transaction, the IDs of the records it queued.
type queuedKey struct{}

// queue stores entries in tx's audit queue, to be chained after commit.
func queue(ctx context.Context, tx *sqldb.Tx, actor *access.Principal, now time.Time, entries []Entry, before, after []json.RawMessage) error {
	actorID, actorName := actorOf(actor)
	at, req := sqldb.Time(now), RequestID(ctx)
	ids, _ := tx.Value(queuedKey{}).(*[]string)
	if ids == nil {
		ids = &[]string{}
		tx.SetValue(queuedKey{}, ids)
		db := tx.DB()
		tx.AfterCommit(func() {
			// Best effort: what is left queued, the app's sealer and
			// Verify seal.
			_ = sealOwn(context.WithoutCancel(ctx), db, *ids)
		})
	}
	first := len(*ids)
	for range entries {
		*ids = append(*ids, sqldb.NewID())
	}
	return sqldb.Bulk{
		Object: "audit record",
		Head:   `INSERT INTO audit_queue (id, at, actor_id, actor_name, action, object_type, object_id, before_json, after_json, request_id)`,
		Cols:   10, Rows: len(entries),
		Args: func(i int, args []any) []any {
			e := entries[i]
			return append(args, (*ids)[first+i], at, actorID, actorName, e.Action, e.ObjectType, e.ObjectID, string(before[i]), string(after[i]), req)
		},
	}.Insert(ctx, tx)
}

// sealOwn sees the records ids (queued by a transaction that committed)
// chained into the log: it seals what is queued unless another sealer
// holds the head, and then waits, without a lock, for that sealer to have
// sealed them, sealing again itself if they came after its batch. Waiting
// on the head's lock instead made the writers a convoy (each took the
// head in turn to find its records sealed: p50 28 ms at 200 raises a
// second against 7 ms). It gives up after a few seconds, leaving them to
// the app's sealer.
func sealOwn(ctx context.Context, db *sqldb.DB, ids []string) error {
	pause := 500 * time.Microsecond
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		n, err := sealOnce(ctx, db, false)
		switch {
		case err != nil:
			return err
		case n == sealBatch:
			continue // more queued: go on
		case n > 0:
			return nil // sealed what was queued, ours with it (committed before)
		}
		// Nothing sealed: the queue was empty, or another sealer holds
		// the head. Ours may be in its batch.
		var args sqldb.Args
		var left bool
		if err := db.Read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM audit_queue WHERE `+sqldb.In(&args, "id", ids)+`)`, args...).Scan(&left); err != nil {
			return sqldb.Err(err, "audit queue")
		}
		if !left {
			return nil
		}
		time.Sleep(pause)
		pause = min(2*pause, 8*time.Millisecond)
	}
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
// reports how many it chained, waiting for a sealer at work if there is
// one. On SQLite nothing is ever queued.
func Seal(ctx context.Context, db *sqldb.DB) (int, error) {
	if db.Dialect != sqldb.Postgres {
		return 0, nil
	}
	total := 0
	for range 100 { // until the queue is empty, or a hundred batches
		n, err := sealOnce(ctx, db, true)
		total += n
		if err != nil || n < sealBatch {
			return total, err
		}
	}
	return total, nil
}

// sealOnce chains one batch of queued records in one transaction under
// the head's lock, waiting for the head if wait, else sealing nothing
// when another sealer holds it.
func sealOnce(ctx context.Context, db *sqldb.DB, wait bool) (int, error) {
	n := 0
	err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		var seq int64
		var prev string
		lock := ` FOR UPDATE`
		if !wait {
			lock += ` SKIP LOCKED`
		}
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+lock).Scan(&seq, &prev)
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
