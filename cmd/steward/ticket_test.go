package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestTicketCommands works a ticket from the command line (issue 20): Dana
// raises it, Alex finds it in his queue, takes it, asks her a question
// (on hold), she answers, he escalates and resolves it, she rates it;
// each command acts as --as, and what it may not do it is told why.
func TestTicketCommands(t *testing.T) {
	must, refuse := demoCLI(t)
	refuse("--as EMAIL", "ticket", "raise", "--service", "desktop", "--summary", "no one")
	out := must("for Service Desk", "ticket", "raise", "--as", "dana@contoso.example", "--service", "desktop", "--summary", "VPN drops every few minutes",
		"--description", "Since Monday, on the store Wi-Fi.", "--urgency", "1")
	ref := regexp.MustCompile(`INC-\d+`).FindString(out)
	must(ref, "ticket", "list", "--view", "queue", "--state", "open", "--as", "alex@it.contoso.example")
	refuse("another team's queue", "ticket", "take", ref, "--as", "dana@contoso.example")
	// Named by a configuration item alone: Exchange brings the email service.
	ex := regexp.MustCompile(`INC-\d+`).FindString(must("raised INC-", "ticket", "raise", "--as", "dana@contoso.example", "--ci", "exchange",
		"--summary", "Outlook cannot reach the server"))
	must("config item  Exchange", "ticket", "show", ex, "--as", "dana@contoso.example")
	refuse("config_item", "ticket", "raise", "--as", "dana@contoso.example", "--service", "desktop", "--ci", "exchange", "--summary", "Mixed up")
	// Files: a log attaches; a page of HTML is refused, naming the types taken.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vpn.log"), []byte("09:12 tunnel down\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "vpn.html"), []byte("<html><body>x</body></html>"), 0o600)
	must("attached vpn.log (18 bytes, text/plain; charset=utf-8) to "+ref, "ticket", "attach", ref, filepath.Join(dir, "vpn.log"), "--as", "dana@contoso.example")
	refuse("are not taken", "ticket", "attach", ref, filepath.Join(dir, "vpn.html"), "--as", "dana@contoso.example")
	// A problem behind it, recorded as a known error and linked; a cycle of parents refused.
	prb := regexp.MustCompile(`PRB-\d+`).FindString(must("raised PRB-", "ticket", "raise", "--as", "alex@it.contoso.example", "--kind", "problem", "--service", "email",
		"--org-unit", "RETAIL", "--summary", "VPN client drops on the store Wi-Fi"))
	refuse("documents its root cause or its workaround", "ticket", "problem", prb, "--known-error", "--as", "alex@it.contoso.example")
	must(prb+" is new", "ticket", "problem", prb, "--workaround", "Use the Compatibility VPN profile", "--known-error", "--as", "alex@it.contoso.example")
	must(prb, "ticket", "list", "--known-error")
	must(prb+" is new", "ticket", "link", prb, "--incident", ref, "--as", "alex@it.contoso.example")
	refuse("not its own parent", "ticket", "parent", ref, "--parent", ref, "--as", "alex@it.contoso.example")
	must("is assigned, with Alex Agent", "ticket", "take", ref, "--as", "alex@it.contoso.example")
	must("is on_hold", "ticket", "move", ref, "--as", "alex@it.contoso.example", "--to", "on_hold", "--hold-reason", "customer", "--note", "Which VPN client?")
	must("is in_progress", "ticket", "comment", ref, "--as", "dana@contoso.example", "--body", "GlobalProtect 6")
	must("with Network Operations (tier 2)", "ticket", "assign", ref, "--as", "alex@it.contoso.example", "--group", "Network Operations", "--tier", "2",
		"--note", "The VPN concentrator")
	refuse("resolution is required", "ticket", "move", ref, "--as", "alex@it.contoso.example", "--to", "resolved")
	must("is resolved", "ticket", "move", ref, "--as", "alex@it.contoso.example", "--to", "resolved", "--resolution", "Replaced the VPN profile")
	refuse("only the person who raised", "ticket", "rate", ref, "--as", "alex@it.contoso.example", "--rating", "5")
	must("is resolved", "ticket", "rate", ref, "--as", "dana@contoso.example", "--rating", "4", "--comment", "Took a while")
	show := must("Replaced the VPN profile", "ticket", "show", ref, "--as", "dana@contoso.example")
	for _, want := range []string{"Which VPN client?", "GlobalProtect 6", "rating      4 of 5", "requester   Dana Consumer"} {
		if !strings.Contains(show, want) {
			t.Errorf("ticket show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "concentrator") {
		t.Errorf("Dana's ticket show holds the work note:\n%s", show)
	}
	if full := must("The VPN concentrator", "ticket", "show", ref, "--as", "alex@it.contoso.example"); !strings.Contains(full, "(work note)") {
		t.Errorf("Alex's ticket show does not mark the work note:\n%s", full)
	}
	refuse("not found", "ticket", "show", ref, "--as", "sam@it.contoso.example")
	month := time.Now().UTC().Format("2006-01")
	next := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01")
	if rep := must("desktop", "ticket", "report", "--from", month, "--to", next); !strings.Contains(rep, "RAISED") {
		t.Errorf("ticket report:\n%s", rep)
	}
	must("desktop,Desktop computing,1,1,0", "ticket", "report", "--from", month, "--to", next, "--csv")

	// A request for change to the (mission-critical) desktop service goes
	// to the CAB; Chen finds it on the agenda and approves it; it is on
	// the calendar.
	day := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
	refuse("change.backout_plan", "ticket", "raise", "--as", "alex@it.contoso.example", "--kind", "change", "--service", "desktop", "--org-unit", "RETAIL",
		"--summary", "Replace the 3rd floor printer", "--plan", "Swap it.", "--start", day+"T10:00:00Z", "--end", day+"T11:00:00Z")
	out = must("waits for a change manager", "ticket", "raise", "--as", "alex@it.contoso.example", "--kind", "change", "--service", "desktop", "--org-unit", "RETAIL",
		"--summary", "Replace the 3rd floor printer", "--plan", "Swap it.", "--backout-plan", "Swap it back.", "--start", day+"T10:00:00Z", "--end", day+"T11:00:00Z")
	chg := regexp.MustCompile(`CHG-\d+`).FindString(out)
	agenda := must(chg, "change", "cab", "--as", "chen@it.contoso.example")
	approval := regexp.MustCompile(`change decide (\S+)`).FindStringSubmatch(agenda)
	if approval == nil {
		t.Fatalf("the CAB agenda offers Chen no decision:\n%s", agenda)
	}
	refuse("say --approve or --reject", "change", "decide", approval[1], "--as", "chen@it.contoso.example")
	refuse("someone else decides it", "change", "decide", approval[1], "--approve", "--as", "alex@it.contoso.example")
	must(chg+" is approved", "change", "decide", approval[1], "--approve", "--comment", "Go", "--as", "chen@it.contoso.example")
	if cal := must(chg, "change", "calendar", "--from", day, "--days", "1"); !strings.Contains(cal, "approved") {
		t.Errorf("change calendar:\n%s", cal)
	}
	must("approval    approved", "ticket", "show", chg, "--as", "alex@it.contoso.example")
	// Not needed after all: Alex withdraws it, with a reason.
	refuse("reason", "change", "withdraw", chg, "--as", "alex@it.contoso.example")
	refuse("not found", "change", "withdraw", chg, "--reason", "mine", "--as", "dana@contoso.example")
	must(chg+" is withdrawn (closed)", "change", "withdraw", chg, "--reason", "The printer is retired instead.", "--as", "alex@it.contoso.example")
	if cal := must("", "change", "calendar", "--from", day, "--days", "1"); strings.Contains(cal, chg) {
		t.Errorf("the withdrawn change is on the calendar:\n%s", cal)
	}

	// Dana asks IT for a mailbox outside the catalog, then orders it from
	// the catalog: the request waits for the order (docs/service-desk.md).
	req := regexp.MustCompile(`REQ-\d+`).FindString(must("raised REQ-", "ticket", "raise", "--as", "dana@contoso.example", "--kind", "request", "--service", "email",
		"--summary", "A mailbox for our new starter"))
	refuse("--parameters is a JSON object", "ticket", "order", req, "--offering", "mailbox", "--plan", "standard", "--parameters", "[1]", "--as", "dana@contoso.example")
	refuse("only service requests", "ticket", "order", ref, "--offering", "mailbox", "--plan", "standard", "--as", "dana@contoso.example")
	out = must(req+" is new: ordered as ORD-", "ticket", "order", req, "--offering", "mailbox", "--plan", "standard", "--note", "For Jo", "--as", "dana@contoso.example")
	ord := regexp.MustCompile(`ORD-\d+`).FindString(out)
	// Manufacturing's email tickets go to the Network Operations group, and
	// back to the service's group.
	refuse("service.manage", "ticket", "route", "--service", "email", "--org-unit", "MFG", "--group", "Network Operations", "--as", "dana@contoso.example")
	refuse("--remove instead of --group", "ticket", "route", "--service", "email", "--org-unit", "MFG", "--as", "admin@it.contoso.example")
	must("Email and calendar's tickets of Manufacturing go to Network Operations", "ticket", "route", "--service", "email", "--org-unit", "MFG",
		"--group", "Network Operations", "--as", "admin@it.contoso.example")
	must("Manufacturing (MFG)  Network Operations", "ticket", "routes", "--service", "email")
	must("go to the service's group again", "ticket", "route", "--service", "email", "--org-unit", "MFG", "--remove", "--as", "admin@it.contoso.example")
	if out := must("ORG UNIT", "ticket", "routes", "--service", "email"); strings.Contains(out, "Manufacturing") {
		t.Errorf("the route stays after its removal:\n%s", out)
	}
	if show := must("ordered as", "ticket", "show", req, "--as", "dana@contoso.example"); !strings.Contains(show, "ordered as  "+ord) {
		t.Errorf("ticket show does not name the order:\n%s", show)
	}
}

// demoCLI seeds a demo into a fresh database and answers two runners of
// the CLI against it: must (the command succeeds and prints want) and
// refuse (it fails and says want).
func demoCLI(t *testing.T) (must func(want string, args ...string) string, refuse func(want string, args ...string)) {
	t.Helper()
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	a, err := app.New(ctx, app.Config{Database: cfg, Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"STEWARD_DATA_DIR": cfg.DataDir, "STEWARD_DATABASE": cfg.URL}
	if cfg.URL != "" {
		vars["STEWARD_SECRET_KEY"] = testKey
	}
	getenv := func(k string) string { return vars[k] }
	must = func(want string, args ...string) string {
		t.Helper()
		out, err := cli(t, getenv, "", args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("steward %s: %v\n%s\nwant %q", strings.Join(args, " "), err, out, want)
		}
		return out
	}
	refuse = func(want string, args ...string) {
		t.Helper()
		out, err := cli(t, getenv, "", args...)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("steward %s: %v\n%s\nwant it refused with %q", strings.Join(args, " "), err, out, want)
		}
	}
	return must, refuse
}
