package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// migrated returns the environment of a fresh database that `steward
// migrate` has created, for tests of commands that need one.
func migrated(t *testing.T, extra map[string]string) func(string) string {
	t.Helper()
	getenv := envFor(t, extra)
	if out, err := cli(t, getenv, "", "migrate"); err != nil {
		t.Fatalf("migrate: %v %s", err, out)
	}
	return getenv
}

// Issue 17, item 13: run outside the data directory, the CLI silently
// created a new empty database and answered with empty results. Only serve
// and migrate create one; every other command refuses, naming where it
// looked and how to make one, and leaves nothing behind.
func TestCommandsRefuseAMissingDatabase(t *testing.T) {
	commands := [][]string{
		{"catalog", "export"},
		{"audit", "verify"},
		{"billing", "costs"},
		{"provider", "list"},
		{"sla", "list"},
		{"blueprint", "list"},
		{"admin", "create-user", "--email", "x@example.com", "--name", "X"},
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "not-here")
		getenv := func(k string) string {
			if k == "STEWARD_DATA_DIR" {
				return dir
			}
			return ""
		}
		for _, args := range commands {
			out, err := cli(t, getenv, "", args...)
			if err == nil || !strings.Contains(err.Error(), "no Steward database in "+dir) || !strings.Contains(err.Error(), "steward migrate") ||
				!strings.Contains(err.Error(), "--data-dir") {
				t.Errorf("steward %s outside the data directory: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("a refused command left %s behind: %v", dir, err)
		}
		if out, err := cli(t, getenv, "", "migrate"); err != nil {
			t.Fatalf("migrate: %v %s", err, out)
		}
		if out, err := cli(t, getenv, "", "catalog", "export"); err != nil || !strings.Contains(out, "services:") {
			t.Errorf("catalog export after migrate: %v %s", err, out)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		if !sqldbtest.Postgres() {
			t.Skip("needs PostgreSQL: set " + sqldbtest.EnvPostgres)
		}
		getenv := envFor(t, nil) // a new, empty PostgreSQL database
		for _, args := range commands {
			out, err := cli(t, getenv, "", args...)
			if err == nil || !strings.Contains(err.Error(), "has no Steward schema") || !strings.Contains(err.Error(), "steward migrate") {
				t.Errorf("steward %s on an empty database: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if out, err := cli(t, getenv, "", "migrate"); err != nil {
			t.Fatalf("migrate: %v %s", err, out)
		}
		if out, err := cli(t, getenv, "", "catalog", "export"); err != nil || !strings.Contains(out, "services:") {
			t.Errorf("catalog export after migrate: %v %s", err, out)
		}
	})
}
