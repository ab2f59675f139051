package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite has one writer, and a commit waits for its log to reach the disk
// (synchronous=FULL): a few milliseconds that, one transaction after
// another, bounded every write path at a few hundred commits a second
// (raising tickets at 200/s queued for seconds, issue 20). Writers that
// queue behind one another therefore share commits: each caller's
// transaction runs, on its own goroutine and in its order, inside a
// savepoint of one database transaction, and the last of those waiting
// commits them all with one sync. A caller whose function fails is rolled
// back to its savepoint alone; every caller returns only once the commit
// that holds its work succeeded (or with the error that made it fail), so
// nothing acknowledged is lost. When nobody waits, a transaction commits
// at once, as before.

// Bounds of one shared commit: how many transactions, and how long since
// its first began, before it commits even with callers waiting.
const (
	maxShared    = 32
	maxSharedAge = 20 * time.Millisecond
)

// shared is SQLite's writer: the open transaction and the callers in it.
type shared struct {
	db    *sql.DB
	owner *DB // the DB whose writer this is
	// mu is held by the caller running its function, then settling.
	mu sync.Mutex
	// waiting counts the callers waiting for mu: while there are some, a
	// caller leaves the transaction open for them to commit.
	waiting atomic.Int32
	tx      *sql.Tx
	commit  *commit
	n       int
	began   time.Time
	// done is called after each commit that succeeded.
	done func()
}

// commit is what the callers in one transaction wait for.
type commit struct {
	done chan struct{}
	err  error
}

// errRolledBack is the answer to the callers whose work was in a shared
// transaction that SQLite rolled back because of another caller's failure.
var errRolledBack = errors.New("the transaction was rolled back with another that failed")

func (g *shared) run(ctx context.Context, fn func(*Tx) error) error {
	g.waiting.Add(1)
	g.mu.Lock()
	g.waiting.Add(-1)
	c, tx, err := g.runLocked(ctx, fn)
	g.settleLocked()
	g.mu.Unlock()
	if err != nil {
		return err
	}
	<-c.done
	if c.err == nil {
		tx.committed()
	}
	return c.err
}

// runLocked runs fn in a savepoint of the open transaction (beginning one
// if need be) and returns the commit its work waits for. If fn panics or
// exits its goroutine, its work is undone and the transaction settled
// before the panic goes on.
func (g *shared) runLocked(ctx context.Context, fn func(*Tx) error) (c *commit, tx *Tx, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if g.tx == nil {
		// Not the caller's context: the transaction outlives the caller.
		tx, err := g.db.BeginTx(context.Background(), nil)
		if err != nil {
			return nil, nil, Err(err, "transaction")
		}
		g.tx, g.commit, g.n, g.began = tx, &commit{done: make(chan struct{})}, 0, time.Now()
	}
	if _, err := g.tx.Exec(`SAVEPOINT steward_tx`); err != nil {
		g.fail(err)
		return nil, nil, Err(err, "transaction")
	}
	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit
			g.undo()
			g.settleLocked()
			g.mu.Unlock()
		}
	}()
	tx = &Tx{Tx: g.tx, Dialect: SQLite, shared: true, db: g.owner}
	err = fn(tx)
	if err == nil {
		err = tx.finish()
	}
	returned = true
	if err != nil {
		g.undo()
		return nil, nil, err
	}
	if _, err := g.tx.Exec(`RELEASE steward_tx`); err != nil {
		g.fail(err)
		return nil, nil, Err(err, "transaction")
	}
	g.n++
	return g.commit, tx, nil
}

// undo rolls the open transaction back to the last caller's savepoint.
// Some failures (a full disk, an I/O error) make SQLite roll back the
// whole transaction: then every caller in it fails.
func (g *shared) undo() {
	if g.tx == nil {
		return
	}
	if _, err := g.tx.Exec(`ROLLBACK TO steward_tx`); err != nil {
		g.fail(err)
		return
	}
	if _, err := g.tx.Exec(`RELEASE steward_tx`); err != nil {
		g.fail(err)
	}
}

// fail ends the open transaction without committing: its callers get
// errRolledBack.
func (g *shared) fail(cause error) {
	_ = g.tx.Rollback()
	g.commit.err = &wrapped{msg: errRolledBack.Error() + ": " + cause.Error(), err: errRolledBack}
	close(g.commit.done)
	g.tx, g.commit = nil, nil
}

// settleLocked commits the open transaction unless callers wait to join
// it (and it is neither full nor old).
func (g *shared) settleLocked() {
	if g.tx == nil {
		return
	}
	if g.waiting.Load() > 0 && g.n < maxShared && time.Since(g.began) < maxSharedAge {
		return
	}
	c := g.commit
	if g.n == 0 {
		_ = g.tx.Rollback()
	} else if err := g.tx.Commit(); err != nil {
		c.err = Err(err, "commit")
	} else if g.done != nil {
		g.done()
	}
	close(c.done)
	g.tx, g.commit = nil, nil
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
