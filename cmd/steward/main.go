// Command steward is Steward, the IT-as-a-Service broker: one binary that
// serves the API, the portal and the jobs (serve), migrates the database
// (migrate), administers users and tokens (admin) and verifies the audit
// log (audit verify).
//
// Configuration comes from flags, each with a STEWARD_* environment
// variable as its default; `steward help` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
)

func main() {
	// SIGINT or SIGTERM cancels ctx: serve shuts down gracefully, and long
	// commands (catalog import, billing run) stop at their next step. A
	// second signal ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports run's error and returns the exit status: 0 when it
// succeeded (or printed the help asked for), 2 for a command line that
// names no command, an unknown one, a bad flag or the wrong arguments, and
// 1 when the command failed.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "steward:", err)
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// usageError is a command line steward cannot run as given: it exits 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// env is how a command reads the environment, so tests can give their own,
// and which command of the tree it is.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// cmd is the command's path ("catalog import") and args its positional
	// arguments as its usage shows them ("FILE").
	cmd, args string
}

// A command is a node of the command tree: a leaf that runs, parsing its
// own flags with newFlagSet, or a group of subcommands. The tree is the
// one list of commands: run dispatches through it, and the usage texts and
// the help test are made from it.
type command struct {
	name    string
	args    string // a leaf's positional arguments as its usage shows them: "FILE", "CODE"
	summary string // one line, for its parent's list
	run     func(ctx context.Context, e env, args []string) error
	subs    []*command
}

