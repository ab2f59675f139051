package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The ticket commands work the service desk (issue 20) as a person: --as
// names who (raising, working and rating need a person; listing and
// showing read as the system without it).

// ticketOpen opens Steward as --as, or the system when write is false and
// --as is empty.
func ticketOpen(ctx context.Context, e env, c catalogFlags, write bool) (*app.App, *access.Principal, error) {
	if write && *c.as == "" {
		return nil, nil, usagef("%s: say who does it with --as EMAIL (the requester or the agent)", e.cmd)
	}
	return c.open(ctx, e)
}

func ticketWhen(t *time.Time) string {
	if t == nil || t.Year() >= 9999 {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// ticketList prints tickets, a page at a time with --limit.
func ticketList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List tickets: --view queue (the groups and services --as works), mine, assigned or all (the default).")
	c := addCatalogFlags(fs)
	view := fs.String("view", "", "all, mine, queue or assigned")
	state := fs.String("state", "", "a state, or open (not resolved or closed)")
	kind := fs.String("kind", "", "incident, request, problem or change")
	service := fs.String("service", "", "only tickets about this service (code or ID)")
	sort := fs.String("sort", "", "opened (newest first, the default) or due (least time left first)")
	knownError := fs.Bool("known-error", false, "only the known errors: problems with a documented root cause or workaround")
	limit := fs.Int("limit", 0, "print one page of this many tickets (1 to 500) and the cursor of the next; 0 prints them all")
	cursor := fs.String("cursor", "", "start after the page this cursor ends (printed by --limit)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *limit < 0 || *limit > sqldb.MaxLimit {
		return fmt.Errorf("--limit is 1 to %d, or 0 for every ticket", sqldb.MaxLimit)
	}
	a, p, err := ticketOpen(ctx, e, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	f := desk.Filter{View: desk.View(*view), State: *state, Kind: desk.Kind(*kind), Service: *service, Sort: *sort, KnownError: *knownError,
		Page: sqldb.Page{Limit: *limit, Cursor: *cursor}}
	if *limit == 0 {
		f.Page.Limit = sqldb.MaxLimit
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TICKET\tPRIORITY\tSTATE\tSERVICE\tWITH\tRESOLVE BY\tSUMMARY")
	for {
		pg, err := a.Desk.Tickets(ctx, p, f)
		if err != nil {
			return describe(err)
		}
		for _, t := range pg.Items {
			with := "—"
			if t.Group != nil {
				with = t.Group.Name
			}
			if t.Assignee != nil {
				with = t.Assignee.Name
			}
			fmt.Fprintf(w, "%s\tP%d\t%s\t%s\t%s\t%s\t%s\n", t.Reference, t.Priority, t.State, t.Service.Code, with, ticketWhen(t.ResolveBy), t.Summary)
		}
		if pg.Next != "" && *limit > 0 {
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "more: run it again with --cursor %s\n", pg.Next)
			return nil
		}
		if f.Page.Cursor = pg.Next; f.Page.Cursor == "" {
			return w.Flush()
		}
	}
}

// ticketShow prints a ticket, its clocks and its conversation.
func ticketShow(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Show a ticket: its facts, clocks and conversation (work notes too for those who work it).")
	c := addCatalogFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := ticketOpen(ctx, e, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := a.Desk.Detail(ctx, p, fs.Arg(0))
	if err != nil {
		return describe(err)
	}
	printTicket(e, d)
	cs, err := a.Desk.Comments(ctx, p, d.ID, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		return describe(err)
	}
	for _, cm := range cs.Items {
		note := ""
		if cm.Internal {
			note = " (work note)"
		}
		fmt.Fprintf(e.stdout, "\n%s %s%s:\n  %s\n", ticketWhen(&cm.CreatedAt), cm.Author.Name, note, cm.Body)
	}
	return nil
}

func printTicket(e env, d *desk.Detail) {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "%s\t%s\n", d.Reference, d.Summary)
	fmt.Fprintf(w, "kind\t%s, P%d (impact %s, urgency %s)\n", d.Kind, d.Priority, desk.Levels[d.Impact], desk.Levels[d.Urgency])
	fmt.Fprintf(w, "state\t%s%s\n", d.State, map[bool]string{true: ", waiting for the " + d.HoldReason}[d.HoldReason != ""])
	fmt.Fprintf(w, "service\t%s (%s)\n", d.Service.Name, d.Service.Code)
	if d.ConfigItem != nil {
		fmt.Fprintf(w, "config item\t%s (%s)\n", d.ConfigItem.Name, d.ConfigItem.Code)
	}
	if d.OrgUnit != nil {
		fmt.Fprintf(w, "for\t%s\n", d.OrgUnit.Name)
	}
	if d.Requester != nil {
		fmt.Fprintf(w, "requester\t%s\n", d.Requester.Name)
	}
	with := "no group"
	if d.Group != nil {
		with = d.Group.Name
	}
	if d.Assignee != nil {
		with += ", " + d.Assignee.Name
	}
	fmt.Fprintf(w, "with\t%s (tier %d)\n", with, d.Tier)
	fmt.Fprintf(w, "opened\t%s\n", ticketWhen(&d.OpenedAt))
	clock := func(c desk.Clock) string {
		s := fmt.Sprintf("%d of %d service minutes", c.ElapsedMinutes, c.TargetMinutes)
		switch {
		case c.Late:
			s += ", late"
		case c.Paused:
			s += ", paused"
		case c.Stopped:
			s += ", stopped"
		}
		if c.Due != nil && !c.Stopped {
			s += ", due " + ticketWhen(c.Due)
		}
		if c.Agreement != "" {
			s += " (" + c.Agreement + ")"
		}
		return s
	}
	if ch := d.Change; ch != nil {
		fmt.Fprintf(w, "change\t%s, %s risk, planned %s to %s\n", ch.Type, ch.Risk, ticketWhen(&ch.PlannedStart), ticketWhen(&ch.PlannedEnd))
		fmt.Fprintf(w, "approval\t%s\n", ch.Approval)
		for _, x := range ch.Approvals {
			by := ""
			if x.DecidedBy != "" {
				by = " by " + x.DecidedBy
			}
			fmt.Fprintf(w, "  step %d\t%s: %s, %s%s (approval %s)\n", x.Step, x.Policy, x.Approver, x.State, by, x.ID)
		}
		for _, x := range ch.Conflicts {
			fmt.Fprintf(w, "conflict\t%s\n", x.Message)
		}
	} else if d.Kind == desk.Incident || d.Kind == desk.Request {
		fmt.Fprintf(w, "response\t%s\n", clock(d.Response))
		fmt.Fprintf(w, "resolution\t%s\n", clock(d.Resolution))
	}
	if d.ResolvedAt != nil {
		fmt.Fprintf(w, "resolved\t%s: %s\n", ticketWhen(d.ResolvedAt), d.Ticket.Resolution)
	}
	if d.Rating != nil {
		fmt.Fprintf(w, "rating\t%d of 5 %s\n", *d.Rating, d.RatingComment)
	}
	for _, o := range d.Orders {
		fmt.Fprintf(w, "ordered as\t%s (%s)\n", o.Reference, o.State)
	}
	w.Flush()
	if d.Description != "" {
		fmt.Fprintf(e.stdout, "\n%s\n", d.Description)
	}
}

// ticketRaise raises a ticket as --as.
func ticketRaise(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Raise a ticket as --as about --service, for their org unit (or --org-unit); it goes to the service's assignment group.")
	c := addCatalogFlags(fs)
	kind := fs.String("kind", "incident", "incident, request, problem or change")
	service := fs.String("service", "", "the service it is about (code or ID)")
	ci := fs.String("ci", "", "a configuration item on the service's map it is narrowed to (code or ID); alone, it brings its nearest service")
	summary := fs.String("summary", "", "what it is about, in one line")
	description := fs.String("description", "", "what happened, in the requester's words")
	orgUnit := fs.String("org-unit", "", "whose ticket it is (code or ID): the requester's org unit by default")
	requester := fs.String("requester", "", "raise it on someone's behalf (e-mail): for those who work the service's tickets")
	impact := fs.Int("impact", 2, "1 high, 2 medium, 3 low")
	urgency := fs.Int("urgency", 2, "1 high, 2 medium, 3 low")
	changeType := fs.String("change-type", "", "a change's type: normal (the default), standard (with --template) or emergency")
	template := fs.String("template", "", "a standard change's template (ID or name): its service, texts and plans")
	risk := fs.String("risk", "", "a change's risk: low, medium (the default) or high")
	plan := fs.String("plan", "", "a change's implementation plan")
	backout := fs.String("backout-plan", "", "a change's backout plan")
	start := fs.String("start", "", "a change's planned start (RFC 3339)")
	end := fs.String("end", "", "a change's planned end (RFC 3339; a standard change's comes from its template)")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	in := desk.RaiseInput{Kind: desk.Kind(*kind), Service: *service, ConfigItem: *ci, Summary: *summary, Description: *description,
		OrgUnit: *orgUnit, Requester: *requester, Impact: *impact, Urgency: *urgency}
	if in.Kind == desk.Change {
		in.Change = &desk.ChangeInput{Type: desk.ChangeType(*changeType), Template: *template, Risk: *risk, Plan: *plan, BackoutPlan: *backout,
			PlannedStart: *start, PlannedEnd: *end}
	}
	t, err := a.Desk.Raise(ctx, p, in)
	if err != nil {
		return describe(err)
	}
	if t.Change != nil {
		waits := "pre-approved"
		if len(t.Change.Approvals) > 0 {
			waits = "waits for " + t.Change.Approvals[0].Approver + " (" + t.Change.Approvals[0].Policy + ")"
		}
		fmt.Fprintf(e.stdout, "raised %s, a %s change planned %s to %s: %s\n", t.Reference, t.Change.Type, ticketWhen(&t.Change.PlannedStart),
			ticketWhen(&t.Change.PlannedEnd), waits)
		printConflicts(e, t.Change.Conflicts)
		return nil
	}
	group := "no group"
	if t.Group != nil {
		group = t.Group.Name
	}
	fmt.Fprintf(e.stdout, "raised %s (P%d) for %s, resolve by %s\n", t.Reference, t.Priority, group, ticketWhen(t.ResolveBy))
	return nil
}

// ticketAct is one of the commands that change a ticket as --as.
func ticketAct(about string, flags func(*flagSet) func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error)) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		fs := newFlagSet(e, about)
		c := addCatalogFlags(fs)
		act := flags(fs)
		if err := fs.parse(args); err != nil {
			return err
		}
		a, p, err := ticketOpen(ctx, e, c, true)
		if err != nil {
			return err
		}
		defer a.Close()
		t, err := act(ctx, a, p, fs.Arg(0))
		if err != nil {
			var u usageError
			if errors.As(err, &u) {
				return err
			}
			return describe(err)
		}
		with := "no one"
		if t.Assignee != nil {
			with = t.Assignee.Name
		} else if t.Group != nil {
			with = t.Group.Name
		}
		fmt.Fprintf(e.stdout, "%s is %s, with %s (tier %d)\n", t.Reference, t.State, with, t.Tier)
		return nil
	}
}

