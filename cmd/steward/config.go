package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// flagSet is a command's flags, each defaulting to its STEWARD_* variable
// when made with string or bool.
type flagSet struct {
	*flag.FlagSet
	e env
}

// newFlagSet makes the flag set of the command e names; about says what
// the command does, in its usage.
func newFlagSet(e env, about string) *flagSet {
	fs := flag.NewFlagSet(e.cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n", synopsis(e), about)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nFlags (before or after the arguments; a STEWARD_* variable in parentheses sets the default):\n")
			fs.PrintDefaults()
		}
	}
	return &flagSet{FlagSet: fs, e: e}
}

// synopsis is a command's usage line: "steward catalog import [flags] FILE".
func synopsis(e env) string {
	return strings.TrimSpace("steward " + e.cmd + " [flags] " + e.args)
}

// parse parses the command's flags, which may come before or after its
// positional arguments (issue 17, item 12): "catalog import FILE
// --dry-run" is "catalog import --dry-run FILE"; everything after "--" is
// an argument. -h, -help or --help prints the usage to stdout and returns
// flag.ErrHelp. A bad flag, or arguments other than the command's, is a
// usageError that names it.
func (fs *flagSet) parse(args []string) error {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			fs.SetOutput(fs.e.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
		flags = append(flags, a)
		if f := fs.Lookup(name); f != nil && !hasValue {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				if i+1 == len(args) {
					return usagef("%s: flag needs an argument: %s (run \"steward %s -h\" for its flags)", fs.e.cmd, a, fs.e.cmd)
				}
				flags = append(flags, args[i+1]) // the flag's value, whatever it looks like
				i++
			}
		}
	}
	if err := fs.FlagSet.Parse(append(append(flags, "--"), positional...)); err != nil {
		return usagef("%s: %v (run \"steward %s -h\" for its flags)", fs.e.cmd, err, fs.e.cmd)
	}
	want := strings.Fields(fs.e.args)
	switch got := fs.Args(); {
	case len(got) < len(want):
		return usagef("%s: give the %s (usage: %s)", fs.e.cmd, strings.Join(want[len(got):], " and the "), synopsis(fs.e))
	case len(got) > len(want):
		return usagef("%s: unexpected argument %q (usage: %s; flags start with --)", fs.e.cmd, got[len(want)], synopsis(fs.e))
	}
	return nil
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
		secretKey: fs.string("secret-key", "", "base64 32-byte key that seals provider and binding credentials and two-step sign-in secrets "+
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

// open parses the command line and opens the database its flags name:
// the start of every command that works on Steward's data.
func (fs *flagSet) open(ctx context.Context, db dbFlags, args []string) (*app.App, error) {
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	return openApp(ctx, fs.e, db)
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
