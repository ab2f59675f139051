package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/portfolio"
)

// catalogFlags are the flags export and import share.
type catalogFlags struct {
	db dbFlags
	as *string
}

func addCatalogFlags(fs *flagSet) catalogFlags {
	return catalogFlags{db: addDBFlags(fs), as: fs.String("as", "", "act as this user (by email), recorded in the audit log; default: the system")}
}

// open opens Steward and finds who the command acts as: the user --as
// names, or the system.
func (c catalogFlags) open(ctx context.Context, e env) (*app.App, *access.Principal, error) {
	if *c.as == "" {
		a, err := openApp(ctx, e, c.db)
		return a, access.System(), err
	}
	a, u, err := openForUser(ctx, e, c.db, *c.as)
	if err != nil {
		return nil, nil, err
	}
	p, err := a.Identity.Principal(ctx, u.ID)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, p, nil
}

// catalogExport writes the portfolio and catalog as YAML.
func catalogExport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Write the whole portfolio and catalog as one YAML file (people by email, groups by name, org units by code).")
	c := addCatalogFlags(fs)
	out := fs.String("out", "", "write to this file instead of standard output")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	data, err := portfolio.Export(ctx, portfolioServices(a), p)
	if err != nil {
		return describe(err)
	}
	if *out == "" {
		_, err = e.stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}

// catalogImport applies a portfolio file.
func catalogImport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Apply a portfolio file: every problem is reported with its line and nothing is changed unless the whole file is valid.")
	c := addCatalogFlags(fs)
	dry := fs.Bool("dry-run", false, "show what would change, change nothing")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer a.Close()
	return catalogImportFile(ctx, e, a, p, fs.Arg(0), *dry)
}

func portfolioServices(a *app.App) portfolio.Services {
	return portfolio.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders}
}

// catalogImportFile applies the portfolio file named, or shows its changes (dry).
func catalogImportFile(ctx context.Context, e env, a *app.App, p *access.Principal, file string, dry bool) error {
	data, err := readLimited(file, portfolio.MaxFileBytes)
	if err != nil {
		return err
	}
	var changes []portfolio.Change
	if dry {
		var all []portfolio.Change
		all, err = portfolio.Preview(ctx, portfolioServices(a), p, file, data)
		changes = printChanges(e.stdout, all)
	} else {
		changes, err = portfolio.Import(ctx, portfolioServices(a), p, file, data, false)
		printChanges(e.stdout, changes)
	}
	var problems portfolio.Problems
	if errors.As(err, &problems) {
		fmt.Fprintln(e.stderr, problems.Error())
		return fmt.Errorf("%s has %d problems; nothing was changed", file, len(problems))
	}
	if err != nil {
		return describe(err)
	}
	switch {
	case len(changes) == 0:
		fmt.Fprintln(e.stdout, "nothing to change: Steward already matches", file)
	case dry:
		fmt.Fprintf(e.stdout, "dry run: %d changes would be made; run without --dry-run to apply them\n", len(changes))
	default:
		fmt.Fprintf(e.stdout, "applied %d changes\n", len(changes))
	}
	return nil
}

// printChanges writes each change on a line, an update's fields indented
// below it (old → new), and the entities left unchanged counted by kind
// on one line. It returns the changes without the unchanged.
func printChanges(w io.Writer, all []portfolio.Change) []portfolio.Change {
	var changes []portfolio.Change
	unchanged := map[string]int{}
	var kinds []string
	for _, c := range all {
		if c.Op == portfolio.OpUnchanged {
			if unchanged[c.Kind] == 0 {
				kinds = append(kinds, c.Kind)
			}
			unchanged[c.Kind]++
			continue
		}
		changes = append(changes, c)
		fmt.Fprintln(w, c)
		for _, f := range c.Fields {
			fmt.Fprintln(w, "    "+f.String())
		}
	}
	if len(kinds) > 0 {
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%d %s", unchanged[k], plural(k, unchanged[k])))
		}
		fmt.Fprintln(w, "= unchanged: "+strings.Join(parts, ", "))
	}
	return changes
}

// plural is a kind of entity for n of them.
func plural(kind string, n int) string {
	switch {
	case n == 1:
		return kind
	case strings.HasSuffix(kind, "y") && !strings.HasSuffix(kind, "ey"):
		return strings.TrimSuffix(kind, "y") + "ies"
	}
	return kind + "s"
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
