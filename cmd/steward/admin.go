package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
)

// readPassword takes the password from the first line of stdin, or makes
// one up; it never comes from a flag, which would leave it in shell history.
func readPassword(e env, fromStdin bool) (string, bool, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", false, fmt.Errorf("read the password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b), true, nil
}

func orgUnitByCode(ctx context.Context, a *app.App, code string) (string, error) {
	if code == "" {
		return "", nil
	}
	units, err := a.Identity.OrgUnits(ctx, access.System())
	if err != nil {
		return "", err
	}
	for _, u := range units {
		if strings.EqualFold(u.Code, code) {
			return u.ID, nil
		}
	}
	return "", errs.Invalid("there is no org unit with the code %q", code)
}

func adminCreateUser(ctx context.Context, e env, args []string, asAdmin bool) error {
	fs := newFlagSet(e, "Create a user. Without --password-stdin a password is generated and printed once.")
	db := addDBFlags(fs)
	email := fs.String("email", "", "the user's email (required)")
	fullName := fs.String("name", "", "the user's name (required)")
	unit := fs.String("org-unit", "", "code of the user's home org unit")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	pw, generated, err := readPassword(e, *pwStdin)
	if err != nil {
		return err
	}
	unitID, err := orgUnitByCode(ctx, a, *unit)
	if err != nil {
		return err
	}
	in := identity.CreateUserInput{Email: *email, Name: *fullName, OrgUnitID: unitID, Password: pw}
	var u *identity.User
	if asAdmin {
		u, err = a.Identity.CreateAdmin(ctx, access.System(), in)
	} else {
		u, err = a.Identity.CreateUser(ctx, access.System(), in)
	}
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "created %s (%s)\n", u.Email, u.ID)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n(shown once; the user can change it in the portal)\n", pw)
	}
	return nil
}

func adminGrant(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Give a user, or a group's members, a role on the whole provider or on an org unit subtree.")
	db := addDBFlags(fs)
	email := fs.String("email", "", "the user's email (this or --group)")
	group := fs.String("group", "", "the name of the group whose members hold the role while they are members (this or --email)")
	role := fs.String("role", "", "the role, one of: "+roleNames())
	unit := fs.String("org-unit", "", "code of the org unit the role covers; empty for the whole provider")
	if err := fs.parse(args); err != nil {
		return err
	}
	if (*email == "") == (*group == "") {
		return usagef("%s: give --email or --group (run \"steward %s -h\" for its flags)", e.cmd, e.cmd)
	}
	a, err := openApp(ctx, e, db)
	if err != nil {
		return err
	}
	defer a.Close()
	in := identity.CreateGrantInput{Role: access.Role(*role), ScopeKind: access.ScopeGlobal}
	holder := *email
	if *email != "" {
		u, err := a.Identity.UserByEmail(ctx, access.System(), *email)
		if err != nil {
			return describe(err)
		}
		in.UserID, holder = u.ID, u.Email
	} else {
		gs, err := a.Identity.Groups(ctx, access.System())
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.Name == *group {
				in.GroupID, holder = g.ID, "the members of "+g.Name
			}
		}
		if in.GroupID == "" {
			return fmt.Errorf("there is no group named %q (steward lists groups at GET /api/v1/groups and /admin/groups)", *group)
		}
	}
	if *unit != "" {
		if in.ScopeID, err = orgUnitByCode(ctx, a, *unit); err != nil {
			return err
		}
		in.ScopeKind = access.ScopeOrgUnit
	}
	g, err := a.Identity.CreateGrant(ctx, access.System(), in)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "granted %s to %s on %s\n", g.Role, holder, g.ScopeName)
	return nil
}

func adminCreateToken(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Create an API token for a user and print its secret once.")
	db := addDBFlags(fs)
	email := fs.String("email", "", "the token owner's email (required)")
	name := fs.String("name", "", "what the token is for (required)")
	days := fs.Int("days", 90, "days until the token expires (at most 366)")
	roles := fs.String("roles", "", "comma-separated roles to limit the token to; empty means all the owner's roles")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, u, err := openForUser(ctx, e, db, *email)
	if err != nil {
		return err
	}
	defer a.Close()
	in := identity.CreateTokenInput{UserID: u.ID, Name: *name, ExpiresAt: time.Now().Add(time.Duration(*days) * 24 * time.Hour)}
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			in.Roles = append(in.Roles, access.Role(r))
		}
	}
	t, err := a.Identity.CreateToken(ctx, access.System(), in)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stderr, "token %q for %s expires %s; it is shown once:\n", t.Name, u.Email, t.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(e.stdout, t.Secret)
	return nil
}

func adminResetTOTP(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Turn off a user's two-step sign-in, for someone who lost their phone and their recovery codes, and end their sessions. They sign in with their password alone until they set it up again on their account page.")
	db := addDBFlags(fs)
	email := fs.String("email", "", "the user's email (required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, u, err := openForUser(ctx, e, db, *email)
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.Identity.TOTPStatus(ctx, access.System(), u.ID)
	if err != nil {
		return describe(err)
	}
	if err := a.Identity.ResetTOTP(ctx, access.System(), u.ID); err != nil {
		return describe(err)
	}
	if st.Enabled || st.Pending {
		fmt.Fprintf(e.stdout, "two-step sign-in of %s reset; their sessions have ended\n", u.Email)
	} else {
		fmt.Fprintf(e.stdout, "%s had no two-step sign-in; their sessions have ended\n", u.Email)
	}
	return nil
}

// openForUser opens Steward and finds the user a command acts on.
func openForUser(ctx context.Context, e env, db dbFlags, email string) (*app.App, *identity.User, error) {
	a, err := openApp(ctx, e, db)
	if err != nil {
		return nil, nil, err
	}
	u, err := a.Identity.UserByEmail(ctx, access.System(), email)
	if err != nil {
		a.Close()
		return nil, nil, describe(err)
	}
	return a, u, nil
}

func roleNames() string {
	var names []string
	for _, r := range access.Roles {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// describe spells out an error's field errors for the terminal.
func describe(err error) error {
	e := errs.As(err)
	if e.Code == errs.CodeInternal {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += "\n  " + f.String()
	}
	return errors.New(msg)
}