func ticketCommands() []*command {
	return append([]*command{
		{name: "list", summary: "tickets: --view queue, mine, assigned or all; --state open", run: ticketList},
		{name: "show", args: "REF", summary: "a ticket, its clocks and its conversation", run: ticketShow},
		{name: "raise", summary: "raise a ticket as --as about --service", run: ticketRaise},
		{name: "report", summary: "the desk's figures per service, org unit or month (--csv)", run: ticketReport},
		{name: "attach", args: "REF FILE", summary: "attach a file to a ticket (--internal: for those who work it)", run: ticketAttach},
		{name: "order", args: "REF", summary: "turn a service request into an order (--offering, --plan)", run: ticketOrder},
		{name: "routes", summary: "where --service's tickets of each org unit go", run: ticketRoutes},
		{name: "route", summary: "send --service's tickets of --org-unit to --group (or --remove)", run: ticketRoute},
		{name: "take", args: "REF", summary: "take a ticket (assign it to --as)", run: ticketAct("Take the ticket: assign it to --as, who works its service's tickets.",
			func(*flagSet) func(context.Context, *app.App, *access.Principal, string) (*desk.Ticket, error) {
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.Take(ctx, p, ref)
				}
			})},
		{name: "comment", args: "REF", summary: "add a comment (--internal: a work note)", run: ticketAct("Add a comment to the ticket, or a work note with --internal.",
			func(fs *flagSet) func(context.Context, *app.App, *access.Principal, string) (*desk.Ticket, error) {
				body := fs.String("body", "", "the comment")
				internal := fs.Bool("internal", false, "a work note, not shown to the requester")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.Comment(ctx, p, ref, desk.CommentInput{Body: *body, Internal: *internal})
				}
			})},
		{name: "move", args: "REF", summary: "move a ticket: --to in_progress, on_hold (--hold-reason), resolved (--resolution), closed", run: ticketAct(
			"Move the ticket: --to in_progress (start, resume, reopen), on_hold with --hold-reason customer, supplier or change, resolved with --resolution, or closed.",
			func(fs *flagSet) func(context.Context, *app.App, *access.Principal, string) (*desk.Ticket, error) {
				to := fs.String("to", "", "in_progress, on_hold, resolved or closed")
				reason := fs.String("hold-reason", "", "customer, supplier or change (on_hold)")
				resolution := fs.String("resolution", "", "how it was resolved (resolved)")
				note := fs.String("note", "", "a comment the requester sees with the move")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.Move(ctx, p, ref, desk.MoveInput{To: desk.State(*to), HoldReason: *reason, Resolution: *resolution, Note: *note})
				}
			})},
		{name: "assign", args: "REF", summary: "route a ticket: --group, --tier, --assignee", run: ticketAct("Route the ticket to another --group and --tier (escalation) and to an --assignee in it.",
			func(fs *flagSet) func(context.Context, *app.App, *access.Principal, string) (*desk.Ticket, error) {
				group := fs.String("group", "", "the assignment group (name or ID); empty keeps it")
				tier := fs.Int("tier", 0, "1, 2 or 3; 0 keeps it")
				assignee := fs.String("assignee", "", "a member of the group (e-mail); empty leaves it to the group")
				note := fs.String("note", "", "a work note saying why")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.Assign(ctx, p, ref, desk.AssignInput{Group: *group, Tier: *tier, Assignee: *assignee, Note: *note})
				}
			})},
		{name: "rate", args: "REF", summary: "rate a resolved ticket 1 to 5 (its requester)", run: ticketAct("Rate the resolved ticket --as its requester: --rating 1 to 5 and a --comment.",
			func(fs *flagSet) func(context.Context, *app.App, *access.Principal, string) (*desk.Ticket, error) {
				rating := fs.Int("rating", 0, "1 (poor) to 5 (excellent)")
				comment := fs.String("comment", "", "anything to add")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.Rate(ctx, p, ref, desk.RateInput{Rating: *rating, Comment: *comment})
				}
			})},
	}, ticketRelatedCommands()...)
}

