package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/steward-itaas/steward/internal/access"
)

func auditCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(e.stderr, "Usage: steward audit verify [flags]")
		return errors.New("unknown audit command")
	}
	fs := newFlagSet(e, "audit verify", "Recompute the audit log's hash chain and report the first record that does not match.")
	db := addDBFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Audit.Verify(ctx, access.System())
	if err != nil {
		return err
	}
	if !v.OK {
		return fmt.Errorf("the audit log is NOT intact: record %d: %s", v.BrokenAt, v.Problem)
	}
	fmt.Fprintf(e.stdout, "the audit log is intact: %d records; head %d %s\n", v.Records, v.HeadSeq, v.HeadHash)
	return nil
}
