package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestCheckpointsOffTheCommitPath: the SQLite writer never checkpoints
// (wal_autocheckpoint is 0 on its connection), yet committed pages reach
// the database file while it runs, because the checkpointer copies them;
// and after Close the log is empty.
func TestCheckpointsOffTheCommitPath(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqldb.Open(ctx, sqldb.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "steward.db")
	size := func(name string) int64 {
		st, err := os.Stat(name)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE blobs (id INTEGER PRIMARY KEY, b TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error {
		return tx.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto)
	}); err != nil || auto != 0 {
		t.Fatalf("the writer's wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	before := size(file)
	blob := strings.Repeat("x", 8000)
	for i := range 200 {
		if err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO blobs (id, b) VALUES ($1, $2)`, i, blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// 200 × 8 KB: the file grows by more than a megabyte once checkpointed.
	deadline := time.Now().Add(2 * time.Minute)
	for size(file) < before+1_000_000 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes (log %d): nothing checkpointed", size(file), size(file+"-wal"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := size(file + "-wal"); n != 0 {
		t.Errorf("after Close the log holds %d bytes, want none", n)
	}
}