// ticketReport prints the desk's report over months.
func ticketReport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Print the desk's figures over a period, per service, org unit or month: raised, resolved, open, mean service minutes to respond and resolve, first contact resolution, reopen rate, CSAT.")
	c := addCatalogFlags(fs)
	from := fs.String("from", "", "the first month, such as 2026-09 (required)")
	to := fs.String("to", "", "the month after the last, such as 2026-12 (required)")
	by := fs.String("by", "service", "service, org_unit or month")
	kind := fs.String("kind", "", "only incidents, requests, problems or changes")
	asCSV := fs.Bool("csv", false, "write CSV instead of a table")
	if err := fs.parse(args); err != nil {
		return err
	}
	f, err := time.Parse("2006-01", *from)
	if err != nil {
		return usagef("%s: --from is a month such as 2026-09", e.cmd)
	}
	t, err := time.Parse("2006-01", *to)
	if err != nil {
		return usagef("%s: --to is a month such as 2026-12", e.cmd)
	}
	a, p, err := ticketOpen(ctx, e, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := a.Desk.Report(ctx, p, desk.ReportFilter{From: f, To: t, By: desk.ReportBy(*by), Kind: desk.Kind(*kind)})
	if err != nil {
		return describe(err)
	}
	if *asCSV {
		return desk.WriteCSV(e.stdout, desk.ReportBy(*by), rows)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tRAISED\tRESOLVED\tOPEN\tRESPOND MIN\tRESOLVE MIN\tFIRST CONTACT\tREOPENED\tCSAT\tNAME")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.1f\t%.1f\t%.0f%%\t%.0f%%\t%.2f\t%s\n", r.Key, r.Raised, r.Resolved, r.Open, r.MeanRespondMinutes, r.MeanResolveMinutes,
			100*r.FirstContact, 100*r.Reopened, r.MeanRating, r.Name)
	}
	return w.Flush()
}

