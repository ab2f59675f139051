package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The limits of an agreement file for steward sla apply.
const (
	// MaxAgreementFileBytes is the largest agreement file.
	MaxAgreementFileBytes = 1 << 20
	// MaxAgreementYAMLDepth is the deepest nesting of an agreement file.
	MaxAgreementYAMLDepth = 20
)

// decodeAgreement reads an agreement file: YAML of at most
// MaxAgreementFileBytes, nested at most MaxAgreementYAMLDepth deep,
// without anchors or aliases (an alias bomb of 2 KB expands to gigabytes),
// whose fields are all the agreement's. It returns an invalid error
// naming the limit, or the YAML parser's error.
func decodeAgreement(src []byte, in *sla.AgreementInput) error {
	if len(src) > MaxAgreementFileBytes {
		return errs.Invalid("the agreement file is larger than %d bytes", MaxAgreementFileBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return errs.Invalid("the agreement file is not YAML: %v", err)
	}
	if err := plainYAML(&doc, 0); err != nil {
		return err
	}
	// Nothing expands now: decode for real, refusing unknown fields.
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(in); err != nil && !errors.Is(err, io.EOF) {
		return errs.Invalid("the agreement file does not fit an agreement: %v", err)
	}
	return nil
}

// plainYAML refuses anchors, aliases and nesting deeper than
// MaxAgreementYAMLDepth under the node.
func plainYAML(n *yaml.Node, depth int) error {
	if depth > MaxAgreementYAMLDepth {
		return errs.Invalid("line %d: the agreement file nests deeper than %d levels", n.Line, MaxAgreementYAMLDepth)
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return errs.Invalid("line %d: the agreement file uses a YAML anchor or alias; write each value out", n.Line)
	}
	for _, c := range n.Content {
		if err := plainYAML(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// The sla commands define agreements, record outages and run the
// compliance pass, as the system.

// slaApply defines or replaces the agreement in a file.
func slaApply(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Define or replace the agreement in FILE (YAML, as docs/examples/woodgrove-desktop-sla.yaml).")
	db := addDBFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxAgreementFileBytes+1))
	f.Close()
	if err != nil {
		return err
	}
	var in sla.AgreementInput
	if err := decodeAgreement(src, &in); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), describe(err))
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	ag, created, err := a.SLA.SaveAgreement(ctx, access.System(), in)
	if err != nil {
		return describe(err)
	}
	verb := "updated"
	if created {
		verb = "defined"
	}
	fmt.Fprintf(e.stdout, "%s %s %s (%s, %d targets)\n", verb, ag.Kind.Label(), ag.Code, ag.State, len(ag.Targets))
	return nil
}

// slaList prints the agreements and how each stands: all of them, read a
// page at a time, or one page with --limit (and the command for the next).
func slaList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the agreements and how each stands now.")
	db := addDBFlags(fs)
	state := fs.String("state", "", "only agreements in this state: draft, active or retired")
	kind := fs.String("kind", "", "only agreements of this kind: sla, ola or uc")
	orgUnit := fs.String("org-unit", "", "only agreements made with this org unit (code or ID) or one under it")
	limit := fs.Int("limit", 0, "print one page of this many agreements (1 to 500) and the cursor of the next; 0 prints them all")
	cursor := fs.String("cursor", "", "start after the page this cursor ends (printed by --limit)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	if *limit < 0 || *limit > sqldb.MaxLimit {
		return fmt.Errorf("--limit is 1 to %d, or 0 for every agreement", sqldb.MaxLimit)
	}
	f := sla.AgreementFilter{State: sla.State(*state), Kind: sla.Kind(*kind), OrgUnit: *orgUnit, Page: sqldb.Page{Limit: *limit, Cursor: *cursor}}
	if *limit == 0 {
		f.Page.Limit = sqldb.MaxLimit
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AGREEMENT\tKIND\tSTATE\tSTATUS\tNAME")
	for {
		pg, err := a.SLA.ListAgreements(ctx, access.System(), f)
		if err != nil {
			return describe(err)
		}
		for _, c := range pg.Items {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Agreement.Code, c.Agreement.Kind.Label(), c.Agreement.State, c.Status, c.Agreement.Name)
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

// slaEvaluate runs the compliance pass now.
func slaEvaluate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Measure every active agreement now (the server does it every minute).")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.SLA.Evaluate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "measured %d agreements (%d targets, %d outages) in %s: %d breaches touched, %d notices\n",
		p.Agreements, p.Targets, p.Outages, p.Took.Round(1e6), p.Breaches, p.Notices)
	return nil
}

