package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/provision"
)

const blueprintUsage = `Usage:
  steward blueprint validate FILE [--against-db] [flags]   check a blueprint; problems are printed FILE:LINE: field: message
  steward blueprint upload FILE [--note N] [flags]         store it as the next version of its code
  steward blueprint list [flags]                           blueprints, their latest version and the plans they make
`

// blueprintCmd checks and uploads blueprints. validate needs no database
// unless --against-db asks it to check the plans and providers too.
func blueprintCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "validate" && args[0] != "upload" && args[0] != "list") {
		fmt.Fprint(e.stderr, blueprintUsage)
		return errors.New("unknown blueprint command")
	}
	cmd := args[0]
	fs := newFlagSet(e, "blueprint "+cmd, "Check, upload and list blueprints: how plans are made, in steps.")
	db := addDBFlags(fs)
	against := cmd == "upload"
	var note string
	switch cmd {
	case "validate":
		fs.BoolVar(&against, "against-db", false, "also check that the plans and providers the steps name exist in Steward's database")
	case "upload":
		fs.StringVar(&note, "note", "", "what changed in this version")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var file string
	var source []byte
	if cmd != "list" {
		if fs.NArg() != 1 {
			return fmt.Errorf("steward blueprint %s FILE: name one file", cmd)
		}
		file = fs.Arg(0)
		var err error
		if source, err = os.ReadFile(file); err != nil {
			return err
		}
	}
	problems := func(err error) error {
		e2 := errs.As(err)
		if e2.Code != errs.CodeInvalid || len(e2.Fields) == 0 {
			return describe(err)
		}
		for _, f := range e2.Fields {
			f2 := f
			f2.Line = 0 // FILE:LINE: says it
			fmt.Fprintf(e.stderr, "%s:%d: %s\n", file, f.Line, f2.String())
		}
		err = fmt.Errorf("%s: %s (%d problems)", file, e2.Message, len(e2.Fields))
		if cmd == "upload" {
			err = fmt.Errorf("%w; nothing was stored", err)
		}
		return err
	}
	if cmd == "validate" && !against {
		b, err := blueprint.Parse(source)
		if err != nil {
			return problems(err)
		}
		fmt.Fprintln(e.stdout, summary(file, b)+"; valid (run with --against-db to check its plans and providers)")
		return nil
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := access.System()
	switch cmd {
	case "validate":
		b, err := a.Provision.ValidateBlueprint(ctx, sys, string(source))
		if err != nil {
			return problems(err)
		}
		fmt.Fprintln(e.stdout, summary(file, b)+"; valid, and Steward can make every step")
	case "upload":
		b, created, err := a.Provision.UploadBlueprint(ctx, sys, provision.BlueprintInput{Source: string(source), Note: note})
		if err != nil {
			return problems(err)
		}
		if !created {
			fmt.Fprintf(e.stdout, "unchanged: %s already has this source\n", b.Ref())
			return nil
		}
		fmt.Fprintf(e.stdout, "uploaded %s; name it in a plan as blueprint: %s\n", b.Ref(), b.Ref())
	case "list":
		all, err := a.Provision.Blueprints(ctx, sys)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "BLUEPRINT\tLATEST\tVERSIONS\tNAME")
		for _, b := range all {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", b.Code, b.Ref(), b.Versions, b.Name)
		}
		return w.Flush()
	}
	return nil
}

// summary is one line about a checked blueprint.
func summary(file string, b *blueprint.Blueprint) string {
	return fmt.Sprintf("%s: blueprint %s (%s): %d inputs, %d steps, %d outputs", file, b.Code, b.Name, len(b.Inputs), len(b.Steps), len(b.Outputs))
}