// ticketOrder turns a service request into an order from the catalog.
func ticketOrder(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Turn an open service request into an order from the catalog: the order is placed for the request's org unit and submitted, and the request is resolved as fulfilled through it when the order completes.")
	c := addCatalogFlags(fs)
	offering := fs.String("offering", "", "the offering (code or ID) to order (required)")
	plan := fs.String("plan", "", "its plan (code or ID; required)")
	quantity := fs.Int("quantity", 1, "how many")
	params := fs.String("parameters", "", "the order form's answers, as a JSON object")
	note := fs.String("note", "", "a note for the order's approvers")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("name the request: steward ticket order REQ-000042 --offering laptop --plan standard")
	}
	item := orders.ItemInput{Offering: *offering, Plan: *plan, Quantity: *quantity}
	if *params != "" {
		if err := json.Unmarshal([]byte(*params), &item.Parameters); err != nil || item.Parameters == nil {
			return usagef("--parameters is a JSON object, such as '{\"delivery_site\": \"Leeds\"}'")
		}
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	o, t, err := a.Desk.Order(ctx, p, fs.Arg(0), desk.OrderInput{Items: []orders.ItemInput{item}, Note: *note})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "%s is %s: ordered as %s (%s)\n", t.Reference, t.State, o.Reference(), o.State)
	return nil
}

