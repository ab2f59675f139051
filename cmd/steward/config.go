package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// flagSet returns a flag set whose flags default to STEWARD_* variables.
type flagSet struct {
	*flag.FlagSet
	e env
}

func newFlagSet(e env, name, summary string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: steward %s [flags]\n\n%s\n\nFlags (each defaults to the STEWARD_* variable shown):\n", name, summary)
		fs.PrintDefaults()
	}
	return &flagSet{FlagSet: fs, e: e}
}

func envName(flagName string) string {
	return "STEWARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (fs *flagSet) string(name, def, help string) *string {
	if v := fs.e.getenv(envName(name)); v != "" {
		def = v
	}
	return fs.String(name, def, help+" ("+envName(name)+")")
}

func (fs *flagSet) bool(name string, def bool, help string) *bool {
	switch strings.ToLower(fs.e.getenv(envName(name))) {
	case "1", "true", "yes", "on":
		def = true
	case "0", "false", "no", "off":
		def = false
	}
	return fs.Bool(name, def, help+" ("+envName(name)+")")
}

// dbFlags are the flags that say which database to use.
type dbFlags struct {
	dataDir, database, secretKey *string
}

func addDBFlags(fs *flagSet) dbFlags {
	return dbFlags{
		dataDir:  fs.string("data-dir", "./steward-data", "directory for the embedded SQLite database"),
		database: fs.string("database", "", "a postgres:// URL to use PostgreSQL instead of embedded SQLite"),
		secretKey: fs.string("secret-key", "", "base64 32-byte key that seals provider and binding credentials "+
			"(default with SQLite: secret.key in the data directory, made on first start; required with PostgreSQL)"),
	}
}

// key returns the secret key: the flag's, else (SQLite) the data
// directory's key file, made on first use. With PostgreSQL and no key it
// returns nil, and required says whether that is an error.
func (d dbFlags) key(required bool) ([]byte, error) {
	if *d.secretKey != "" {
		return secret.ParseKey(*d.secretKey)
	}
	if *d.database == "" {
		if err := os.MkdirAll(*d.dataDir, 0o700); err != nil {
			return nil, err
		}
		return secret.LoadOrCreateKeyFile(filepath.Join(*d.dataDir, "secret.key"))
	}
	if required {
		return nil, fmt.Errorf("with PostgreSQL, give the key that seals credentials: --secret-key or STEWARD_SECRET_KEY (make one with: head -c 32 /dev/urandom | base64), the same on every replica")
	}
	return nil, nil
}

func (d dbFlags) config() sqldb.Config {
	return sqldb.Config{URL: *d.database, DataDir: *d.dataDir}
}

// logFlags configure the structured log.
type logFlags struct{ level, format *string }

func addLogFlags(fs *flagSet) logFlags {
	return logFlags{
		level:  fs.string("log-level", "info", "debug, info, warn or error"),
		format: fs.string("log-format", "text", "text or json"),
	}
}

func (l logFlags) logger(e env) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", *l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch *l.format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", *l.format)
}

// existing refuses a database that serve or migrate has not made: only
// they create one, so that a command run outside the data directory does
// not answer from a new, empty database (issue 17, item 13). With SQLite
// the data directory must hold steward.db; with PostgreSQL the database
// must have been migrated.
func (d dbFlags) existing(ctx context.Context) error {
	if *d.database == "" {
		dir, err := filepath.Abs(*d.dataDir)
		if err != nil {
			return err
		}
		_, err = os.Stat(filepath.Join(dir, "steward.db"))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("there is no Steward database in %s: run the command where the data directory is, name it with --data-dir or STEWARD_DATA_DIR "+
				"(or give --database for PostgreSQL), or create the database there with steward migrate or steward serve", dir)
		}
		return err
	}
	db, err := sqldb.Open(ctx, d.config())
	if err != nil {
		return err
	}
	defer db.Close()
	var migrated bool
	if err := db.Read().QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&migrated); err != nil {
		return err
	}
	if !migrated {
		return fmt.Errorf("the PostgreSQL database %s has no Steward schema: name the right one with --database or STEWARD_DATABASE, "+
			"or create the schema with steward migrate or steward serve", sqldb.Redact(*d.database))
	}
	return nil
}

// openApp builds Steward for a one-shot command (admin, audit), logging
// warnings only, on a database that serve or migrate has made.
func openApp(ctx context.Context, e env, db dbFlags) (*app.App, error) {
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if err := db.existing(ctx); err != nil {
		return nil, err
	}
	key, err := db.key(false)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, app.Config{Database: db.config(), SecretKey: key}, log)
}
