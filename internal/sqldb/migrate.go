package sqldb

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationsFS embed.FS

// Migration is one forward-only schema change of one dialect.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations of a dialect in order. Files are
// named NNNN_name.sql; both dialects have the same versions and names.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationsFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: versions must run 1, 2, 3 … without gaps", m.Version, m.Name)
		}
	}
	return ms, nil
}

// Migrate applies the migrations not yet applied, each in its own
// transaction, and returns how many it applied. Several Steward processes may
// start at once: on PostgreSQL an advisory lock lets one migrate while the
// others wait; on SQLite the write lock does the same.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	ms, err := Migrations(db.Dialect)
	if err != nil {
		return 0, err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return 0, Err(err, "migration")
	}
	defer conn.Close()
	if db.Dialect == Postgres {
		const lockKey = 0x57e4a2d // "steward migrate"
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
			return 0, fmt.Errorf("lock for migration: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)
	}
	// An up-to-date database needs no write: a command run next to a busy
	// server (SQLite's one writer held by its work) opens at once, rather
	// than queueing for the writer once per migration to find each applied.
	done := map[int]bool{}
	if rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migrations`); err == nil {
		for rows.Next() {
			var v int
			if rows.Scan(&v) == nil {
				done[v] = true
			}
		}
		rows.Close()
	}
	pending := false
	for _, m := range ms {
		pending = pending || !done[m.Version]
	}
	if !pending {
		return 0, nil
	}
	ts := "TIMESTAMP"
	if db.Dialect == Postgres {
		ts = "TIMESTAMPTZ"
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at `+ts+` NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := 0
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, fmt.Errorf("migration %d: %w", m.Version, err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migration %d: %w", m.Version, err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, Time(time.Now())); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migration %d: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("migration %d: %w", m.Version, err)
		}
		applied++
	}
	return applied, nil
}

// Version returns the highest applied migration, 0 for an empty database.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, Err(err, "schema version")
	}
	return v, nil
}

// Columns returns every table of the schema with its column names in order,
// as the database itself reports them. Tests use it to show that both
// dialects reach the same schema (tables, not views, on both). Each
// engine's own search structures are
// left out: SQLite's virtual tables (FTS5) and their shadow tables, and
// PostgreSQL tables and columns whose comment starts "engine-specific".
func (db *DB) Columns(ctx context.Context) (map[string][]string, error) {
	var q string
	switch db.Dialect {
	case Postgres:
		q = `SELECT table_name, column_name FROM information_schema.columns
		     WHERE table_schema = current_schema()
		       AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
		       AND COALESCE(obj_description(format('%I.%I', table_schema, table_name)::regclass, 'pg_class'), '') NOT LIKE 'engine-specific%'
		       AND COALESCE(col_description(format('%I.%I', table_schema, table_name)::regclass, ordinal_position::int), '') NOT LIKE 'engine-specific%'
		     ORDER BY table_name, ordinal_position`
	default:
		q = `SELECT m.name, p.name FROM sqlite_schema m JOIN pragma_table_info(m.name) p
		     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
		       AND m.name IN (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table')
		     ORDER BY m.name, p.cid`
	}
	rows, err := db.read.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}
