package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
)

const slaUsage = `Usage:
  steward sla apply FILE [flags]      define or replace the agreement in FILE (YAML, as docs/examples/woodgrove-desktop-sla.yaml)
  steward sla list [flags]            agreements and how each stands now
  steward sla evaluate [flags]        measure every active agreement now (the server does it every minute)
  steward sla outage --service CODE --start TIME [--end TIME] [--impact full|partial|degraded] [--share N]
                     [--planned --announced TIME] [--summary TEXT] [flags]
                                      record an outage (times RFC 3339)
`

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

// slaCmd defines agreements, records outages and runs the compliance pass.
func slaCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "list" && args[0] != "evaluate" && args[0] != "outage") {
		fmt.Fprint(e.stderr, slaUsage)
		return errors.New("unknown sla command")
	}
	cmd := args[0]
	fs := newFlagSet(e, "sla "+cmd, "Service level agreements, outages and compliance.")
	db := addDBFlags(fs)
	var out sla.OutageInput
	var impact string
	if cmd == "outage" {
		fs.StringVar(&out.Service, "service", "", "the service's code")
		fs.StringVar(&out.ConfigItem, "config-item", "", "or a configuration item's code")
		fs.StringVar(&out.Started, "start", "", "when it started (RFC 3339)")
		fs.StringVar(&out.Ended, "end", "", "when it ended (RFC 3339); leave out while it lasts")
		fs.StringVar(&impact, "impact", "full", "full, partial or degraded")
		fs.IntVar(&out.Share, "share", 100, "percent of users or units affected (partial and degraded)")
		fs.BoolVar(&out.Planned, "planned", false, "planned work")
		fs.StringVar(&out.AnnouncedAt, "announced", "", "when planned work was announced (RFC 3339)")
		fs.StringVar(&out.Summary, "summary", "", "what happened")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var in sla.AgreementInput
	if cmd == "apply" {
		if fs.NArg() != 1 {
			return errors.New("steward sla apply FILE: name one file")
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
		if err := decodeAgreement(src, &in); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), describe(err))
		}
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := access.System()
	switch cmd {
	case "apply":
		ag, created, err := a.SLA.SaveAgreement(ctx, sys, in)
		if err != nil {
			return describe(err)
		}
		verb := "updated"
		if created {
			verb = "defined"
		}
		fmt.Fprintf(e.stdout, "%s %s %s (%s, %d targets)\n", verb, ag.Kind.Label(), ag.Code, ag.State, len(ag.Targets))
	case "list":
		d, err := a.SLA.Dashboard(ctx, sys)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "AGREEMENT\tKIND\tSTATE\tSTATUS\tNAME")
		for _, c := range d.Agreements {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Agreement.Code, c.Agreement.Kind.Label(), c.Agreement.State, c.Status, c.Agreement.Name)
		}
		return w.Flush()
	case "evaluate":
		p, err := a.SLA.Evaluate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "measured %d agreements (%d targets, %d outages) in %s: %d breaches touched, %d notices\n",
			p.Agreements, p.Targets, p.Outages, p.Took.Round(1e6), p.Breaches, p.Notices)
	case "outage":
		out.Impact = sla.Impact(impact)
		o, err := a.SLA.RecordOutage(ctx, sys, out)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "recorded outage %s\n", o.ID)
	}
	return nil
}
