// Package sqldb is the only package that knows which database Steward talks
// to. It opens embedded SQLite (the default) or PostgreSQL, applies the
// embedded forward-only migrations of that dialect, runs explicit
// transactions, maps driver errors to errs codes, and makes the application's
// sortable IDs.
//
// Conventions every domain package follows (docs/architecture.md has the why):
//
//   - SQL is hand-written in the subset both dialects accept, with $1, $2 …
//     placeholders (SQLite binds $N by position too).
//   - IDs are UUIDv7 strings from NewID: unique, and sorted by creation time.
//   - Times are stored in UTC, truncated to the microsecond (PostgreSQL's
//     precision) by Time; SQLite keeps them as TEXT in a TIMESTAMP column,
//     which sorts correctly because every value is in UTC.
//   - Money is integer minor units (see package money); never a float column.
//   - JSON is kept as TEXT in both dialects so that what is read back is
//     byte-for-byte what was written (the audit chain hashes it).
//   - Writes go through DB.Tx; reads outside a transaction use DB.Read.
//   - Rows are read with QueryAll and QueryOne, JSON columns with JSON[T],
//     parameters of a query built in pieces numbered by Args, and
//     multi-row INSERTs written with Bulk (query.go).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/steward-itaas/steward/internal/errs"
)

// Dialect names a supported database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// or postgresql:// URL for PostgreSQL. Empty means
	// embedded SQLite in DataDir.
	URL string
	// DataDir holds steward.db when URL is empty. It is created if missing.
	DataDir string
}

// Querier is what read helpers need: a *sql.DB, *sql.Tx or *Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DB is an open database. For SQLite it holds two pools: one connection that
// writes (SQLite has a single writer; queueing in Go is fairer than spinning
// on SQLITE_BUSY) and several that read. For PostgreSQL both are one pool.
type DB struct {
	Dialect Dialect
	write   *sql.DB
	read    *sql.DB
	shared  *shared // SQLite's writer, whose transactions share commits
	// wal moves SQLite's write-ahead log into the database file in the
	// background (nil on PostgreSQL).
	wal *checkpointer
}

// Open opens the configured database and checks that it answers. It does not
// migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	switch {
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		pool, err := sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		pool.SetMaxOpenConns(20)
		pool.SetMaxIdleConns(10)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db := &DB{Dialect: Postgres, write: pool, read: pool}
		if err := db.Ping(ctx); err != nil {
			pool.Close()
			return nil, err
		}
		return db, nil
	case cfg.URL == "":
		return openSQLite(ctx, cfg.DataDir)
	default:
		return nil, errs.Invalid("database %q is not supported: give a postgres://user@host/db URL, or none for embedded SQLite in the data directory", Redact(cfg.URL))
	}
}