// ticketRoutes prints where a service's tickets of each org unit go.
func ticketRoutes(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List where --service's tickets of each org unit go: an org unit's route sends its tickets, and those of the org units under it, to another group than the service's.")
	c := addCatalogFlags(fs)
	service := fs.String("service", "", "the service (code or ID; required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *service == "" {
		return usagef("name the service: steward ticket routes --service email")
	}
	a, p, err := ticketOpen(ctx, e, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	rs, err := a.Desk.Routes(ctx, p, *service)
	if err != nil {
		return describe(err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ORG UNIT\tGROUP\tSINCE")
	for _, r := range rs {
		fmt.Fprintf(w, "%s (%s)\t%s\t%s\n", r.OrgUnit.Name, r.OrgUnit.Code, r.Group.Name, ticketWhen(&r.CreatedAt))
	}
	return w.Flush()
}

// ticketRoute sets or removes the route of an org unit's tickets.
func ticketRoute(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Send --service's tickets of --org-unit (and the org units under it) to --group, or with --remove to the service's group again. Needs service.manage on the service.")
	c := addCatalogFlags(fs)
	service := fs.String("service", "", "the service (code or ID; required)")
	orgUnit := fs.String("org-unit", "", "the org unit (code or ID; required)")
	group := fs.String("group", "", "the assignment group (name or ID)")
	remove := fs.Bool("remove", false, "remove the org unit's route")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *service == "" || *orgUnit == "" || (*group == "") == !*remove {
		return usagef("steward ticket route --service email --org-unit MFG --group \"Plant IT\" (or --remove instead of --group)")
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if *remove {
		if err := a.Desk.RemoveRoute(ctx, p, *service, *orgUnit); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "%s's tickets of %s go to the service's group again\n", *service, *orgUnit)
		return nil
	}
	r, err := a.Desk.SetRoute(ctx, p, *service, *orgUnit, desk.RouteInput{Group: *group})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "%s's tickets of %s go to %s\n", r.Service.Name, r.OrgUnit.Name, r.Group.Name)
	return nil
}
