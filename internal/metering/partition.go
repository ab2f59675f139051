package metering

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Growth of stored events (issue 18, docs/metering.md "Partitions").
//
// On PostgreSQL usage_events is partitioned by period, the month (UTC) an
// event was received: one table per month, usage_events_pYYYYMM. The purge
// job creates the months ahead and drops a month whole once all of it is
// past Retention; ingest creates a missing month itself should the job not
// have run. The primary key holds the period, so a replay received in the
// same month conflicts as before; one received in a later month is found
// by looking the key up in the earlier months still kept, before the
// insert (lookBack). On SQLite the purge deletes expired events a few
// thousand to a transaction.

// DedupWindow is how long an accepted event's (source, id, subject) is remembered:
// a replay within it is recognised and counted once. Events are kept a few
// days longer than promised (Retention), so the promise holds whatever the
// purge schedule; on PostgreSQL a month is dropped only once all of it is
// past Retention, so events stay up to a month longer.
const (
	DedupWindow = 35 * 24 * time.Hour
	Retention   = 40 * 24 * time.Hour
)

// purgeBatch is how many events the SQLite purge deletes in one
// transaction: each holds the write lock for a few milliseconds.
var purgeBatch = 2000

// purged, when set (by tests), is told the size of each purge batch.
var purged func(n int64)

// monthOf is the period of a time: the start of its month in UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// partitionName is the table holding a period's events on PostgreSQL.
func partitionName(period time.Time) string { return "usage_events_p" + period.Format("200601") }

// partitions remembers the periods known to have a partition, so ingest
// asks PostgreSQL only once per month and process.
type partitions struct {
	mu   sync.Mutex
	have map[time.Time]bool
}

// ensure creates the partition of period unless it exists. Two replicas may
// race to create it: the loser finds it made.
func (s *Service) ensurePartition(ctx context.Context, period time.Time) error {
	if s.db.Dialect != sqldb.Postgres {
		return nil
	}
	s.parts.mu.Lock()
	defer s.parts.mu.Unlock()
	if s.parts.have[period] {
		return nil
	}
	name := partitionName(period)
	// The comment marks it as PostgreSQL's own (sqldb.Columns leaves it out).
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF usage_events FOR VALUES FROM ('%s') TO ('%s')`,
			name, period.Format(time.RFC3339), period.AddDate(0, 1, 0).Format(time.RFC3339))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `COMMENT ON TABLE `+name+` IS 'engine-specific: a month of usage_events (a partition)'`)
		return err
	})
	if err != nil {
		var exists bool
		if e := s.db.Read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1)`, name).Scan(&exists); e != nil || !exists {
			return sqldb.Err(err, "usage events partition "+name)
		}
	}
	if s.parts.have == nil {
		s.parts.have = map[time.Time]bool{}
	}
	s.parts.have[period] = true
	return nil
}

// boundaryLock is the advisory lock that orders commits around the start
// of a month on PostgreSQL: every commit holds it shared, and one received
// in the first boundaryWindow of a month holds it exclusively, so it starts
// after every commit of the month before has ended and its look-back sees
// their events. A commit received in the last boundaryWindow of a month
// that runs longer than boundaryWindow/2 fails (and its events are sent
// again), so none is still open when the look-back no longer waits for it.
// Replicas' clocks must agree within boundaryWindow/2.
const (
	boundaryLock   = 0x57e4a2e // "steward usage months"
	boundaryWindow = 2 * time.Minute
)

// lockPeriod takes the boundary lock for a commit received at received.
func lockPeriod(ctx context.Context, tx *sqldb.Tx, received time.Time) error {
	fn := `pg_advisory_xact_lock_shared`
	if received.Sub(monthOf(received)) < boundaryWindow {
		fn = `pg_advisory_xact_lock`
	}
	_, err := tx.ExecContext(ctx, `SELECT `+fn+`($1)`, boundaryLock)
	return sqldb.Err(err, "usage events")
}

// checkBoundary fails a commit received near a month's end that took too long.
func (s *Service) checkBoundary(received time.Time) error {
	if monthOf(received.Add(boundaryWindow)).Equal(monthOf(received)) {
		return nil
	}
	if s.now().Sub(received) > boundaryWindow/2 {
		return errs.Unavailable("the commit of these events took longer than %s at the turn of a month: send them again", boundaryWindow/2)
	}
	return nil
}

