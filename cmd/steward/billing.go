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
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The billing commands run billing from the command line, for cron and
// FinOps pipelines: the same service the API and the portal call, as the
// system.

// billingRun bills a month now.
func billingRun(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Run the billing of a month to its end and print the run's figures.")
	db := addDBFlags(fs)
	month := fs.String("month", "", "the month to bill, 2026-11 (default: the month in progress)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := access.System()
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

// billingExport writes billing lines as CSV or FOCUS.
func billingExport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Write the lines of finalised documents whose period starts in [from, to) as CSV or FOCUS; without --from, the month in progress.")
	db := addDBFlags(fs)
	format := fs.String("format", "csv", "csv or focus")
	from := fs.String("from", "", "the first month, 2026-01 (default: the month in progress)")
	to := fs.String("to", "", "the month after the last, 2027-01 (default: the month after --from)")
	drafts := fs.Bool("include-drafts", false, "drafts too")
	out := fs.String("out", "", "write to this file instead of standard output")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *from == "" && *to != "" {
		return usagef("billing export: --to needs --from")
	}
	f, t, err := monthRange(*from, *to)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	if *from == "" {
		// The month in progress: what the demo, and a billing run
		// without --month, bills.
		f, _ = time.Parse("2006-01", a.Billing.Month())
		t = f.AddDate(0, 1, 0)
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
	return a.Billing.Export(ctx, access.System(), billing.ExportFilter{From: f, To: t, IncludeDrafts: *drafts}, billing.Format(*format), w)
}

// billingCosts prints each account's document of a month.
func billingCosts(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Print each account's document of a month: costs to date and the projection to the period's end (a month in progress), the amount due and the account's credit.")
	db := addDBFlags(fs)
	month := fs.String("month", "", "the month, 2026-11 (default: the month in progress)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	if *month == "" {
		*month = a.Billing.Month()
	}
	return printCosts(ctx, e, a.Billing, *month)
}

// billingBalance prints an account's balance and ledger, after recording a refund if asked.
func billingBalance(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Print an account's credit balance, what its invoices owe, the credits waiting for its next invoice and its ledger; --refund records money paid back.")
	db := addDBFlags(fs)
	account := fs.String("account", "", "the account (its org unit's code or ID)")
	refund := fs.String("refund", "", "record a refund of this amount of the account's credit")
	reference := fs.String("reference", "", "the refund's reference")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *account == "" {
		return usagef("billing balance: --account names the account (its org unit's code or ID)")
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	return printBalance(ctx, e, a.Billing, *account, *refund, *reference)
}

// monthRange reads --from and --to; an empty --to is the month after
// --from, and an empty --from is left for the caller (zero times).
func monthRange(from, to string) (time.Time, time.Time, error) {
	if from == "" {
		return time.Time{}, time.Time{}, nil
	}
	f, err1 := time.Parse("2006-01", from)
	t, err2 := f.AddDate(0, 1, 0), error(nil)
	if to != "" {
		t, err2 = time.Parse("2006-01", to)
	}
	if err1 != nil || err2 != nil {
		return f, t, errors.New("--from and --to are months such as 2026-01")
	}
	return f, t, nil
}

// printCosts prints each account's document of a month.
func printCosts(ctx context.Context, e env, b *billing.Service, month string) error {
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return errors.New("--month is a month such as 2026-11")
	}
	sys := access.System()
	// The month's documents, a page at a time: an account's line each.
	f := billing.DocumentFilter{From: m, To: m.AddDate(0, 1, 0), Page: sqldb.Page{Limit: sqldb.MaxLimit}}
	var seen int
	for {
		docs, err := b.Documents(ctx, sys, f)
		if err != nil {
			return err
		}
		seen += len(docs.Items)
		printDocuments(e, docs.Items)
		if f.Cursor = docs.Next; f.Cursor == "" {
			break
		}
	}
	if seen == 0 {
		fmt.Fprintf(e.stdout, "no documents for %s: run its billing first (steward billing run --month %s)\n", month, month)
	}
	return nil
}

// printDocuments prints the invoices and statements among docs, one a
// line.
func printDocuments(e env, docs []*billing.Document) {
	for _, d := range docs {
		if d.Kind == billing.CreditNote || d.State == billing.Void {
			continue
		}
		fmt.Fprintf(e.stdout, "%s %s (%s, %s – %s):", d.AccountName, d.Label(), d.State, d.PeriodStart.Format("2006-01-02"), d.PeriodEnd.Format("2006-01-02"))
		if d.CostsToDate != "" {
			fmt.Fprintf(e.stdout, " costs to date %s %s (as of %s), projected to the period's end %s", d.CostsToDate, d.Currency, d.AsOf.Format(time.RFC3339), d.Total)
		} else {
			fmt.Fprintf(e.stdout, " total %s %s", d.Total, d.Currency)
		}
		if d.Kind == billing.Invoice {
			fmt.Fprintf(e.stdout, ", account credit applied %s, amount due %s", d.Applied, d.Balance)
		}
		fmt.Fprintln(e.stdout)
	}
}

// printBalance prints an account's balance, after recording a refund if asked.
func printBalance(ctx context.Context, e env, b *billing.Service, account, refund, reference string) error {
	sys := access.System()
	var bal *billing.Balance
	var err error
	if refund != "" {
		bal, err = b.Refund(ctx, sys, account, billing.RefundInput{Amount: refund, Reference: reference})
	} else {
		bal, err = b.Balance(ctx, sys, account)
	}
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "account credit %s %s, owed on issued invoices %s, credits waiting for the next invoice %s\n", bal.Credit, bal.Currency, bal.Owed, bal.CreditsWaiting)
	// The ledger, newest first, a page at a time.
	page := sqldb.Page{Limit: sqldb.MaxLimit}
	for {
		entries, err := b.Entries(ctx, sys, account, page)
		if err != nil {
			return describe(err)
		}
		for _, en := range entries.Items {
			fmt.Fprintf(e.stdout, "  %s %-12s %10s  %s\n", en.CreatedAt.Format("2006-01-02"), en.Kind, en.Amount, en.Reference)
		}
		if entries.Next == "" {
			return nil
		}
		page.Cursor = entries.Next
	}
}
