package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sso"
)

// The idp commands manage single sign-on's identity providers and their
// mapping rules from the command line, as the system (docs/identity.md).

// readJSONFile decodes the JSON in path ("-": stdin) into v, refusing
// unknown fields.
func readJSONFile(e env, path, flagName string, v any) error {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--%s: %w", flagName, err)
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("--%s %s: not the JSON expected: %w", flagName, path, err)
	}
	return nil
}

// idpList prints the identity providers.
func idpList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the OpenID Connect identity providers people sign in through.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CODE\tNAME\tENABLED\tRULES\tISSUER")
	for pg := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		page, err := a.SSO.Providers(ctx, access.System(), pg)
		if err != nil {
			return err
		}
		for _, p := range page.Items {
			fmt.Fprintf(w, "%s\t%s\t%v\t%d\t%s\n", p.Code, p.Name, p.Enabled, len(p.Rules), p.IssuerURL)
		}
		if pg.Cursor = page.Next; pg.Cursor == "" {
			break
		}
	}
	return w.Flush()
}

// idpAdd registers an identity provider.
func idpAdd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Register an OpenID Connect identity provider; register Steward with it as a web client whose redirect URL is <public URL>/login/sso/CODE/callback.")
	db := addDBFlags(fs)
	var in sso.ProviderInput
	fs.StringVar(&in.Code, "code", "", "code, in the sign-in URL: /login/sso/CODE")
	fs.StringVar(&in.Name, "name", "", "name on the sign-in button: \"Sign in with NAME\"")
	fs.StringVar(&in.IssuerURL, "issuer", "", "the provider's issuer URL (https; discovery is at ISSUER/.well-known/openid-configuration)")
	fs.StringVar(&in.ClientID, "client-id", "", "Steward's client ID at the provider")
	secretStdin := fs.Bool("client-secret-stdin", false, "read the client secret from the first line of stdin (sealed at rest)")
	scopes := fs.String("scopes", "openid email profile", "scopes asked for, separated by spaces")
	rules := fs.String("rules", "", "a JSON file of mapping rules (\"-\": stdin; see docs/identity.md)")
	disabled := fs.Bool("disabled", false, "register it without a sign-in button yet")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	if *secretStdin {
		s, _, err := readPassword(e, true)
		if err != nil {
			return err
		}
		in.ClientSecret = &s
	}
	if *rules != "" {
		if err := readJSONFile(e, *rules, "rules", &in.Rules); err != nil {
			return err
		}
	}
	in.Scopes = strings.Fields(*scopes)
	on := !*disabled
	in.Enabled = &on
	p, err := a.SSO.CreateProvider(ctx, access.System(), in)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registered %s (%s) with %d mapping rules; its callback URL is <public URL>/login/sso/%s/callback\n", p.Code, p.IssuerURL, len(p.Rules), p.Code)
	return nil
}

// idpChange reads a provider, lets change alter its input and saves it.
func idpChange(ctx context.Context, a *app.App, code string, change func(*sso.ProviderInput)) (*sso.Provider, error) {
	p, err := a.SSO.Provider(ctx, access.System(), code)
	if err != nil {
		return nil, err
	}
	in := sso.ProviderInput{Code: p.Code, Name: p.Name, IssuerURL: p.IssuerURL, ClientID: p.ClientID, Scopes: p.Scopes, Enabled: &p.Enabled, Rules: p.Rules}
	change(&in)
	return a.SSO.UpdateProvider(ctx, access.System(), p.ID, in)
}

// idpRules replaces a provider's mapping rules, or prints them.
func idpRules(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Print a provider's mapping rules as JSON, or replace them with --set FILE; they apply from each person's next sign-in.")
	db := addDBFlags(fs)
	set := fs.String("set", "", "a JSON file of the new rules (\"-\": stdin)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	var p *sso.Provider
	if *set == "" {
		p, err = a.SSO.Provider(ctx, access.System(), fs.Arg(0))
	} else {
		var rules []sso.Rule
		if err := readJSONFile(e, *set, "set", &rules); err != nil {
			return err
		}
		p, err = idpChange(ctx, a, fs.Arg(0), func(in *sso.ProviderInput) { in.Rules = rules })
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(p.Rules)
}

// idpEnable turns a provider's sign-in button on or off.
func idpEnable(on bool) func(ctx context.Context, e env, args []string) error {
	return func(ctx context.Context, e env, args []string) error {
		about := "Show the provider's sign-in button again."
		if !on {
			about = "Remove the provider's sign-in button; its users keep their accounts and grants."
		}
		fs := newFlagSet(e, about)
		db := addDBFlags(fs)
		a, err := fs.open(ctx, db, args)
		if err != nil {
			return err
		}
		defer a.Close()
		p, err := idpChange(ctx, a, fs.Arg(0), func(in *sso.ProviderInput) { in.Enabled = &on })
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s enabled: %v\n", p.Code, p.Enabled)
		return nil
	}
}

// idpPreview prints what a provider's rules make of claims.
func idpPreview(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Show what a provider's mapping rules would give a person with the claims in --claims (a JSON object); changes nothing.")
	db := addDBFlags(fs)
	claimsFile := fs.String("claims", "-", "a JSON file of claims (\"-\": stdin)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	var claims map[string]any
	if err := readJSONFile(e, *claimsFile, "claims", &claims); err != nil {
		return err
	}
	m, err := a.SSO.Preview(ctx, access.System(), fs.Arg(0), claims)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// idpDelete removes a provider.
func idpDelete(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Delete an identity provider and take back the grants its rules gave; its users keep their Steward accounts.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.SSO.DeleteProvider(ctx, access.System(), fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %s\n", fs.Arg(0))
	return nil
}

// idpLocalPasswords allows or refuses Steward passwords: the break-glass
// switch from the server when nobody can sign in to the portal.
func idpLocalPasswords(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Allow (on) or refuse (off) sign-in with Steward passwords; global administrators keep theirs either way.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	var on bool
	switch fs.Arg(0) {
	case "on":
		on = true
	case "off":
	default:
		return usagef("%s: say on or off, not %q", e.cmd, fs.Arg(0))
	}
	if err := a.Identity.SetLocalPasswords(ctx, access.System(), on); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "local passwords: %s\n", fs.Arg(0))
	return nil
}

// idpSCIMToken makes a SCIM token for an identity provider: its sync
// account (directory_sync only) and an API token, printed once.
func idpSCIMToken(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Make the token an identity provider (NAME, such as \"Entra ID\") pushes people and groups with over SCIM, at /scim/v2; printed once.")
	db := addDBFlags(fs)
	days := fs.Int("days", 365, "how many days the token lasts (at most 366)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	nt, err := a.Identity.CreateDirectoryToken(ctx, access.System(), fs.Arg(0), time.Now().Add(time.Duration(*days)*24*time.Hour))
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stderr, "SCIM token %q expires %s; it is shown once: paste it into the identity provider's provisioning settings, with the URL …/scim/v2\n", nt.Name, nt.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(e.stdout, nt.Secret)
	return nil
}