// lookBack returns the keys among keys already stored in a month before
// period (or, when clocks differ, just after it) still kept: replays
// received in a later month than their first copy.
func lookBack(ctx context.Context, tx *sqldb.Tx, received time.Time, keys []eventKey) (map[eventKey]bool, error) {
	period := monthOf(received)
	from, to := monthOf(received.Add(-Retention)), monthOf(received.Add(boundaryWindow))
	found := map[eventKey]bool{}
	if len(keys) == 0 || (from.Equal(period) && to.Equal(period)) {
		return found, nil
	}
	// Two ranges, not "period <> $", so that the planner prunes this
	// month's partition instead of probing it too.
	months, bounds := `e.period >= $4 AND e.period < $5`, []any{from, period}
	if to.After(period) {
		months, bounds = `((e.period >= $4 AND e.period < $5) OR (e.period > $5 AND e.period <= $6))`, []any{from, period, to}
	}
	const per = 5000
	for start := 0; start < len(keys); start += per {
		chunk := keys[start:min(start+per, len(keys))]
		sources, ids, subjects := make([]string, len(chunk)), make([]string, len(chunk)), make([]string, len(chunk))
		for i, k := range chunk {
			sources[i], ids[i], subjects[i] = k.source, k.id, k.subject
		}
		rows, err := sqldb.QueryAll(ctx, tx, "usage events", func(row sqldb.Scanner) (eventKey, error) {
			var k eventKey
			return k, row.Scan(&k.source, &k.id, &k.subject)
		}, `SELECT e.source, e.id, e.subject FROM usage_events e
			JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(source, id, subject)
			  ON e.source = k.source AND e.id = k.id AND e.subject = k.subject
			WHERE `+months, append([]any{sources, ids, subjects}, bounds...)...)
		if err != nil {
			return nil, err
		}
		for _, k := range rows {
			found[k] = true
		}
	}
	return found, nil
}

// Purge lets go of events received longer ago than Retention; their usage
// stays in the rollups. On PostgreSQL it first creates the partitions of
// this month and the next two, then drops each month all of whose events
// are past Retention, and returns the rows those months held by the
// statistics (an estimate; counting them would read them). On SQLite it
// deletes the expired events purgeBatch to a transaction and returns how
// many it deleted.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	now := s.now()
	cutoff := sqldb.Time(now.Add(-Retention))
	if s.db.Dialect != sqldb.Postgres {
		var n int64
		for {
			var batch int64
			err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
				res, err := tx.ExecContext(ctx, `DELETE FROM usage_events WHERE (source, id, subject) IN
					(SELECT source, id, subject FROM usage_events WHERE received_at < $1 ORDER BY received_at LIMIT $2)`, cutoff, purgeBatch)
				if err != nil {
					return sqldb.Err(err, "usage events")
				}
				batch, _ = res.RowsAffected()
				return nil
			})
			if err != nil {
				return n, err
			}
			n += batch
			if purged != nil && batch > 0 {
				purged(batch)
			}
			if batch < int64(purgeBatch) {
				return n, nil
			}
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	for i := range 3 {
		if err := s.ensurePartition(ctx, monthOf(now).AddDate(0, i, 0)); err != nil {
			return 0, err
		}
	}
	type part struct {
		name   string
		tuples float64
	}
	parts, err := sqldb.QueryAll(ctx, s.db.Read(), "usage events partitions", func(row sqldb.Scanner) (part, error) {
		var p part
		return p, row.Scan(&p.name, &p.tuples)
	}, `SELECT c.relname, c.reltuples FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'usage_events'::regclass ORDER BY c.relname`)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range parts {
		period, err := time.Parse("200601", strings.TrimPrefix(p.name, "usage_events_p"))
		if err != nil || !strings.HasPrefix(p.name, "usage_events_p") {
			continue // not one of ours: leave it
		}
		if period.AddDate(0, 1, 0).After(cutoff) {
			continue
		}
		// Dropping a partition locks the parent for a moment: wait for the
		// commits in flight, but not behind a long one: while the drop waits,
		// new commits wait behind it.
		err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
				return sqldb.Err(err, "usage events")
			}
			_, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+p.name)
			return sqldb.Err(err, "usage events partition "+p.name)
		})
		if err != nil {
			return n, err
		}
		s.parts.mu.Lock()
		delete(s.parts.have, period)
		s.parts.mu.Unlock()
		if p.tuples > 0 {
			n += int64(p.tuples)
		}
	}
	return n, nil
}
