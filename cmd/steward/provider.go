package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/provision"
)

const providerUsage = `Usage:
  steward provider list [flags]                                     providers, their health and offers
  steward provider add --code C --name N --kind osb|webhook --url U [--username U --secret S --region R --capacity N --markup P] [flags]
  steward provider check CODE [flags]                               check a provider's health now
  steward provider sync CODE [flags]                                import an OSB provider's catalog (external offerings, +markup)
  steward platform add --name N --org-unit CODE [flags]             register an OSB platform; prints its password once
`

// providerCmd manages providers from the command line, as the system.
func providerCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "add" && args[0] != "check" && args[0] != "sync") {
		fmt.Fprint(e.stderr, providerUsage)
		return errors.New("unknown provider command")
	}
	cmd := args[0]
	fs := newFlagSet(e, "provider "+cmd, "Manage the providers where ordered things are made.")
	db := addDBFlags(fs)
	var in provision.ProviderInput
	if cmd == "add" {
		fs.StringVar(&in.Code, "code", "", "code, such as peer-cloud")
		fs.StringVar(&in.Name, "name", "", "name")
		fs.StringVar((*string)(&in.Kind), "kind", "osb", "osb or webhook")
		fs.StringVar(&in.URL, "url", "", "base URL (OSB: without /v2)")
		fs.StringVar(&in.Username, "username", "", "OSB basic-auth user")
		fs.StringVar(&in.Secret, "secret", "", "OSB password or webhook signing secret (sealed at rest)")
		fs.StringVar(&in.Region, "region", "", "region, for placement")
		fs.IntVar(&in.Capacity, "capacity", 0, "live instances it may hold (0: no cap)")
		fs.StringVar(&in.Markup, "markup", "0", "percentage added to its prices on import")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if (cmd == "check" || cmd == "sync") && fs.NArg() != 1 {
		return fmt.Errorf("steward provider %s CODE: name one provider", cmd)
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	sys := access.System()
	switch cmd {
	case "list":
		all, err := a.Provision.Providers(ctx, sys)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "CODE\tKIND\tHEALTH\tREGION\tUSED\tOFFERS\tURL")
		for _, p := range all {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", p.Code, p.Kind, p.Health, p.Region, p.Used, len(p.Offers), p.URL)
		}
		return w.Flush()
	case "add":
		p, err := a.Provision.CreateProvider(ctx, sys, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "registered %s (%s) at %s\n", p.Code, p.Kind, p.URL)
	case "check":
		p, err := a.Provision.Check(ctx, sys, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is %s %s\n", p.Code, p.Health, p.HealthError)
		if p.Health != provision.HealthHealthy {
			return errors.New("the provider is not healthy")
		}
	case "sync":
		rep, err := a.Provision.Sync(ctx, sys, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "imported %d plans of %d services into %v; new services %v; retired upstream %v\n",
			rep.Plans, rep.Services, rep.Offerings, rep.Created, rep.Retired)
	}
	return nil
}

// platformCmd registers an OSB platform.
func platformCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(e.stderr, providerUsage)
		return errors.New("unknown platform command")
	}
	fs := newFlagSet(e, "platform add", "Register a platform that orders through Steward's OSB API under /osb.")
	db := addDBFlags(fs)
	name := fs.String("name", "", "the platform's name, such as cf-prod (its basic-auth user)")
	unit := fs.String("org-unit", "", "the org unit (code or ID) it orders for and is billed to")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	units, err := a.Identity.OrgUnits(ctx, access.System())
	if err != nil {
		return err
	}
	id := ""
	for _, u := range units {
		if u.ID == *unit || u.Code == *unit {
			id = u.ID
		}
	}
	if id == "" {
		return fmt.Errorf("--org-unit %q: there is no org unit with that code or ID", *unit)
	}
	p, err := a.Broker.Register(ctx, access.System(), broker.PlatformInput{Name: *name, OrgUnitID: id})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registered platform %s for %s\nbroker URL: <steward>/osb\nusername: %s\npassword: %s\n(the password is shown this once)\n",
		p.Name, p.OrgUnitCode, p.Username, p.Password)
	return nil
}
