// Package sqldbtest opens a fresh, migrated database for a test: embedded
// SQLite in a temporary directory by default, or a new PostgreSQL database on
// the server named by STEWARD_TEST_POSTGRES (a postgres:// URL), dropped when
// the test ends. Every suite that touches storage uses it, so the same tests
// run on both dialects.
package sqldbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/steward-itaas/steward/internal/sqldb"
)

// EnvPostgres names the environment variable that points tests at PostgreSQL.
const EnvPostgres = "STEWARD_TEST_POSTGRES"

// Open returns a migrated database that lives as long as the test.
func Open(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), Config(t))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// Config returns the configuration of a fresh, empty database for the test:
// a new temporary data directory, or a new PostgreSQL database.
func Config(t testing.TB) sqldb.Config {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		return sqldb.Config{DataDir: t.TempDir()}
	}
	return sqldb.Config{URL: NewPostgresDB(t, server)}
}

// Postgres reports whether tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvPostgres) != "" }

// NewPostgresDB creates an empty database on the server and returns its URL;
// the database is dropped when the test ends.
func NewPostgresDB(t testing.TB, server string) string {
	t.Helper()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	name := "steward_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database on %s: %v", sqldb.Redact(server), err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", server)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Name describes the dialect under test, for messages.
func Name() string {
	if Postgres() {
		return fmt.Sprint(sqldb.Postgres)
	}
	return fmt.Sprint(sqldb.SQLite)
}