// slaReview prints an agreement's service review.
func slaReview(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "The service review of the agreement CODE: each target over the period and its own windows "+
		"(the agreement's calendar months, in its time zone), breaches, rebates credited.")
	db := addDBFlags(fs)
	var period sla.ReviewPeriod
	fs.StringVar(&period.From, "from", "", "the first month (2026-06: the agreement's calendar month) or an RFC 3339 time; with --to")
	fs.StringVar(&period.To, "to", "", "the month the period ends at (2026-12) or an RFC 3339 time; both left out: the six months to this month's end")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.SLA.Review(ctx, access.System(), fs.Arg(0), period)
	if err != nil {
		return describe(err)
	}
	return printReview(e.stdout, r)
}

// slaOutage records an outage.
func slaOutage(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Record an outage of a service or a configuration item (times RFC 3339).")
	db := addDBFlags(fs)
	var out sla.OutageInput
	var impact string
	fs.StringVar(&out.Service, "service", "", "the service's code")
	fs.StringVar(&out.ConfigItem, "config-item", "", "or a configuration item's code")
	fs.StringVar(&out.Started, "start", "", "when it started (RFC 3339)")
	fs.StringVar(&out.Ended, "end", "", "when it ended (RFC 3339); leave out while it lasts")
	fs.StringVar(&impact, "impact", "full", "full, partial or degraded")
	fs.IntVar(&out.Share, "share", 100, "percent of users or units affected (partial and degraded)")
	fs.BoolVar(&out.Planned, "planned", false, "planned work")
	fs.StringVar(&out.AnnouncedAt, "announced", "", "when planned work was announced (RFC 3339)")
	fs.StringVar(&out.Summary, "summary", "", "what happened")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	out.Impact = sla.Impact(impact)
	o, err := a.SLA.RecordOutage(ctx, access.System(), out)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "recorded outage %s\n", o.ID)
	return nil
}

// printReview writes the service review as the portal shows it: each
// target over the period and over each of its own windows, in the
// agreement's time zone, the breaches, and the rebates credited in the
// period (each once).
func printReview(out io.Writer, r *sla.Review) error {
	a := r.Agreement
	loc := a.Calendar.Location()
	day := func(t time.Time) string { return t.In(loc).Format("2006-01-02") }
	last := func(t time.Time) string { return day(t.Add(-time.Nanosecond)) }
	fmt.Fprintf(out, "Service review: %s (%s), %s – %s, %s\n\n", a.Name, a.Code, day(r.From), last(r.To), a.Calendar.TimeZone)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TARGET\tWINDOW\tMEASURED\tSTATUS")
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%s\tthe period\t%s\t%s\n", t.Description, t.Result.Measured, t.Result.Status)
		for _, x := range t.Windows {
			fmt.Fprintf(w, "\t%s – %s\t%s\t%s\n", day(x.WindowStart), last(x.WindowEnd), x.Measured, x.Status)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d outages, %d incidents, %d breaches\n", len(r.Outages), len(r.Incidents), len(r.Breaches))
	for _, b := range r.Breaches {
		fmt.Fprintf(out, "  breach %s: %s, %s – %s, measured %s (%s)\n", b.ID, b.TargetDescription, day(b.WindowStart), last(b.WindowEnd), b.Measured, b.State)
	}
	fmt.Fprintf(out, "rebates credited in the period: %s %s\n", r.Rebates, a.Currency)
	for _, c := range r.Credited {
		fmt.Fprintf(out, "  %s %s %s %s for breach %s (%s)\n", day(c.At), c.Amount, a.Currency, c.Kind, c.Breach, c.Target)
	}
	return nil
}
