package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The provider commands manage providers from the command line, as the system.

// providerList prints the providers, their health and offers.
func providerList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the providers where ordered things are made: their health, region, instances held and offers.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CODE\tKIND\tHEALTH\tREGION\tUSED\tOFFERS\tURL")
	// Every provider, a page at a time.
	for f := (provision.ProviderFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}}); ; {
		page, err := a.Provision.Providers(ctx, access.System(), f)
		if err != nil {
			return err
		}
		for _, p := range page.Items {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", p.Code, p.Kind, p.Health, p.Region, p.Used, len(p.Offers), p.URL)
		}
		if f.Cursor = page.Next; f.Cursor == "" {
			break
		}
	}
	return w.Flush()
}

// providerAdd registers a provider.
func providerAdd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Register a provider: an OSB broker, or a webhook that is sent signed requests.")
	db := addDBFlags(fs)
	var in provision.ProviderInput
	fs.StringVar(&in.Code, "code", "", "code, such as peer-cloud")
	fs.StringVar(&in.Name, "name", "", "name")
	fs.StringVar((*string)(&in.Kind), "kind", "osb", "osb or webhook")
	fs.StringVar(&in.URL, "url", "", "base URL (OSB: without /v2)")
	fs.StringVar(&in.Username, "username", "", "OSB basic-auth user")
	fs.StringVar(&in.Secret, "secret", "", "OSB password or webhook signing secret (sealed at rest)")
	fs.StringVar(&in.Region, "region", "", "region, for placement")
	fs.IntVar(&in.Capacity, "capacity", 0, "live instances it may hold (0: no cap)")
	fs.StringVar(&in.Markup, "markup", "0", "percentage added to its prices on import")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.Provision.CreateProvider(ctx, access.System(), in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registered %s (%s) at %s\n", p.Code, p.Kind, p.URL)
	return nil
}

// providerCheck checks a provider's health now.
func providerCheck(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Check a provider's health now; exits 1 when it is not healthy.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.Provision.Check(ctx, access.System(), fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is %s %s\n", p.Code, p.Health, p.HealthError)
	if p.Health != provision.HealthHealthy {
		return errors.New("the provider is not healthy")
	}
	return nil
}

// providerSync imports an OSB provider's catalog.
func providerSync(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Import an OSB provider's catalog as external offerings, its prices plus the provider's markup.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.Provision.Sync(ctx, access.System(), fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "imported %d plans of %d services into %v; new services %v; retired upstream %v\n",
		rep.Plans, rep.Services, rep.Offerings, rep.Created, rep.Retired)
	return nil
}

// platformAdd registers an OSB platform.
func platformAdd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Register a platform that orders through Steward's OSB API under /osb; its password is printed once.")
	db := addDBFlags(fs)
	name := fs.String("name", "", "the platform's name, such as cf-prod (its basic-auth user)")
	unit := fs.String("org-unit", "", "the org unit (code or ID) it orders for and is billed to")
	a, err := fs.open(ctx, db, args)
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