func openSQLite(ctx context.Context, dir string) (*DB, error) {
	if dir == "" {
		return nil, errs.Invalid("a data directory is needed for embedded SQLite: set --data-dir or STEWARD_DATA_DIR")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "steward.db")
	// WAL for concurrent readers, FULL sync so that a commit survives power
	// loss, foreign keys on, a busy timeout for other processes (the CLI
	// next to a running server), and writes that take the lock up front.
	common := "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_time_format=sqlite"
	// The writer never checkpoints: a checkpointer of its own does, so a
	// commit waits for its log write, not for the log to be copied into
	// the database file (issue 18: that copy, every 1,000 pages, was the
	// tail of ingest latency).
	// The writer and the readers keep their statements prepared (stmtcache.go).
	wc, err := newCachingConnector("file:" + path + "?" + common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The first connection switches the file to WAL before readers open.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rc, err := newCachingConnector("file:" + path + "?" + common + "&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r := sql.OpenDB(rc)
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	ck, err := sql.Open("sqlite", "file:"+path+"?"+common)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	ck.SetMaxOpenConns(1)
	db := &DB{Dialect: SQLite, write: w, read: r, wal: startCheckpointer(ck)}
	db.shared = &shared{db: w, owner: db, done: func() { db.wal.dirty.Store(true) }}
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return &errs.Error{Code: errs.CodeUnavailable, Message: "the database does not answer", Err: err}
	}
	return nil
}

// Close closes both pools (on SQLite after a last checkpoint, which
// leaves the log empty).
func (db *DB) Close() error {
	if db.wal != nil {
		db.wal.stopTicking()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.wal != nil {
		err = errors.Join(err, db.wal.close())
	}
	return err
}

// Read returns the pool for queries outside a transaction.
func (db *DB) Read() Querier { return db.read }

// Tx is an open read-write transaction.
type Tx struct {
	*sql.Tx
	Dialect Dialect
	// shared: other callers' work is in the same SQLite transaction
	// (group.go), so a caller's cancelled context must not interrupt a
	// statement (SQLite would roll back the whole transaction): it ends
	// the caller's work between statements instead.
	shared bool
	// last runs, in order, after the transaction's function returned
	// without error (BeforeCommit).
	last []func() error
	// after runs, in order, once the transaction committed (AfterCommit).
	after []func()
	db    *DB
	vals  map[any]any
}

// Value is what SetValue keeps under key for the rest of the transaction
// (work registered with BeforeCommit or AfterCommit gathers through it),
// nil without any.
func (tx *Tx) Value(key any) any { return tx.vals[key] }

// SetValue keeps v under key for the rest of the transaction.
func (tx *Tx) SetValue(key, v any) {
	if tx.vals == nil {
		tx.vals = map[any]any{}
	}
	tx.vals[key] = v
}

// AfterCommit has fn run once the transaction has committed, on the
// caller's goroutine before Tx returns; not if it rolls back. fn runs
// outside any transaction (DB gives the database).
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

// DB is the database the transaction is of.
func (tx *Tx) DB() *DB { return tx.db }

// committed runs the work AfterCommit registered.
func (tx *Tx) committed() {
	for _, fn := range tx.after {
		fn()
	}
}

// BeforeCommit has fn run as the transaction's last work: after the
// function the transaction runs has returned without error, before the
// commit, in the order registered (an error rolls the transaction back as
// the function's would). Work that takes a lock every writer needs (the
// audit chain's head row) then holds it for the commit alone, not for the
// rest of the transaction: on PostgreSQL writers queued on it for the
// whole of each other's transactions (issue 20: raising tickets at 200/s).
// Work registered inside a savepoint that is rolled back still runs.
func (tx *Tx) BeforeCommit(fn func() error) { tx.last = append(tx.last, fn) }

// finish runs the work BeforeCommit registered.
func (tx *Tx) finish() error {
	for i := 0; i < len(tx.last); i++ { // a hook may register another
		if err := tx.last[i](); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) ctx(ctx context.Context) context.Context {
	if tx.shared {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(tx.ctx(ctx), query, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(tx.ctx(ctx), query, args...)
}

// QueryRowContext runs a query for one row in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(tx.ctx(ctx), query, args...)
}

// Tx runs fn in a read-write transaction, committing if fn returns nil and
// rolling back otherwise. Exported service methods open the transaction;
// the unexported helpers they call take the *Tx. On SQLite, transactions
// that queue for the writer share their commit (group.go).
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	if db.shared != nil {
		return db.shared.run(ctx, fn)
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Err(err, "transaction")
	}
	tx := &Tx{Tx: sqlTx, Dialect: db.Dialect, db: db}
	done := false
	defer func() {
		if !done { // fn or a hook panicked: let go of the locks it took
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		done = true
		_ = sqlTx.Rollback()
		return err
	}
	if err := tx.finish(); err != nil {
		done = true
		_ = sqlTx.Rollback()
		return err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return Err(err, "commit")
	}
	if db.wal != nil {
		db.wal.dirty.Store(true)
	}
	tx.committed()
	return nil
}

// ForUpdate is the row-locking clause for reading a row the transaction
// goes on to change: FOR UPDATE on PostgreSQL, nothing on SQLite (whose
// writer is one at a time already).
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// SkipLocked is the row-locking clause for claiming work: FOR UPDATE SKIP
// LOCKED on PostgreSQL, nothing on SQLite (whose single writer already makes
// a claim atomic).
func (d Dialect) SkipLocked() string {
	if d == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// NewID returns a new application ID: a UUIDv7 string, so IDs sort by creation time.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s looks like an ID made by NewID (any UUID is accepted).
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// Time normalises a time for storage: UTC, microsecond precision.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// NullTime converts an optional time for storage.
func NullTime(t *time.Time) sql.NullTime {
	if t == nil {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: Time(*t), Valid: true}
}

// TimePtr converts a scanned optional time back, in UTC.
func TimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// Err maps a driver error to an errs.Error about the named object ("user",
// "org unit"): no rows → not found, unique violation → conflict, foreign key
// violation → conflict, anything else → internal. Services that can say more
// check first and return their own error.
func Err(err error, object string) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errs.NotFound("%s not found", object)
	case isUnique(err):
		return &errs.Error{Code: errs.CodeConflict, Message: fmt.Sprintf("%s already exists: a unique value is taken", object), Err: err}
	case isForeignKey(err):
		return &errs.Error{Code: errs.CodeConflict, Message: fmt.Sprintf("%s refers to something that does not exist, or is still referred to", object), Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &errs.Error{Code: errs.CodeUnavailable, Message: "the request was cancelled or timed out", Err: err}
	case isBadText(err):
		return &errs.Error{Code: errs.CodeInvalid, Message: fmt.Sprintf("%s: a value is not text PostgreSQL can store (a NUL character or invalid UTF-8)", object), Err: err}
	}
	return errs.Internal(err, "storing %s failed", object)
}

// isBadText reports PostgreSQL refusing a value's characters: a NUL in
// text (22021) or a \u0000 in JSON (22P05). Services name the field where
// they check their input (errs.Validator.Text); this keeps any input they
// do not check from being an internal error.
func isBadText(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "22021" || pg.Code == "22P05")
}

func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func isForeignKey(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || lite.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER
	}
	return false
}

// Redact hides a password in a database URL for messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// PathScope builds the SQL condition restricting pathCol (a materialised
// org-unit path) to everything (all) or to the subtrees under paths, as
// access.Principal.OrgUnitScope returns them. It appends its arguments to
// args and returns both.
func PathScope(all bool, paths []string, pathCol string, args []any) (string, []any) {
	if all {
		return "1=1", args
	}
	if len(paths) == 0 {
		return "1=0", args
	}
	a := Args(args)
	var ors []string
	for _, path := range paths {
		ors = append(ors, pathCol+" LIKE "+a.Add(path+"%"))
	}
	return "(" + strings.Join(ors, " OR ") + ")", a
}

// Next is the next number of a series of references that may skip
// numbers: orders, tickets and knowledge articles. On SQLite it is the
// series' row of counters, which the one writer takes in turn; on
// PostgreSQL a sequence, so concurrent transactions do not queue on one
// row until each commits (a number a rolled-back transaction took is not
// used again). Invoice, statement and credit note numbers, which must not
// skip, keep to their counters row (billing).
func (tx *Tx) Next(ctx context.Context, series string) (int64, error) {
	switch series {
	case "order", "ticket", "article":
	default:
		return 0, fmt.Errorf("sqldb: no series %q", series)
	}
	var n int64
	q := `UPDATE counters SET value = value + 1 WHERE name = '` + series + `' RETURNING value`
	if tx.Dialect == Postgres {
		q = `SELECT nextval('counter_` + series + `')`
	}
	if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, Err(err, series+" number")
	}
	return n, nil
}
