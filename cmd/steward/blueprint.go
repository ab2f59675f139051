package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// blueprintValidate checks a blueprint. It needs no database unless
// --against-db asks it to check the plans and providers too.
func blueprintValidate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Check a blueprint; problems are printed FILE:LINE: field: message. Without --against-db it needs no database.")
	db := addDBFlags(fs)
	against := fs.Bool("against-db", false, "also check that the plans and providers the steps name exist in Steward's database")
	if err := fs.parse(args); err != nil {
		return err
	}
	file := fs.Arg(0)
	source, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !*against {
		b, err := blueprint.Parse(source)
		if err != nil {
			return blueprintProblems(e, file, false, err)
		}
		fmt.Fprintln(e.stdout, summary(file, b)+"; valid (run with --against-db to check its plans and providers)")
		return nil
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.Provision.ValidateBlueprint(ctx, access.System(), string(source))
	if err != nil {
		return blueprintProblems(e, file, false, err)
	}
	fmt.Fprintln(e.stdout, summary(file, b)+"; valid, and Steward can make every step")
	return nil
}

// blueprintUpload stores a blueprint as the next version of its code.
func blueprintUpload(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Check a blueprint against Steward's plans and providers and store it as the next version of its code.")
	db := addDBFlags(fs)
	note := fs.String("note", "", "what changed in this version")
	if err := fs.parse(args); err != nil {
		return err
	}
	file := fs.Arg(0)
	source, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	b, created, err := a.Provision.UploadBlueprint(ctx, access.System(), provision.BlueprintInput{Source: string(source), Note: *note})
	if err != nil {
		return blueprintProblems(e, file, true, err)
	}
	if !created {
		fmt.Fprintf(e.stdout, "unchanged: %s already has this source\n", b.Ref())
		return nil
	}
	fmt.Fprintf(e.stdout, "uploaded %s; name it in a plan as blueprint: %s\n", b.Ref(), b.Ref())
	return nil
}

// blueprintList prints the blueprints.
func blueprintList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the blueprints, their latest version and the plans they make.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "BLUEPRINT\tLATEST\tVERSIONS\tNAME")
	// Every blueprint, a page at a time.
	for page := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		bs, err := a.Provision.Blueprints(ctx, access.System(), page)
		if err != nil {
			return err
		}
		for _, b := range bs.Items {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", b.Code, b.Ref(), b.Versions, b.Name)
		}
		if page.Cursor = bs.Next; page.Cursor == "" {
			break
		}
	}
	return w.Flush()
}

// blueprintProblems prints a blueprint's field errors as FILE:LINE:
// field: message and returns one error that counts them.
func blueprintProblems(e env, file string, upload bool, err error) error {
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
	if upload {
		err = fmt.Errorf("%w; nothing was stored", err)
	}
	return err
}

// summary is one line about a checked blueprint.
func summary(file string, b *blueprint.Blueprint) string {
	return fmt.Sprintf("%s: blueprint %s (%s): %d inputs, %d steps, %d outputs", file, b.Code, b.Name, len(b.Inputs), len(b.Steps), len(b.Outputs))
}
