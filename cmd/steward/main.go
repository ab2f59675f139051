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
	"syscall"
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
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "steward:", err)
		}
		os.Exit(1)
	}
}

// env is how run reads the environment, so tests can give their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const usage = `Steward: the IT-as-a-Service broker.

Usage:
  steward serve [flags]          serve the API, portal and jobs (--demo for a demo organisation)
  steward migrate [flags]        apply database migrations and exit
  steward admin <command>        create-admin, create-user, grant, create-token
  steward audit verify [flags]   check the audit log's hash chain
  steward catalog export|import  the portfolio and catalog as YAML (import --dry-run shows the diff)
  steward billing run|export|costs|balance  bill a month; export lines; costs to date; an account's balance
  steward provider list|add|check|sync   providers where things are made; import a peer's catalog
  steward platform add           register a platform for the OSB API under /osb
  steward blueprint validate|upload|list   blueprints: how plans are made in steps
  steward sla apply|list|evaluate|outage   service level agreements, outages and compliance
  steward bench ingest|billing|osb   load-test ingest, a billing run, or the OSB endpoints (p99 latency)
  steward version                print the version

Run "steward <command> -h" for a command's flags. Every flag can also be set
with a STEWARD_* environment variable named after it (--data-dir is
STEWARD_DATA_DIR).
`

// run is the whole program; tests call it to start real Stewards.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, e, rest)
	case "migrate":
		return migrate(ctx, e, rest)
	case "admin":
		return admin(ctx, e, rest)
	case "audit":
		return auditCmd(ctx, e, rest)
	case "catalog":
		return catalogCmd(ctx, e, rest)
	case "billing":
		return billingCmd(ctx, e, rest)
	case "provider":
		return providerCmd(ctx, e, rest)
	case "platform":
		return platformCmd(ctx, e, rest)
	case "blueprint":
		return blueprintCmd(ctx, e, rest)
	case "sla":
		return slaCmd(ctx, e, rest)
	case "bench":
		return benchCmd(ctx, e, rest)
	case "version":
		fmt.Fprintln(stdout, version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
