package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/portfolio"
)

const catalogUsage = `Usage:
  steward catalog export [--out FILE] [flags]       write the portfolio and catalog as YAML
  steward catalog import [--dry-run] FILE [flags]   apply a portfolio file; --dry-run shows the changes only
`

func catalogCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		fmt.Fprint(e.stderr, catalogUsage)
		return errors.New("unknown catalog command")
	}
	cmd := args[0]
	fs := newFlagSet(e, "catalog "+cmd, map[string]string{
		"export": "Write the whole portfolio and catalog as one YAML file (people by email, groups by name, org units by code).",
		"import": "Apply a portfolio file: every problem is reported with its line and nothing is changed unless the whole file is valid.",
	}[cmd])
	db := addDBFlags(fs)
	as := fs.String("as", "", "act as this user (by email), recorded in the audit log; default: the system")
	out := fs.String("out", "", "export: write to this file instead of standard output")
	dry := fs.Bool("dry-run", false, "import: show what would change, change nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var a *app.App
	p := access.System()
	var err error
	if *as != "" {
		a, u, err := openForUser(ctx, e, db, *as)
		if err != nil {
			return err
		}
		defer a.Close()
		if p, err = a.Identity.Principal(ctx, u.ID); err != nil {
			return err
		}
		return catalogRun(ctx, e, a, p, cmd, fs.Args(), *out, *dry)
	}
	if a, err = openApp(ctx, e, db); err != nil {
		return err
	}
	defer a.Close()
	return catalogRun(ctx, e, a, p, cmd, fs.Args(), *out, *dry)
}

func catalogRun(ctx context.Context, e env, a *app.App, p *access.Principal, cmd string, args []string, out string, dry bool) error {
	s := portfolio.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders}
	if cmd == "export" {
		data, err := portfolio.Export(ctx, s, p)
		if err != nil {
			return describe(err)
		}
		if out == "" {
			_, err = e.stdout.Write(data)
			return err
		}
		return os.WriteFile(out, data, 0o644)
	}
	if len(args) != 1 {
		fmt.Fprint(e.stderr, catalogUsage)
		return errors.New("name the file to import")
	}
	data, err := readLimited(args[0], portfolio.MaxFileBytes)
	if err != nil {
		return err
	}
	changes, err := portfolio.Import(ctx, s, p, args[0], data, dry)
	for _, c := range changes {
		fmt.Fprintln(e.stdout, c)
	}
	var problems portfolio.Problems
	if errors.As(err, &problems) {
		fmt.Fprintln(e.stderr, problems.Error())
		return fmt.Errorf("%s has %d problems; nothing was changed", args[0], len(problems))
	}
	if err != nil {
		return describe(err)
	}
	switch {
	case len(changes) == 0:
		fmt.Fprintln(e.stdout, "nothing to change: Steward already matches", args[0])
	case dry:
		fmt.Fprintf(e.stdout, "dry run: %d changes would be made; run without --dry-run to apply them\n", len(changes))
	default:
		fmt.Fprintf(e.stdout, "applied %d changes\n", len(changes))
	}
	return nil
}

// readLimited reads a file, or its first limit+1 bytes when it is longer
// (a device or a pipe has no size to check first): the reader behind
// refuses what is over its limit without the rest ever being read.
func readLimited(name string, limit int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(limit)+1))
}
