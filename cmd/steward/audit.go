package main

import (
	"context"
	"fmt"

	"github.com/steward-itaas/steward/internal/access"
)

// auditVerify recomputes the audit log's hash chain.
func auditVerify(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Recompute the audit log's hash chain and report the first record that does not match.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
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
