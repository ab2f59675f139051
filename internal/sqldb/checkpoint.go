package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the checkpointer copies committed pages of
// SQLite's write-ahead log into the database file when there were
// commits. At the highest ingest rates the log grows a few megabytes
// between two checkpoints.
const checkpointEvery = 200 * time.Millisecond

// checkpointer runs SQLite's passive checkpoints on a connection of its
// own, so that the single writer's commits never wait for one. A passive
// checkpoint copies what no reader still needs and blocks neither readers
// nor the writer; the log starts again from its beginning at the first
// commit after a checkpoint that copied it all. Nothing acknowledged
// depends on it: a commit is durable once its log frames are synced.
type checkpointer struct {
	db    *sql.DB
	dirty atomic.Bool
	stop  context.CancelFunc
	done  sync.WaitGroup
}

func startCheckpointer(db *sql.DB) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: cancel}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if c.dirty.Swap(false) {
					// A failure (the file busy for longer than the busy
					// timeout) is tried again at the next tick.
					if _, err := c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
						c.dirty.Store(true)
					}
				}
			}
		}
	}()
	return c
}

// stopTicking ends the background checkpoints.
func (c *checkpointer) stopTicking() {
	c.stop()
	c.done.Wait()
}

// close runs a last checkpoint that empties the log, once the other pools
// are closed, and closes the checkpointer's connection. The checkpoint
// does not wait: when another process holds the writer (a server, next
// to which a CLI command ran), the log is its to empty, and a command
// would otherwise wait out the busy timeout on its way out.
func (c *checkpointer) close() error {
	ctx := context.Background()
	conn, err := c.db.Conn(ctx)
	if err == nil {
		if _, err = conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err == nil {
			if _, err = conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil && strings.Contains(err.Error(), "SQLITE_BUSY") {
				err = nil // another process writes: its checkpoints empty the log
			}
		}
		err = errors.Join(err, conn.Close())
	}
	return errors.Join(err, c.db.Close())
}
