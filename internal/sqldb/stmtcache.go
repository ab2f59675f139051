package sqldb

import (
	"container/list"
	"context"
	"database/sql/driver"
	"fmt"
	"sync"

	"modernc.org/sqlite"
)

// SQLite compiles every statement it is given: for the short queries a
// request makes, parsing and planning the SQL costs as much as running it
// (a third of the CPU of raising a ticket, issue 20). database/sql hands
// the driver each query as text and the driver prepares it afresh, so each
// SQLite connection here keeps its most recently used statements prepared
// and runs a query it has seen before on the prepared statement. PostgreSQL
// needs none of this: pgx caches prepared statements per connection itself.

// stmtCacheSize is how many prepared statements a connection keeps: more
// than the distinct statements of the hot paths, few enough that the
// memory (a few KiB each) stays small over the nine connections.
const stmtCacheSize = 256

// cachingConnector opens SQLite connections that keep their statements.
type cachingConnector struct{ driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{c}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite connection %T lacks an interface database/sql uses", conn)
	}
	return &cachingConn{conn: sc, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

// The driver connection's interfaces that database/sql uses, all of which
// modernc.org/sqlite's connection implements.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one SQLite connection with its prepared statements, least
// recently used last. database/sql uses a connection from one goroutine at
// a time, but closes a query's rows from another when its context ends, so
// the cache has a lock of its own.
type cachingConn struct {
	conn    sqliteConn
	mu      sync.Mutex
	byQuery map[string]*list.Element // of *cachedStmt
	lru     *list.List
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	// busy: open rows are still reading from the statement, so it may be
	// neither run again nor closed until they are closed.
	busy bool
	// evicted: dropped from the cache while busy; closed with its rows.
	evicted bool
}

// take returns the prepared statement for query, marked busy, preparing
// and caching it if need be; nil if it is busy already (a query run again
// while its rows are open), when the caller runs the query unprepared.
func (c *cachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if e, ok := c.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			c.mu.Unlock()
			return nil, nil
		}
		cs.busy = true
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		return cs, nil
	}
	c.mu.Unlock()
	st, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st, busy: true}
	var closing []driver.Stmt
	c.mu.Lock()
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byQuery, old.query)
		if old.busy {
			old.evicted = true
		} else {
			closing = append(closing, old.stmt)
		}
	}
	c.mu.Unlock()
	for _, st := range closing {
		st.Close()
	}
	return cs, nil
}

// give marks a statement free again (closing it if it left the cache).
func (c *cachingConn) give(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	evicted := cs.evicted
	c.mu.Unlock()
	if evicted {
		cs.stmt.Close()
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.ExecContext(ctx, query, args)
	}
	defer c.give(cs)
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.give(cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, c: c, cs: cs}, nil
}

// cachedRows frees its statement when closed.
type cachedRows struct {
	driver.Rows
	c    *cachingConn
	cs   *cachedStmt
	done bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		r.c.give(r.cs)
	}
	return err
}

func (c *cachingConn) Close() error {
	c.mu.Lock()
	var stmts []driver.Stmt
	for e := c.lru.Front(); e != nil; e = e.Next() {
		stmts = append(stmts, e.Value.(*cachedStmt).stmt)
	}
	c.lru.Init()
	clear(c.byQuery)
	c.mu.Unlock()
	for _, st := range stmts {
		st.Close()
	}
	return c.conn.Close()
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.conn.BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.conn.Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.conn.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.conn.IsValid() }
