package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
)

const billingUsage = `Usage:
  steward billing run [--month 2026-11] [flags]                     bill a month now (drafts; finalised documents never change)
  steward billing export [--format csv|focus] --from M --to M [flags] write billing lines as CSV or FOCUS 1.2
`

// billingCmd runs billing from the command line, for cron and FinOps
// pipelines: the same service the API and the portal call, as the system.
func billingCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "export") {
		fmt.Fprint(e.stderr, billingUsage)
		return errors.New("unknown billing command")
	}
	cmd := args[0]
	fs := newFlagSet(e, "billing "+cmd, map[string]string{
		"run":    "Run the billing of a month to its end and print the run's figures.",
		"export": "Write the lines of finalised documents whose period starts in [from, to) as CSV or FOCUS.",
	}[cmd])
	db := addDBFlags(fs)
	month := fs.String("month", "", "run: the month to bill, 2026-11 (default: the month in progress)")
	format := fs.String("format", "csv", "export: csv or focus")
	from := fs.String("from", "", "export: the first month, 2026-01")
	to := fs.String("to", "", "export: the month after the last, 2027-01")
	drafts := fs.Bool("include-drafts", false, "export: drafts too")
	out := fs.String("out", "", "export: write to this file instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := access.System()
	if cmd == "run" {
		if *month == "" {
			*month = a.Billing.Month()
		}
		r, err := a.Billing.StartRun(ctx, sys, *month)
		if err != nil {
			return describe(err)
		}
		if err := a.Billing.Execute(ctx, r.ID); err != nil {
			return err // cancelled (SIGINT, SIGTERM) or failed: the next run of the month resumes it
		}
		if r, err = a.Billing.Run(ctx, sys, r.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "billing run %s: %s, %d of %d accounts, %d documents, %d lines\n", r.Month, r.State, r.AccountsDone, r.AccountsTotal, r.Documents, r.Lines)
		return nil
	}
	f, t, err := monthRange(*from, *to)
	if err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	return a.Billing.Export(ctx, sys, billing.ExportFilter{From: f, To: t, IncludeDrafts: *drafts}, billing.Format(*format), w)
}

func monthRange(from, to string) (time.Time, time.Time, error) {
	f, err1 := time.Parse("2006-01", from)
	t, err2 := time.Parse("2006-01", to)
	if err1 != nil || err2 != nil {
		return f, t, errors.New("--from and --to are months such as 2026-01")
	}
	return f, t, nil
}