// commands returns the command tree.
func commands() *command {
	return &command{summary: "Steward: the IT-as-a-Service broker.", subs: []*command{
		{name: "serve", summary: "serve the API, portal and jobs (--demo for a demo organisation)", run: serve},
		{name: "migrate", summary: "create the database or apply its migrations, and exit", run: migrate},
		{name: "admin", summary: "users, grants and tokens, acting as the platform (\"system\" in the audit log)", subs: []*command{
			{name: "create-admin", summary: "create a user with the admin role on the whole provider",
				run: func(ctx context.Context, e env, args []string) error { return adminCreateUser(ctx, e, args, true) }},
			{name: "create-user", summary: "create a user, optionally in an org unit",
				run: func(ctx context.Context, e env, args []string) error { return adminCreateUser(ctx, e, args, false) }},
			{name: "grant", summary: "give a user a role on the provider or an org unit", run: adminGrant},
			{name: "create-token", summary: "create an API token for a user and print it once", run: adminCreateToken},
			{name: "reset-totp", summary: "turn off a user's two-step sign-in (lost phone and codes) and end their sessions", run: adminResetTOTP},
		}},
		{name: "mail", summary: "the notification centre's mail: test the SMTP settings, read the mail log", subs: []*command{
			{name: "test", args: "EMAIL", summary: "send a test mail now through the --smtp-* settings", run: mailTest},
			{name: "log", summary: "mails sent, queued for a retry or failed, newest first (--status failed)", run: mailLog},
		}},
		{name: "audit", summary: "the audit log", subs: []*command{
			{name: "verify", summary: "check the audit log's hash chain", run: auditVerify},
		}},
		{name: "catalog", summary: "the portfolio and catalog as YAML (portfolio as code)", subs: []*command{
			{name: "export", summary: "write the portfolio and catalog as YAML", run: catalogExport},
			{name: "import", args: "FILE", summary: "apply a portfolio file; --dry-run shows the changes only", run: catalogImport},
		}},
		{name: "billing", summary: "bill a month; export lines; costs to date; an account's balance", subs: []*command{
			{name: "run", summary: "bill a month now (drafts; finalised documents never change)", run: billingRun},
			{name: "export", summary: "write billing lines as CSV or FOCUS 1.2", run: billingExport},
			{name: "costs", summary: "each account's document: costs to date, projection, amount due", run: billingCosts},
			{name: "balance", summary: "an account's credit balance and its ledger; record a refund", run: billingBalance},
		}},
		{name: "provider", summary: "providers where things are made; import a peer's catalog", subs: []*command{
			{name: "list", summary: "providers, their health and offers", run: providerList},
			{name: "add", summary: "register a provider (an OSB broker or a webhook)", run: providerAdd},
			{name: "check", args: "CODE", summary: "check a provider's health now", run: providerCheck},
			{name: "sync", args: "CODE", summary: "import an OSB provider's catalog (external offerings, +markup)", run: providerSync},
		}},
		{name: "idp", summary: "single sign-on: OpenID Connect identity providers, their mapping rules, local passwords", subs: []*command{
			{name: "list", summary: "identity providers, enabled or not, and their rules", run: idpList},
			{name: "add", summary: "register an identity provider (--rules FILE for its mapping rules)", run: idpAdd},
			{name: "rules", args: "CODE", summary: "print a provider's mapping rules, or replace them with --set FILE", run: idpRules},
			{name: "preview", args: "CODE", summary: "what the rules would give the claims in --claims FILE; changes nothing", run: idpPreview},
			{name: "enable", args: "CODE", summary: "show the provider's sign-in button", run: idpEnable(true)},
			{name: "disable", args: "CODE", summary: "remove the provider's sign-in button", run: idpEnable(false)},
			{name: "delete", args: "CODE", summary: "delete a provider and the grants its rules gave", run: idpDelete},
			{name: "local-passwords", args: "on|off", summary: "allow or refuse Steward passwords (administrators keep theirs: break glass)", run: idpLocalPasswords},
			{name: "scim-token", args: "NAME", summary: "make the token an identity provider pushes users and groups with (/scim/v2); prints it once", run: idpSCIMToken},
		}},
		{name: "webhook", summary: "outbound webhooks: subscriptions, their delivery log, redelivery (docs/events.md)", subs: []*command{
			{name: "list", summary: "webhook subscriptions, enabled or not, and why Steward disabled one", run: webhookList},
			{name: "create", summary: "subscribe a receiver (--url, --types, --org-unit); prints its secret once", run: webhookCreate},
			{name: "types", summary: "the event types a subscription may name", run: webhookTypes},
			{name: "deliveries", args: "SUBSCRIPTION", summary: "a subscription's delivery log, newest first (--state dead)", run: webhookDeliveries},
			{name: "redeliver", args: "SUBSCRIPTION DELIVERY", summary: "send a delivery again, with the same webhook-id", run: webhookRedeliver},
			{name: "rotate-secret", args: "SUBSCRIPTION", summary: "replace the signing secret; prints the new one once", run: webhookRotate},
			{name: "test", args: "SUBSCRIPTION", summary: "queue a test event (steward.webhook.test)", run: webhookTest},
			{name: "delete", args: "SUBSCRIPTION", summary: "remove a subscription and its delivery log", run: webhookDelete},
		}},
		{name: "platform", summary: "platforms that order through the OSB API under /osb", subs: []*command{
			{name: "add", summary: "register an OSB platform; prints its password once", run: platformAdd},
		}},
		{name: "blueprint", summary: "blueprints: how plans are made in steps", subs: []*command{
			{name: "validate", args: "FILE", summary: "check a blueprint; problems are printed FILE:LINE: field: message", run: blueprintValidate},
			{name: "upload", args: "FILE", summary: "store it as the next version of its code", run: blueprintUpload},
			{name: "list", summary: "blueprints, their latest version and the plans they make", run: blueprintList},
		}},
		{name: "sla", summary: "service level agreements, outages and compliance", subs: []*command{
			{name: "apply", args: "FILE", summary: "define or replace the agreement in FILE (YAML, as docs/examples/woodgrove-desktop-sla.yaml)", run: slaApply},
			{name: "list", summary: "agreements and how each stands now", run: slaList},
			{name: "evaluate", summary: "measure every active agreement now (the server does it every minute)", run: slaEvaluate},
			{name: "review", args: "CODE", summary: "an agreement's service review: each target over a period and its own windows", run: slaReview},
			{name: "outage", summary: "record an outage", run: slaOutage},
		}},
		{name: "ticket", summary: "the service desk: raise, list, show and work tickets (--as a person)", subs: ticketCommands()},
		{name: "change", summary: "change management: the change calendar, the CAB agenda and its decisions (--as a person)", subs: changeCommands()},
		{name: "article", summary: "the service desk's knowledge base: list, show, write and publish articles", subs: articleCommands()},
		{name: "bench", summary: "load benchmarks on a fresh Steward (docs/benchmarks.md)", subs: []*command{
			{name: "ingest", summary: "the CloudEvents ingest endpoint: events/s and latency", run: benchIngest},
			{name: "billing", summary: "a billing run for many accounts: invoices/s", run: benchBilling},
			{name: "osb", summary: "the OSB endpoints: requests/s and p99 latency", run: benchOSB},
			{name: "sla", summary: "a compliance pass over many agreements", run: benchSLA},
			{name: "lists", summary: "first and deep pages of the big lists: p99 latency", run: benchLists},
			{name: "catalog", summary: "a large catalog: load, search, one offering, the portal's page, RSS", run: benchCatalog},
			{name: "notify", summary: "a burst of mailed notifications from a billing run: delivery time, duplicates", run: benchNotify},
			{name: "desk", summary: "the service desk at size: an agent's queue, the service suggestion, raising tickets", run: benchDesk},
		}},
		{name: "version", summary: "print the version and the commit it was built from", run: versionCmd},
	}}
}

