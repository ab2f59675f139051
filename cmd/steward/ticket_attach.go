package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/desk"
)

// ticketAttach attaches a file to a ticket as --as (issue 20).
func ticketAttach(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, fmt.Sprintf("Attach FILE to the ticket REF as --as (at most %d MiB, of the types %s); --internal for those who work it.",
		desk.MaxAttachmentBytes>>20, desk.AllowedExtensions))
	c := addCatalogFlags(fs)
	internal := fs.Bool("internal", false, "an internal file, not shown to the requester")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("%s: name the ticket and the file: REF FILE", e.cmd)
	}
	f, err := os.Open(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("open the file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, desk.MaxAttachmentBytes+1))
	if err != nil {
		return fmt.Errorf("read the file: %w", err)
	}
	a, p, err := ticketOpen(ctx, e, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	att, err := a.Desk.Attach(ctx, p, fs.Arg(0), desk.AttachInput{Filename: filepath.Base(fs.Arg(1)), Data: data, Internal: *internal})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "attached %s (%d bytes, %s) to %s as %s\n", att.Filename, att.Size, att.ContentType, fs.Arg(0), att.ID)
	return nil
}

// ticketRelatedCommands record problems, link incidents, merge duplicates
// and set parents (issue 20).
func ticketRelatedCommands() []*command {
	type act = func(context.Context, *app.App, *access.Principal, string) (*desk.Ticket, error)
	return []*command{
		{name: "problem", args: "REF", summary: "record a problem's --root-cause, --workaround and --known-error", run: ticketAct(
			"Record the problem's root cause and workaround, and mark it a known error (--known-error) or not (--known-error=false).",
			func(fs *flagSet) act {
				rootCause := fs.String("root-cause", "", "what caused its incidents")
				workaround := fs.String("workaround", "", "how to get round it until it is fixed")
				knownError := fs.Bool("known-error", false, "a known error: listed with ticket list --known-error")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					in := desk.ProblemInput{}
					fs.Visit(func(f *flag.Flag) {
						switch f.Name {
						case "root-cause":
							in.RootCause = rootCause
						case "workaround":
							in.Workaround = workaround
						case "known-error":
							in.KnownError = knownError
						}
					})
					return a.Desk.UpdateProblem(ctx, p, ref, in)
				}
			})},
		{name: "link", args: "PROBLEM", summary: "link an --incident to a problem (--unlink: undo it)", run: ticketAct(
			"Link an incident to the problem: the incident shows the problem's workaround. --unlink undoes it.",
			func(fs *flagSet) act {
				incident := fs.String("incident", "", "the incident (INC-… or its ID)")
				unlink := fs.Bool("unlink", false, "unlink it instead")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.LinkIncident(ctx, p, ref, *incident, !*unlink)
				}
			})},
		{name: "merge", args: "REF", summary: "merge a duplicate --into another ticket of its kind", run: ticketAct(
			"Merge the ticket, a duplicate, --into another of its kind: it is closed, its people watch the other.",
			func(fs *flagSet) act {
				into := fs.String("into", "", "the ticket it duplicates")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.Merge(ctx, p, ref, desk.MergeInput{Into: *into})
				}
			})},
		{name: "parent", args: "REF", summary: "make a ticket a child of a --parent (empty: none); it resolves with it", run: ticketAct(
			"Make the ticket a child of --parent (a major incident), which resolves it with itself; an empty --parent makes it no one's.",
			func(fs *flagSet) act {
				parent := fs.String("parent", "", "the parent ticket; empty for none")
				return func(ctx context.Context, a *app.App, p *access.Principal, ref string) (*desk.Ticket, error) {
					return a.Desk.SetParent(ctx, p, ref, desk.ParentInput{Parent: *parent})
				}
			})},
	}
}
