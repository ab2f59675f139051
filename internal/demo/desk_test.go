package demo_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestDeskHistory seeds the demo with its service desk history and checks
// its shape: hundreds of tickets of every kind and state over months,
// about live services, worked, rated, reopened and reclassified, with a
// backlog of which some are past due; seeding again adds nothing.
func TestDeskHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA, DB: a.DB}
	start := time.Now()
	if created, err := demo.Seed(ctx, s); err != nil || !created {
		t.Fatalf("seed: %v %v", created, err)
	}
	if err := demo.SeedDesk(ctx, s); err != nil {
		t.Fatalf("the desk's history: %v", err)
	}
	t.Logf("the demo with its desk history seeded in %s", time.Since(start).Round(time.Millisecond))
	now := time.Now()

	var tickets []*desk.Ticket
	for pg := (sqldb.Page{Limit: sqldb.MaxLimit}); ; {
		page, err := a.Desk.Tickets(ctx, access.System(), desk.Filter{Page: pg})
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, page.Items...)
		if page.Next == "" {
			break
		}
		pg.Cursor = page.Next
	}
	kinds, states, services := map[desk.Kind]int{}, map[desk.State]int{}, map[string]int{}
	var open, pastDue, rated, low, reopened, resolved, children int
	descriptions := map[string]bool{}
	oldest := now
	for _, tk := range tickets {
		kinds[tk.Kind]++
		states[tk.State]++
		services[tk.Service.Code]++
		descriptions[tk.Description] = true
		if tk.OpenedAt.Before(oldest) {
			oldest = tk.OpenedAt
		}
		if tk.OpenedAt.After(now) || (tk.ResolvedAt != nil && tk.ResolvedAt.After(now)) {
			t.Errorf("%s is in the future: opened %s", tk.Reference, tk.OpenedAt)
		}
		if tk.State.Open() {
			open++
			if tk.State != desk.StateOnHold && tk.ResolveBy != nil && tk.ResolveBy.Before(now) {
				pastDue++
			}
		} else {
			resolved++
			if tk.Resolution == "" {
				t.Errorf("%s is %s without a resolution", tk.Reference, tk.State)
			}
		}
		if tk.Rating != nil {
			rated++
			if *tk.Rating <= 3 {
				low++
			}
		}
		if tk.Reopened > 0 {
			reopened++
		}
		if tk.ParentID != "" {
			children++
		}
		svc, err := a.Catalog.Service(ctx, access.System(), tk.Service.ID)
		if err != nil {
			t.Fatal(err)
		}
		if l := string(svc.Lifecycle); l != "live" && l != "retiring" {
			t.Errorf("%s is about %s, which is %s", tk.Reference, svc.Code, l)
		}
	}
	t.Logf("%d tickets since %s: kinds %v, states %v, services %v; %d open (%d past due), %d rated (%d at 3 or less), %d reopened",
		len(tickets), oldest.Format(time.DateOnly), kinds, states, services, open, pastDue, rated, low, reopened)

	check := func(ok bool, format string, args ...any) {
		t.Helper()
		if !ok {
			t.Errorf(format, args...)
		}
	}
	check(len(tickets) >= 300 && len(tickets) <= 500, "%d tickets, want 300 to 500", len(tickets))
	check(now.Sub(oldest) > 150*24*time.Hour, "the history starts %s, want months back", oldest)
	check(kinds[desk.Incident] > kinds[desk.Request] && kinds[desk.Request] >= 50 && kinds[desk.Problem] >= 4, "kinds %v", kinds)
	for _, st := range desk.States {
		check(states[st] > 0, "no ticket is %s: %v", st, states)
	}
	check(states[desk.StateResolved]+states[desk.StateClosed] > len(tickets)*4/5, "%d of %d resolved or closed", states[desk.StateResolved]+states[desk.StateClosed], len(tickets))
	check(open >= 10 && open <= 45, "%d open tickets, want a backlog of a dozen or a few dozen", open)
	check(pastDue >= 2, "%d open tickets past their due time", pastDue)
	check(rated*4 >= resolved && low >= 5, "%d of %d resolved tickets rated, %d at 3 or less", rated, resolved, low)
	check(reopened >= 3, "%d reopened", reopened)
	check(children >= 3, "%d children of a major incident", children)
	check(len(descriptions)*10 >= len(tickets)*9, "%d different descriptions for %d tickets", len(descriptions), len(tickets))
	for _, code := range []string{"desktop", "email", "directory", "network", "file-shares", "crm-saas", "private-cloud", "database", "object-storage", "storage"} {
		check(services[code] >= 5, "%d tickets about %s", services[code], code)
	}

	// The CAB's week: changes waiting for it, on the calendar with their
	// conflicts (the freeze, an overlap on the map), a rejected one, an
	// emergency done yesterday, standard changes from templates.
	chen, err := a.Identity.UserByEmail(ctx, access.System(), "chen@it.contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	chenP, err := a.Identity.Principal(ctx, chen.ID)
	if err != nil {
		t.Fatal(err)
	}
	agendaPage, err := a.Desk.Agenda(ctx, chenP, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	agenda := agendaPage.Items
	mine := 0
	for _, it := range agenda {
		if it.Yours != nil {
			mine++
		}
	}
	check(len(agenda) >= 3 && mine >= 2, "the CAB agenda holds %d changes, %d for Chen; want a CAB's week", len(agenda), mine)
	cal, err := a.Desk.Calendar(ctx, chenP, now.Add(-48*time.Hour), now.Add(8*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	conflicts := map[string]int{}
	approvals := map[string]int{}
	for _, c := range cal.Changes {
		approvals[c.Change.Approval]++
		for _, x := range c.Change.Conflicts {
			conflicts[x.Kind]++
		}
	}
	check(len(cal.Changes) >= 6 && approvals["approved"] >= 3 && approvals["pending"] >= 3, "the calendar: %d changes, %v", len(cal.Changes), approvals)
	check(conflicts["freeze"] >= 1 && conflicts["overlap"] >= 2 && len(cal.Freezes) == 1, "the calendar's conflicts %v, freezes %d", conflicts, len(cal.Freezes))
	check(kinds[desk.Change] >= 8, "%d changes", kinds[desk.Change])

	// Reclassified: moved by an agent from the service it was raised
	// against; work notes and customer-visible comments.
	q := a.DB.Read()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		return n
	}
	check(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.classify'`) >= 5, "fewer than 5 reclassifications")
	// Known errors, with their incidents linked (issue 20).
	check(count(`SELECT COUNT(*) FROM tickets WHERE kind = 'problem' AND known_error = TRUE AND workaround <> '' AND root_cause <> ''`) >= 3, "fewer than 3 known errors")
	check(count(`SELECT COUNT(*) FROM tickets WHERE problem_id IS NOT NULL`) >= 10, "fewer than 10 incidents linked to a problem")
	check(count(`SELECT COUNT(*) FROM ticket_comments WHERE internal = TRUE`) >= 50, "few work notes")
	check(count(`SELECT COUNT(*) FROM ticket_comments WHERE internal = FALSE`) >= 100, "few customer-visible comments")
	check(count(`SELECT COUNT(*) FROM ticket_holds WHERE reason = 'customer'`) >= 30, "few holds awaiting the customer")
	check(count(`SELECT COUNT(*) FROM tickets WHERE first_contact = TRUE`) >= 5, "few first-contact resolutions")
	check(count(`SELECT COUNT(*) FROM tickets t JOIN users u ON u.id = t.requester_id WHERE u.email = 'dana@contoso.example'`) >= 15, "Dana raised few tickets")
	check(count(`SELECT COUNT(*) FROM tickets WHERE assignee_id = (SELECT id FROM users WHERE email = 'alex@it.contoso.example') AND state NOT IN ('resolved', 'closed')`) >= 3,
		"Alex has few open tickets")

	// The texts vary: typos, lower case, many phrasings per service.
	var lower int
	for _, tk := range tickets {
		if tk.Summary != "" && strings.ToLower(tk.Summary[:1]) == tk.Summary[:1] {
			lower++
		}
	}
	check(lower >= 30, "%d summaries in lower case", lower)

	if created, err := demo.Seed(ctx, s); err != nil || created {
		t.Fatalf("second seed: %v %v", created, err)
	}
	if err := demo.SeedDesk(ctx, s); err != nil {
		t.Fatalf("the desk's history again: %v", err)
	}
	if n := count(`SELECT COUNT(*) FROM tickets WHERE requester_id IS NOT NULL`); n != len(tickets) {
		t.Errorf("after a second seed %d tickets, want %d", n, len(tickets))
	}
}
