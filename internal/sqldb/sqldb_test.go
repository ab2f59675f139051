package sqldb_test

import (
	"context"
	"database/sql"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

func TestBothDialectsHaveTheSameMigrations(t *testing.T) {
	lite, err := sqldb.Migrations(sqldb.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sqldb.Migrations(sqldb.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []sqldb.Migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	if diff := cmp.Diff(names(lite), names(pg)); diff != "" {
		t.Errorf("migrations differ between SQLite and PostgreSQL (-sqlite +postgres):\n%s", diff)
	}
}

// TestBothDialectsReachTheSameSchema migrates a fresh database of each
// dialect and compares the tables and columns they report. It needs
// STEWARD_TEST_POSTGRES; without it only SQLite is migrated.
func TestBothDialectsReachTheSameSchema(t *testing.T) {
	ctx := context.Background()
	lite, err := sqldb.Open(ctx, sqldb.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if _, err := lite.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	liteCols, err := lite.Columns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(liteCols) < 5 {
		t.Fatalf("SQLite schema has %d tables", len(liteCols))
	}
	server := os.Getenv(sqldbtest.EnvPostgres)
	if server == "" {
		t.Skip("set STEWARD_TEST_POSTGRES to compare with PostgreSQL")
	}
	pg, err := sqldb.Open(ctx, sqldb.Config{URL: sqldbtest.NewPostgresDB(t, server)})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pgCols, err := pg.Columns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(liteCols, pgCols); diff != "" {
		t.Errorf("schemas differ (-sqlite +postgres):\n%s", diff)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := sqldbtest.Open(t)
	n, err := db.Migrate(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, %v; want 0", n, err)
	}
	ms, _ := sqldb.Migrations(db.Dialect)
	if v, _ := db.Version(context.Background()); v != len(ms) {
		t.Errorf("version %d, want %d", v, len(ms))
	}
}

// An up-to-date database opens without the writer: a CLI command run next
// to a server whose work holds SQLite's one writer (the demo's desk
// history being written, a billing run) migrates nothing and waits for
// nothing, where it used to queue for the writer once per migration and
// fail with SQLITE_BUSY on a loaded machine.
func TestMigrateUpToDateTakesNoWriteLock(t *testing.T) {
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	server, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := server.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- server.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE org_units SET name = name WHERE id = 'none'`); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	cli, err := sqldb.Open(ctx, cfg)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	n, err := cli.Migrate(ctx)
	closed := cli.Close()
	close(release)
	if closed != nil {
		t.Errorf("closing next to a held writer: %v", closed)
	}
	if err != nil || n != 0 {
		t.Errorf("Migrate next to a held writer = %d, %v; want 0, nil without waiting", n, err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

func TestErrorMappingAndRollback(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	now := sqldb.Time(time.Now())
	insert := func(tx *sqldb.Tx, id, code string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, kind, code, name, path, created_at, updated_at) VALUES ($1, 'department', $2, 'x', $3, $4, $4)`,
			id, code, "/"+id+"/", now)
		return sqldb.Err(err, "org unit")
	}
	a := sqldb.NewID()
	if err := db.Tx(ctx, func(tx *sqldb.Tx) error { return insert(tx, a, "A") }); err != nil {
		t.Fatal(err)
	}
	err := db.Tx(ctx, func(tx *sqldb.Tx) error { return insert(tx, sqldb.NewID(), "A") })
	if !errs.Is(err, errs.CodeConflict) {
		t.Errorf("duplicate code: %v, want conflict", err)
	}
	err = db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, org_unit_id, disabled, created_at, updated_at) VALUES ($1, 'x@example.com', 'x', $2, FALSE, $3, $3)`,
			sqldb.NewID(), sqldb.NewID(), now)
		return sqldb.Err(err, "user")
	})
	if !errs.Is(err, errs.CodeConflict) {
		t.Errorf("dangling foreign key: %v, want conflict", err)
	}
	var id string
	err = sqldb.Err(db.Read().QueryRowContext(ctx, `SELECT id FROM org_units WHERE code = 'nope'`).Scan(&id), "org unit")
	if !errs.Is(err, errs.CodeNotFound) || !strings.Contains(err.Error(), "org unit not found") {
		t.Errorf("no rows: %v, want not found", err)
	}
	// A NUL in a value is bad input, not an internal error: PostgreSQL
	// refuses it; SQLite finds nothing (issue 17, a review of item 5).
	err = sqldb.Err(db.Read().QueryRowContext(ctx, `SELECT id FROM org_units WHERE code = $1`, "a\x00b").Scan(&id), "org unit")
	want := errs.CodeNotFound
	if db.Dialect == sqldb.Postgres {
		want = errs.CodeInvalid
	}
	if !errs.Is(err, want) {
		t.Errorf("a NUL in text: %v, want %s", err, want)
	}
	// A failing transaction leaves nothing behind.
	b := sqldb.NewID()
	_ = db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := insert(tx, b, "B"); err != nil {
			return err
		}
		return errs.Invalid("changed my mind")
	})
	if err := db.Read().QueryRowContext(ctx, `SELECT id FROM org_units WHERE id = $1`, b).Scan(&id); err != sql.ErrNoRows {
		t.Errorf("rolled back row is visible: %v", err)
	}
}

func TestTimesRoundTripInUTC(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.Open(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	times := []time.Time{
		time.Date(2026, 3, 29, 1, 59, 59, 999999000, berlin),
		time.Date(2026, 3, 29, 3, 0, 0, 1000, berlin),
		time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 0, 0, 0, 500000, time.UTC),
	}
	for i, tm := range times {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, 'x')`, tm.String())
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO jobs (id, kind, payload, status, run_at, max_attempts, created_at) VALUES ($1, 'k', '{}', 'queued', $2, 1, $2)`,
				sqldb.NewID(), sqldb.Time(tm))
			return err
		})
		if err != nil {
			t.Fatalf("time %d: %v", i, err)
		}
	}
	rows, err := db.Read().QueryContext(ctx, `SELECT run_at FROM jobs ORDER BY run_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []time.Time
	for rows.Next() {
		var tm time.Time
		rows.Scan(&tm)
		got = append(got, tm)
	}
	want := make([]time.Time, len(times))
	for i, tm := range times {
		want[i] = tm.UTC().Truncate(time.Microsecond)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Before(want[j]) })
	if len(got) != len(want) {
		t.Fatalf("got %d times", len(got))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("time %d = %v, want %v (ordering or precision lost)", i, got[i], want[i])
		}
	}
}
