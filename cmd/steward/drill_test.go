package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// The crash drills (ingest, webhooks, mail) run `steward serve` as a
// separate process that they kill with SIGKILL: this test binary acting as
// steward (TestMain), on the test's database.

// drillDatabase is a crash drill's database: the test's PostgreSQL
// database, or SQLite in a directory of the test's.
func drillDatabase(t *testing.T) sqldb.Config {
	cfg := sqldbtest.Config(t)
	if cfg.URL == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
	}
	return cfg
}

// drillServe starts `steward serve` on cfg's database with the flags and
// environment given, and returns once it is ready, with its base URL.
func drillServe(t *testing.T, cfg sqldb.Config, flags []string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"serve", "--addr", addr, "--log-level", "error"}, flags...)
	if cfg.URL != "" {
		args = append(args, "--database", cfg.URL)
	} else {
		args = append(args, "--data-dir", cfg.DataDir)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "STEWARD_TEST_AS_MAIN=1", "STEWARD_SECRET_KEY="+testKey), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute) // generous: a loaded machine starts slowly
	for {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return cmd, base
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