// run is the whole program; tests call it to start real Stewards. Help
// asked for (-h, --help, help) is printed to stdout and is no error.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, commands(), nil, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// dispatch runs the command that args name under c, whose path is path.
// In a group, -h, --help or help prints the group's usage, and
// "help SUB …" is "SUB … -h".
func dispatch(ctx context.Context, e env, c *command, path []string, args []string) error {
	if c.run != nil {
		e.cmd, e.args = strings.Join(path, " "), c.args
		return c.run(ctx, e, args)
	}
	where := strings.Join(append([]string{"steward"}, path...), " ")
	prefix := "" // what errors start with after "steward: "
	if len(path) > 0 {
		prefix = strings.Join(path, " ") + ": "
	}
	if len(args) == 0 {
		c.usage(e.stderr, path)
		return usagef("%sname a command: %s", prefix, c.names())
	}
	switch args[0] {
	case "-h", "-help", "--help":
		c.usage(e.stdout, path)
		return flag.ErrHelp
	case "help":
		return dispatch(ctx, e, c, path, append(args[1:len(args):len(args)], "-h"))
	}
	if strings.HasPrefix(args[0], "-") {
		return usagef("%s%s comes before the command: name the command first, then its flags, as %s <command> [flags] (the commands are %s)",
			prefix, args[0], where, c.names())
	}
	for _, sub := range c.subs {
		if sub.name == args[0] {
			return dispatch(ctx, e, sub, append(path[:len(path):len(path)], sub.name), args[1:])
		}
	}
	return usagef("%sunknown command %q: the commands are %s (run \"%s -h\")", prefix, args[0], c.names(), where)
}

// names lists a group's commands.
func (c *command) names() string {
	var n []string
	for _, s := range c.subs {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

// usage prints a group's usage: its commands, each with its summary.
func (c *command) usage(w io.Writer, path []string) {
	where := strings.Join(append([]string{"steward"}, path...), " ")
	var b strings.Builder
	if len(path) == 0 {
		fmt.Fprintf(&b, "%s\n\nUsage: steward <command> [flags]\n\nCommands:\n", c.summary)
	} else {
		fmt.Fprintf(&b, "Usage: %s <command> [flags]\n\n%s.\n\nCommands:\n", where, upperFirst(c.summary))
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range c.subs {
		synopsis := strings.TrimSpace(s.name + " " + s.args)
		if len(path) == 0 && s.subs != nil {
			var n []string
			for _, ss := range s.subs {
				n = append(n, ss.name)
			}
			if synopsis = s.name + " " + strings.Join(n, "|"); len(synopsis) > 40 {
				synopsis = s.name + " <command>"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", synopsis, s.summary)
	}
	if len(path) == 0 {
		fmt.Fprintf(tw, "  help [command]\t%s\n", "a command's usage and flags, as steward <command> -h")
	}
	tw.Flush()
	if len(path) == 0 {
		b.WriteString(rootFooter)
	} else {
		fmt.Fprintf(&b, "\nRun \"%s <command> -h\" for a command's usage and flags.\n", where)
	}
	io.WriteString(w, b.String())
}

const rootFooter = `
Run "steward <command> -h" (or "steward help <command>") for a command's
usage and flags. Flags may come before or after a command's arguments.
Every flag that names a STEWARD_* variable can be set with it instead
(--data-dir is STEWARD_DATA_DIR). Only serve and migrate create a
database; the other commands need one.
`

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// versionCmd prints the version and the commit steward was built from.
func versionCmd(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Print steward's version, the commit it was built from and the Go version.")
	if err := fs.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, version())
	return nil
}
