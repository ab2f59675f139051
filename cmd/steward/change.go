package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The change commands (issue 20): the change calendar, the CAB agenda and
// its decisions, as --as (reading as the system without it). Requests for
// change are raised with `steward ticket raise --kind change`.

func printConflicts(e env, cs []desk.Conflict) {
	for _, c := range cs {
		fmt.Fprintf(e.stdout, "  ! %s\n", c.Message)
	}
}

// changeCalendar prints the changes planned from --from for --days.
func changeCalendar(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "The change calendar: the changes planned in a span, their conflicts, the maintenance windows of their services and the freezes.")
	c := addCatalogFlags(fs)
	from := fs.String("from", "", "the first day (YYYY-MM-DD, UTC): today by default")
	days := fs.Int("days", 7, "how many days (1 to 92)")
	if err := fs.parse(args); err != nil {
		return err
	}
	start := time.Now().UTC().Truncate(24 * time.Hour)
	if *from != "" {
		t, err := time.Parse(time.DateOnly, *from)
		if err != nil {
			return usagef("--from is a date such as 2026-12-07")
		}
		start = t
	}
	if *days < 1 || *days > 92 {
		return usagef("--days is 1 to 92")
	}
	a, p, err := ticketOpen(ctx, e, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	cal, err := a.Desk.Calendar(ctx, p, start, start.AddDate(0, 0, *days))
	if err != nil {
		return describe(err)
	}
	for _, f := range cal.Freezes {
		scope := "every service"
		if f.Service != nil {
			scope = f.Service.Name
		}
		fmt.Fprintf(e.stdout, "freeze %s (%s): %s to %s\n", f.Name, scope, ticketWhen(&f.StartsAt), ticketWhen(&f.EndsAt))
	}
	for _, w := range cal.Windows {
		fmt.Fprintf(e.stdout, "maintenance window of %s: %s to %s\n", w.Service.Name, ticketWhen(&w.Start), ticketWhen(&w.End))
	}
	if len(cal.Changes) == 0 {
		fmt.Fprintln(e.stdout, "no changes planned")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANGE\tSTART\tEND\tSERVICE\tTYPE\tRISK\tAPPROVAL\tSTATE\tSUMMARY")
	for _, t := range cal.Changes {
		ch := t.Change
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Reference, ticketWhen(&ch.PlannedStart), ticketWhen(&ch.PlannedEnd), t.Service.Code,
			ch.Type, ch.Risk, ch.Approval, t.State, t.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range cal.Changes {
		if len(t.Change.Conflicts) > 0 {
			fmt.Fprintf(e.stdout, "%s:\n", t.Reference)
			printConflicts(e, t.Change.Conflicts)
		}
	}
	return nil
}

// changeAgenda prints the CAB agenda of --as.
func changeAgenda(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "The CAB agenda: the changes waiting for a decision, soonest planned first, with the approval --as may decide.")
	c := addCatalogFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	var items []*desk.AgendaItem
	for page := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		pg, err := a.Desk.Agenda(ctx, p, page)
		if err != nil {
			return describe(err)
		}
		items = append(items, pg.Items...)
		if pg.Next == "" {
			break
		}
		page.Cursor = pg.Next
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, "nothing waits for the CAB")
	}
	for _, it := range items {
		t := it.Ticket
		var who []string
		for _, x := range it.Next {
			who = append(who, x.Approver+" ("+x.Policy+")")
		}
		fmt.Fprintf(e.stdout, "%s %s: %s, %s-risk %s change from %s to %s; waits for %s\n", t.Reference, t.Summary, t.Service.Name, t.Change.Risk, t.Change.Type,
			ticketWhen(&t.Change.PlannedStart), ticketWhen(&t.Change.PlannedEnd), strings.Join(who, ", "))
		printConflicts(e, t.Change.Conflicts)
		if it.Yours != nil {
			fmt.Fprintf(e.stdout, "  yours to decide: steward change decide %s --approve (or --reject --comment WHY) --as %s\n", it.Yours.ID, *c.as)
		}
	}
	return nil
}

// changeDecide approves or rejects a change approval as --as.
func changeDecide(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Approve or reject a request for change at the step it waits at (the approval ID is on the CAB agenda).")
	c := addCatalogFlags(fs)
	approve := fs.Bool("approve", false, "approve it")
	reject := fs.Bool("reject", false, "reject it (with --comment): it is closed")
	comment := fs.String("comment", "", "why")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *approve == *reject {
		return usagef("say --approve or --reject")
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.Desk.DecideChange(ctx, p, fs.Arg(0), desk.DecideInput{Approve: *approve, Comment: *comment})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "%s is %s (%s)\n", t.Reference, t.Change.Approval, t.State)
	return nil
}

func changeWithdraw(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Withdraw a request for change not implemented yet: its open decisions go with it and it is closed.")
	c := addCatalogFlags(fs)
	reason := fs.String("reason", "", "why it is withdrawn (required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("name the change: steward change withdraw CHG-000042 --reason …")
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.Desk.WithdrawChange(ctx, p, fs.Arg(0), desk.WithdrawInput{Reason: *reason})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "%s is %s (%s)\n", t.Reference, t.Change.Approval, t.State)
	return nil
}

func changeCommands() []*command {
	return []*command{
		{name: "calendar", summary: "the changes planned, their conflicts, maintenance windows and freezes", run: changeCalendar},
		{name: "cab", summary: "the CAB agenda of --as", run: changeAgenda},
		{name: "decide", args: "APPROVAL", summary: "approve or reject a change (--approve, or --reject --comment)", run: changeDecide},
		{name: "withdraw", args: "CHANGE", summary: "withdraw a change not implemented yet (--reason)", run: changeWithdraw},
	}
}
