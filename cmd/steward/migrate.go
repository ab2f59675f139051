package main

import (
	"context"
	"fmt"

	"github.com/steward-itaas/steward/internal/sqldb"
)

func migrate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Create the database if there is none and apply the migrations that have not been applied, then exit. serve does this too at start; "+
		"the other commands need a database one of the two has made.")
	db := addDBFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	d, err := sqldb.Open(ctx, db.config())
	if err != nil {
		return err
	}
	defer d.Close()
	n, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := d.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "applied %d migrations; the %s schema is at version %d\n", n, d.Dialect, v)
	return nil
}
