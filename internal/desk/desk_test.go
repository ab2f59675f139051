package desk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

type fixture struct {
	t   *testing.T
	ctx context.Context
	a   *app.App
	now time.Time
	mu  sync.Mutex
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, ctx: context.Background(), now: at("2026-11-16T10:00:00Z")} // a Monday
	a, err := app.New(f.ctx, app.Config{Database: sqldbtest.Config(t), Now: f.clock,
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	f.a = a
	if _, err := demo.Seed(f.ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) set(s string) {
	f.mu.Lock()
	f.now = at(s)
	f.mu.Unlock()
}

func (f *fixture) as(email string) *access.Principal {
	f.t.Helper()
	u, err := f.a.Identity.UserByEmail(f.ctx, access.System(), email)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.a.Identity.Principal(f.ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// person adds a user with a role on an org unit (code) or everywhere
// (""), in the assignment group named (if any).
func (f *fixture) person(email string, role access.Role, orgUnit, group string) *access.Principal {
	f.t.Helper()
	sys := access.System()
	in := identity.CreateUserInput{Email: email, Name: email, Password: "correct horse battery staple"}
	g := identity.CreateGrantInput{Role: role, ScopeKind: access.ScopeGlobal}
	if orgUnit != "" {
		var id string
		if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT id FROM org_units WHERE code = $1`, orgUnit).Scan(&id); err != nil {
			f.t.Fatal(err)
		}
		in.OrgUnitID, g.ScopeKind, g.ScopeID = id, access.ScopeOrgUnit, id
	}
	u, err := f.a.Identity.CreateUser(f.ctx, sys, in)
	if err != nil {
		f.t.Fatal(err)
	}
	g.UserID = u.ID
	if _, err := f.a.Identity.CreateGrant(f.ctx, sys, g); err != nil {
		f.t.Fatal(err)
	}
	if group != "" {
		gs, err := f.a.Identity.Groups(f.ctx, sys)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, x := range gs {
			if x.Name == group {
				if _, err := f.a.Identity.SetMember(f.ctx, sys, x.ID, u.ID, true); err != nil {
					f.t.Fatal(err)
				}
			}
		}
	}
	return f.as(email)
}

func wantCode(t *testing.T, err error, code errs.Code, what string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// must(f())(t) is f's result, failing the test on f's error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// businessHours is Retail's desktop SLA: weekdays 09:00–17:00 UTC, P3
// incidents responded to within an hour and resolved within eight
// service hours, 90 % of them.
func (f *fixture) businessHours() {
	f.t.Helper()
	month := sla.Window{Kind: sla.Month}
	in := sla.AgreementInput{Code: "desktop-retail", Name: "Desktop for Retail", Kind: sla.SLA, State: sla.Active, Provider: "Contoso IT",
		Customer: "Retail", Currency: "EUR", EffectiveFrom: "2026-01-01", Services: []string{"desktop"}, OrgUnits: []string{"RETAIL"},
		Calendar: catalog.Calendar{TimeZone: "UTC", Weekly: catalog.Weekly(catalog.Weekdays[:5], "09:00", "17:00")},
		Targets: []sla.Target{
			{Code: "respond-p3", Kind: sla.Response, Priority: 3, WithinMinutes: 60, Objective: "90", Window: month},
			{Code: "resolve-p3", Kind: sla.Resolution, Priority: 3, WithinMinutes: 480, Objective: "90", Window: month},
		}}
	if _, _, err := f.a.SLA.SaveAgreement(f.ctx, f.as("lena@it.contoso.example"), in); err != nil {
		f.t.Fatal(err)
	}
}

// TestTicketLifecycle follows an incident from a consumer's words to her
// rating: routed to the service's group by the priority matrix, taken by
// one of two agents racing for it, its clock standing still while it
// waits for her, resolved, rated, and measured by the SLA's resolution
// target in the agreement's service hours (issue 20).
func TestTicketLifecycle(t *testing.T) {
	f := newFixture(t)
	f.businessHours()
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	bo := f.person("bo@it.contoso.example", access.RoleAgent, "", "Service Desk")
	mia := f.person("mia@contoso.example", access.RoleConsumer, "MFG", "")

	tk := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: "My laptop can't print to the 3rd floor printer",
		Description: "Since this morning every print job stays in the queue."}))(t).Ticket
	if tk.Kind != desk.Incident || tk.State != desk.StateNew || tk.Priority != 3 || tk.Group == nil || tk.Group.Name != "Service Desk" || tk.Tier != 1 {
		t.Fatalf("raised %+v, want a new P3 incident in the Service Desk's queue at tier 1", tk)
	}
	if tk.OrgUnit == nil || tk.OrgUnit.Code != "CC-4100" || tk.Requester == nil || tk.Requester.ID != dana.UserID {
		t.Fatalf("org unit %v requester %v, want Dana's cost centre and Dana", tk.OrgUnit, tk.Requester)
	}
	// Due in the SLA's hours: an hour to respond, eight to resolve (Monday
	// 10:00–17:00 and Tuesday 09:00–10:00).
	if got, want := *tk.RespondBy, at("2026-11-16T11:00:00Z"); !got.Equal(want) {
		t.Errorf("respond by %s, want %s", got, want)
	}
	if got, want := *tk.ResolveBy, at("2026-11-17T10:00:00Z"); !got.Equal(want) {
		t.Errorf("resolve by %s, want %s", got, want)
	}
	// A problem has no target: nothing makes it due, and it sorts last.
	prb := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Problem, Service: "desktop", OrgUnit: "RETAIL", Summary: "Print spooler hangs on the 2026 image"}))(t)
	if prb.ResolveBy.Year() != 9999 || prb.RespondBy != nil {
		t.Errorf("a problem is due %v / %v, want never", prb.RespondBy, prb.ResolveBy)
	}
	// Impact × urgency through the matrix.
	p1 := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: "Nobody in the store can sign in", Impact: 1, Urgency: 1}))(t)
	if p1.Priority != 1 {
		t.Errorf("high impact and urgency gave P%d, want P1", p1.Priority)
	}

	// Manufacturing's incident on the same service: Retail's SLA does not
	// count it (it is resolved late by Retail's hours, below).
	mfgTk := must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "desktop", Summary: "The plant's label printer is offline"}))(t)

	// Nobody outside reads it: another org unit's consumer, and a service
	// manager of Manufacturing, are told it does not exist.
	_, err := f.a.Desk.Ticket(f.ctx, mia, tk.Reference)
	wantCode(t, err, errs.CodeNotFound, "another org unit's consumer reading the ticket")
	_, err = f.a.Desk.Ticket(f.ctx, f.as("sam@it.contoso.example"), tk.Reference)
	wantCode(t, err, errs.CodeNotFound, "Manufacturing's service manager reading Retail's ticket")
	_, err = f.a.Desk.Comment(f.ctx, mia, tk.Reference, desk.CommentInput{Body: "me too"})
	wantCode(t, err, errs.CodeNotFound, "another org unit's consumer commenting")
	// Nor does a consumer work it.
	_, err = f.a.Desk.Take(f.ctx, dana, tk.Reference)
	wantCode(t, err, errs.CodeForbidden, "the requester taking her own ticket")
	_, err = f.a.Desk.Move(f.ctx, dana, tk.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "fixed it myself"})
	wantCode(t, err, errs.CodeForbidden, "the requester resolving")

	// Two agents take it at once: one wins, the other is told who has it.
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, p := range []*access.Principal{alex, bo} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = f.a.Desk.Take(f.ctx, p, tk.Reference)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errs.Is(err, errs.CodeConflict):
			t.Fatalf("taking at once: %v, want one success and one conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d agents took the ticket, want exactly one (%v)", won, results)
	}
	tk = must(f.a.Desk.Ticket(f.ctx, alex, tk.Reference))(t)
	worker := alex
	if tk.Assignee.ID == bo.UserID {
		worker = bo
	}
	if tk.State != desk.StateAssigned || tk.RespondedAt == nil || !tk.RespondedAt.Equal(at("2026-11-16T10:00:00Z")) {
		t.Fatalf("after taking: state %s responded %v, want assigned and responded at 10:00", tk.State, tk.RespondedAt)
	}
	// Illegal moves change nothing.
	_, err = f.a.Desk.Move(f.ctx, worker, tk.Reference, desk.MoveInput{To: desk.StateClosed})
	wantCode(t, err, errs.CodeConflict, "closing an assigned ticket")
	_, err = f.a.Desk.Move(f.ctx, worker, tk.Reference, desk.MoveInput{To: desk.StateOnHold, HoldReason: "lunch"})
	wantCode(t, err, errs.CodeInvalid, "holding for no known reason")

	// A work note is for the desk; a comment is for Dana too.
	must(f.a.Desk.Comment(f.ctx, worker, tk.Reference, desk.CommentInput{Body: "Print spooler on PRN-3F looks stuck", Internal: true}))(t)
	_, err = f.a.Desk.Comment(f.ctx, dana, tk.Reference, desk.CommentInput{Body: "sneaky", Internal: true})
	wantCode(t, err, errs.CodeForbidden, "the requester writing a work note")
	f.set("2026-11-16T11:00:00Z")
	must(f.a.Desk.Move(f.ctx, worker, tk.Reference, desk.MoveInput{To: desk.StateOnHold, HoldReason: "customer", Note: "Which printer name does your laptop show?"}))(t)
	seen := must(f.a.Desk.Comments(f.ctx, dana, tk.Reference, sqldb.Page{}))(t).Items
	if len(seen) != 1 || seen[0].Internal || seen[0].Body != "Which printer name does your laptop show?" {
		t.Fatalf("Dana sees comments %+v, want only the question", seen)
	}
	if all := must(f.a.Desk.Comments(f.ctx, worker, tk.Reference, sqldb.Page{}))(t).Items; len(all) != 2 {
		t.Fatalf("the agent sees %d comments, want the work note and the question", len(all))
	}

	// While it waits for Dana the clocks stand still: she answers on
	// Tuesday at 10:00, the ticket moves on, and its resolution is due
	// seven service hours later (Monday 11:00–17:00 and Tuesday 09:00–10:00
	// held): Tuesday 17:00.
	f.set("2026-11-17T10:00:00Z")
	d := must(f.a.Desk.Detail(f.ctx, dana, tk.Reference))(t)
	if !d.Resolution.Paused || d.Resolution.Due != nil || d.Resolution.ElapsedMinutes != 60 || d.Resolution.TargetMinutes != 480 || d.Resolution.Agreement != "Desktop for Retail" {
		t.Fatalf("resolution clock on hold %+v, want paused at 60 of 480 minutes of Desktop for Retail", d.Resolution)
	}
	tk = must(f.a.Desk.Comment(f.ctx, dana, tk.Reference, desk.CommentInput{Body: "It says PRN-3F-EAST"}))(t)
	if tk.State != desk.StateInProgress {
		t.Fatalf("after Dana's answer the ticket is %s, want in_progress", tk.State)
	}
	if got, want := *tk.ResolveBy, at("2026-11-17T17:00:00Z"); !got.Equal(want) {
		t.Errorf("resolve by after the hold %s, want %s", got, want)
	}

	f.set("2026-11-17T12:00:00Z")
	_, err = f.a.Desk.Move(f.ctx, worker, tk.Reference, desk.MoveInput{To: desk.StateResolved})
	wantCode(t, err, errs.CodeInvalid, "resolving without a resolution")
	tk = must(f.a.Desk.Move(f.ctx, worker, tk.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Cleared the spooler and re-added PRN-3F-EAST."}))(t)
	must(f.a.Desk.Move(f.ctx, alex, mfgTk.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Replaced the label printer's cable."}))(t)
	d = must(f.a.Desk.Detail(f.ctx, dana, tk.Reference))(t)
	// Monday 10:00–11:00 and Tuesday 10:00–12:00.
	if !d.Resolution.Stopped || d.Resolution.ElapsedMinutes != 180 || d.Resolution.Late {
		t.Errorf("resolution clock %+v, want stopped at 180 minutes, in time", d.Resolution)
	}
	if !d.Access.Requester || !d.Access.MayReopen || d.Access.Work {
		t.Errorf("Dana's access %+v, want requester who may reopen and not work", d.Access)
	}
	_, err = f.a.Desk.Rate(f.ctx, worker, tk.Reference, desk.RateInput{Rating: 5})
	wantCode(t, err, errs.CodeForbidden, "the agent rating the ticket")
	_, err = f.a.Desk.Rate(f.ctx, dana, tk.Reference, desk.RateInput{Rating: 6})
	wantCode(t, err, errs.CodeInvalid, "a rating of 6")
	tk = must(f.a.Desk.Rate(f.ctx, dana, tk.Reference, desk.RateInput{Rating: 5, Comment: "Quick and friendly"}))(t)
	if tk.Rating == nil || *tk.Rating != 5 {
		t.Errorf("rating %v, want 5", tk.Rating)
	}

	// The SLA's resolution target counts it, in time.
	if _, err := f.a.SLA.Evaluate(f.ctx); err != nil {
		t.Fatal(err)
	}
	c := must(f.a.SLA.Compliance(f.ctx, f.as("lena@it.contoso.example"), "desktop-retail"))(t)
	found := false
	for _, r := range c.Targets {
		if r.Target.Code == "resolve-p3" {
			found = true
			if r.Current.Counted != 1 || r.Current.Within != 1 {
				t.Errorf("resolve-p3 counted %d within %d, want Retail's ticket counted once, within time (not Manufacturing's)", r.Current.Counted, r.Current.Within)
			}
		}
	}
	if !found {
		t.Fatal("no figures for resolve-p3")
	}

	// The SLA's incident record (POST/PUT /api/v1/incidents) is not a way
	// around the desk: a desk ticket is not found there, nor listed.
	_, err = f.a.SLA.SaveIncident(f.ctx, f.as("lena@it.contoso.example"), tk.ID, sla.IncidentInput{Service: "desktop", Priority: 1, Summary: "rewritten",
		OpenedAt: "2026-11-16T10:00:00Z"})
	wantCode(t, err, errs.CodeNotFound, "rewriting a desk ticket through the SLA's incident record")
	if recs := must(f.a.SLA.Incidents(f.ctx, f.as("lena@it.contoso.example"), sla.IncidentFilter{}))(t); len(recs.Items) != 0 {
		t.Errorf("the SLA's incident record lists desk tickets: %+v", recs.Items)
	}
	// The service review shows the incidents it counted; their words only
	// to those who may read the tickets.
	// (Retail's two incidents: Manufacturing's is not the agreement's.)
	for who, want := range map[string][]string{"dana@contoso.example": {"(a ticket of the service desk)", "(a ticket of the service desk)"},
		"lena@it.contoso.example": {tk.Summary, p1.Summary}} {
		rv := must(f.a.SLA.Review(f.ctx, f.as(who), "desktop-retail", sla.ReviewPeriod{From: "2026-11", To: "2026-12"}))(t)
		var got []string
		for _, i := range rv.Incidents {
			got = append(got, i.Summary)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s's review shows incidents %q, want %q", who, got, want)
		}
	}

	// The desk's report of November counts both tickets, the resolved one
	// in its SLA's service hours (180 minutes) and rated 5.
	rep := must(f.a.Desk.Report(f.ctx, f.as("lena@it.contoso.example"), desk.ReportFilter{From: at("2026-11-01T00:00:00Z"), To: at("2026-12-01T00:00:00Z")}))(t)
	if len(rep) != 1 || rep[0].Key != "desktop" || rep[0].Raised != 4 || rep[0].Resolved != 2 || rep[0].Open != 2 || rep[0].Rated != 1 || rep[0].MeanRating != 5 {
		t.Errorf("the November report %+v, want desktop: 4 raised (with the problem), 2 resolved, 2 open, rated 5", rep[0])
	}
	if rep[0].Backlog != 2 {
		t.Errorf("the November report's backlog at its end: %d, want the 2 open", rep[0].Backlog)
	}
	// By month, October to November: every month has its row, with the
	// backlog at its end (none before the tickets were raised).
	months := must(f.a.Desk.Report(f.ctx, f.as("lena@it.contoso.example"), desk.ReportFilter{By: desk.ByMonth, From: at("2026-10-01T00:00:00Z"),
		To: at("2026-12-01T00:00:00Z")}))(t)
	if len(months) != 2 || months[0].Key != "2026-10" || months[0].Raised != 0 || months[0].Backlog != 0 || months[1].Key != "2026-11" || months[1].Backlog != 2 {
		var got []desk.ReportRow
		for _, m := range months {
			got = append(got, *m)
		}
		t.Errorf("by month %+v, want October with none and November with a backlog of 2", got)
	}
	if rep := must(f.a.Desk.Report(f.ctx, dana, desk.ReportFilter{From: at("2026-11-01T00:00:00Z"), To: at("2026-12-01T00:00:00Z")}))(t); len(rep) != 1 ||
		rep[0].Raised != 2 || rep[0].MeanResolveMinutes != 180 || rep[0].MeanRespondMinutes != 0 {
		t.Errorf("Dana's November report %+v, want her 2 tickets, the resolved one in 180 service minutes", rep)
	}
	if rep := must(f.a.Desk.Report(f.ctx, f.as("sam@it.contoso.example"), desk.ReportFilter{From: at("2026-11-01T00:00:00Z"), To: at("2026-12-01T00:00:00Z")}))(t); len(rep) != 1 || rep[0].Raised != 1 {
		t.Errorf("Sam's report (Manufacturing) %+v, want Manufacturing's one ticket, not Retail's", rep)
	}
	_, err = f.a.Desk.Report(f.ctx, dana, desk.ReportFilter{From: at("2026-01-01T00:00:00Z"), To: at("2027-06-01T00:00:00Z")})
	wantCode(t, err, errs.CodeInvalid, "a report over more than a year")

	// Dana reopens it the next day: the clock resumes where it stopped.
	f.set("2026-11-18T09:30:00Z")
	tk = must(f.a.Desk.Move(f.ctx, dana, tk.Reference, desk.MoveInput{To: desk.StateInProgress, Note: "It stopped again"}))(t)
	if tk.State != desk.StateInProgress || tk.Reopened != 1 || tk.ResolvedAt != nil || tk.Rating != nil {
		t.Fatalf("reopened ticket %+v, want in progress, reopened once, unresolved, unrated", tk)
	}
	f.set("2026-11-18T10:00:00Z")
	d = must(f.a.Desk.Detail(f.ctx, worker, tk.Reference))(t)
	if d.Resolution.ElapsedMinutes != 210 || d.Resolution.Stopped || !d.Resolution.Due.Equal(at("2026-11-18T14:30:00Z")) {
		t.Errorf("half an hour after reopening the resolution clock %+v, want running at 210 minutes (180, and Wednesday 09:30–10:00), due 14:30", d.Resolution)
	}
	// Past the reopening time it cannot be.
	must(f.a.Desk.Move(f.ctx, worker, tk.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Replaced the driver."}))(t)
	f.set("2026-11-30T09:30:00Z")
	_, err = f.a.Desk.Move(f.ctx, dana, tk.Reference, desk.MoveInput{To: desk.StateInProgress})
	wantCode(t, err, errs.CodeConflict, "reopening after the reopening time")
	must(f.a.Desk.Move(f.ctx, dana, tk.Reference, desk.MoveInput{To: desk.StateClosed}))(t)
	_, err = f.a.Desk.Comment(f.ctx, dana, tk.Reference, desk.CommentInput{Body: "one more thing"})
	wantCode(t, err, errs.CodeConflict, "commenting on a closed ticket")
}

// TestTicketLists: each person's lists hold what they may read and no
// more; the queue sorts by time left and pages by cursor.
func TestTicketLists(t *testing.T) {
	f := newFixture(t)
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	mia := f.person("mia@contoso.example", access.RoleConsumer, "MFG", "")
	netops := f.person("nora@it.contoso.example", access.RoleConsumer, "MFG", "Network Operations")
	var refs []string
	for i, svc := range []string{"desktop", "email", "network", "desktop"} {
		f.set(time.Date(2026, 11, 16, 10, i, 0, 0, time.UTC).Format(time.RFC3339))
		urgency := 3 - i%3
		tk := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: svc, Summary: "trouble with " + svc, Urgency: urgency}))(t)
		refs = append(refs, tk.Reference)
	}
	must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "email", Summary: "Manufacturing's mail"}))(t)

	count := func(p *access.Principal, fl desk.Filter) []string {
		t.Helper()
		var got []string
		for {
			pg := must(f.a.Desk.Tickets(f.ctx, p, fl))(t)
			for _, tk := range pg.Items {
				got = append(got, tk.Reference)
			}
			if pg.Next == "" {
				return got
			}
			fl.Page.Cursor = pg.Next
		}
	}
	if got := count(dana, desk.Filter{View: desk.Mine, Page: sqldbPage(2)}); len(got) != 4 {
		t.Errorf("Dana's tickets %v, want her 4", got)
	}
	// The admin raises tickets and reads every one (an argument added for
	// the first and left unused by the second failed on PostgreSQL).
	if got := count(f.as("admin@it.contoso.example"), desk.Filter{}); len(got) != 5 {
		t.Errorf("the admin reads %v, want all 5", got)
	}
	if got := count(mia, desk.Filter{}); len(got) != 1 {
		t.Errorf("Mia reads %v, want only her own", got)
	}
	// Alex is in the Service Desk and Platform Engineering, and holds
	// ticket.work everywhere: every ticket is in his queue.
	if got := count(alex, desk.Filter{View: desk.Queue, State: "open", Sort: desk.SortDue, Page: sqldbPage(2)}); len(got) != 5 {
		t.Errorf("Alex's queue %v, want all 5", got)
	}
	// Nora works only the Network Operations group's tickets.
	if got := count(netops, desk.Filter{View: desk.Queue}); len(got) != 1 || got[0] != refs[2] {
		t.Errorf("Nora's queue %v, want only the network ticket %s", got, refs[2])
	}
	// By time left: the urgent ones first.
	q := must(f.a.Desk.Tickets(f.ctx, alex, desk.Filter{View: desk.Queue, Sort: desk.SortDue}))(t)
	for i := 1; i < len(q.Items); i++ {
		if q.Items[i].ResolveBy.Before(*q.Items[i-1].ResolveBy) {
			t.Errorf("queue not sorted by due time at %d: %s before %s", i, q.Items[i-1].ResolveBy, q.Items[i].ResolveBy)
		}
	}
	_, err := f.a.Desk.Tickets(f.ctx, dana, desk.Filter{View: "everything"})
	wantCode(t, err, errs.CodeInvalid, "an unknown view")
}

func sqldbPage(n int) sqldb.Page { return sqldb.Page{Limit: n} }

// TestSuggestLearns: a description in the user's own words gets the
// service it is about from the catalog's texts ("my laptop can't print":
// desktop computing, whose outcomes name printing); words the catalog
// does not know are learned from the tickets agents settled on: three
// tickets about the badge readers raised against the desktop and moved by
// the agent to the directory make the directory the first suggestion for
// the next one, in this replica at once and in a fresh one built from the
// database (issue 20, free text to service).
func TestSuggestLearns(t *testing.T) {
	f := newFixture(t)
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	first := func(text string) desk.Suggestion {
		t.Helper()
		sg := must(f.a.Desk.Suggest(f.ctx, dana, text, 3))(t)
		if len(sg) == 0 {
			t.Fatalf("no suggestion for %q", text)
		}
		return sg[0]
	}
	if got := first("my laptop can't print to the 3rd floor printer"); got.Service.Code != "desktop" || len(got.Why) == 0 {
		t.Errorf("the printer: %+v, want desktop computing, with reasons", got)
	}
	badge := "The badge reader at the loading dock rejects my card"
	before := must(f.a.Desk.Suggest(f.ctx, dana, badge, 3))(t)
	if len(before) > 0 && before[0].Service.Code == "directory" {
		t.Fatalf("the directory is suggested for the badge reader before any ticket: %+v", before)
	}
	for _, text := range []string{"badge reader at the loading dock is red", "my card does not open the loading dock door (badge reader)",
		"loading dock badge reader rejects everyone since the weekend"} {
		tk := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: text}))(t)
		must(f.a.Desk.Classify(f.ctx, alex, tk.Reference, desk.ClassifyInput{Service: "directory"}))(t)
	}
	if got := first(badge); got.Service.Code != "directory" {
		t.Errorf("after three reclassified tickets the badge reader is %+v (before: %+v), want the directory", got, before)
	}
	fresh := desk.New(f.a.DB, f.clock, f.a.Catalog, nil)
	sg := must(fresh.Suggest(f.ctx, dana, badge, 1))(t)
	if len(sg) != 1 || sg[0].Service.Code != "directory" {
		t.Errorf("a replica built from the database suggests %+v, want the directory", sg)
	}
	_, err := f.a.Desk.Suggest(f.ctx, dana, "", 3)
	wantCode(t, err, errs.CodeInvalid, "suggesting for nothing")
	_, err = f.a.Desk.Suggest(f.ctx, f.as("audrey@it.contoso.example"), badge, 3)
	wantCode(t, err, errs.CodeForbidden, "an auditor asking for suggestions")
}

// TestIncidentDeclaresOutage: an incident declares the outage it is, from
// when it was opened; the outage counts as any other (internal/sla) and
// ends when the incident is resolved. Requests declare none, and the
// requester cannot declare one (issue 20).
func TestIncidentDeclaresOutage(t *testing.T) {
	f := newFixture(t)
	dana, alex, lena := f.as("dana@contoso.example"), f.as("alex@it.contoso.example"), f.as("lena@it.contoso.example")
	inc := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "Nobody in the store gets mail", Impact: 1, Urgency: 1}))(t).Ticket
	req := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Kind: desk.Request, Service: "email", Summary: "A shared mailbox for the store"}))(t)
	_, err := f.a.Desk.DeclareOutage(f.ctx, dana, inc.Reference, desk.OutageInput{Impact: sla.Full})
	wantCode(t, err, errs.CodeForbidden, "the requester declaring an outage")
	_, err = f.a.Desk.DeclareOutage(f.ctx, alex, req.Reference, desk.OutageInput{Impact: sla.Full})
	wantCode(t, err, errs.CodeConflict, "a request declaring an outage")
	_, err = f.a.Desk.DeclareOutage(f.ctx, alex, inc.Reference, desk.OutageInput{Impact: "sideways"})
	wantCode(t, err, errs.CodeInvalid, "an outage of no known impact")

	f.set("2026-11-16T10:20:00Z")
	inc = must(f.a.Desk.DeclareOutage(f.ctx, alex, inc.Reference, desk.OutageInput{Impact: sla.Partial, SharePercent: 40}))(t)
	o := must(f.a.SLA.Outage(f.ctx, lena, inc.OutageID))(t)
	if o.Source != sla.FromIncident || !o.Started.Equal(at("2026-11-16T10:00:00Z")) || o.Ended != nil || o.Impact != sla.Partial || o.Share != 40 {
		t.Fatalf("the declared outage %+v, want a partial (40 %%) outage from the incident's opening at 10:00, ongoing", o)
	}
	// Who works it sees what the outage takes down: the services that
	// fail with email on the map (as the catalog's impact says) and the
	// org units with active instances of them; Dana sees none of it.
	d := must(f.a.Desk.Detail(f.ctx, alex, inc.Reference))(t)
	want := map[string]bool{"email": true}
	for _, a := range must(f.a.Catalog.Impact(f.ctx, access.System(), []string{"email"}))(t).Affected {
		if a.Node.Type == "service" {
			want[a.Node.Code] = true
		}
	}
	if d.OutageImpact == nil || len(d.OutageImpact.Services) != len(want) || d.OutageImpact.Services[0].Code != "email" {
		t.Fatalf("the outage's impact %+v, want the services %v", d.OutageImpact, want)
	}
	for _, s := range d.OutageImpact.Services {
		if !want[s.Code] {
			t.Errorf("the impact names %s, which does not fail with email", s.Code)
		}
	}
	var holders int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(DISTINCT org_unit_id) FROM instances WHERE state = 'active' AND service_id IN
		(SELECT id FROM services WHERE code = 'email')`).Scan(&holders); err != nil {
		t.Fatal(err)
	}
	if holders == 0 || len(d.OutageImpact.OrgUnits) < holders {
		t.Errorf("the impact names org units %+v; %d hold mailboxes", d.OutageImpact.OrgUnits, holders)
	}
	if dd := must(f.a.Desk.Detail(f.ctx, dana, inc.Reference))(t); dd.OutageImpact != nil {
		t.Errorf("the requester reads the outage's impact %+v", dd.OutageImpact)
	}
	// Worse than first thought: the same outage, now full.
	inc = must(f.a.Desk.DeclareOutage(f.ctx, alex, inc.Reference, desk.OutageInput{Impact: sla.Full}))(t)
	if o2 := must(f.a.SLA.Outage(f.ctx, lena, inc.OutageID))(t); o2.ID != o.ID || o2.Impact != sla.Full {
		t.Fatalf("declared again: %+v, want the same outage, full", o2)
	}
	f.set("2026-11-16T11:30:00Z")
	must(f.a.Desk.Move(f.ctx, alex, inc.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Restarted the transport service"}))(t)
	if o = must(f.a.SLA.Outage(f.ctx, lena, inc.OutageID))(t); o.Ended == nil || !o.Ended.Equal(at("2026-11-16T11:30:00Z")) {
		t.Fatalf("after the resolution the outage ends %v, want 11:30", o.Ended)
	}
	// Reopened days later and declared again: a new outage from then, the
	// first one left as it ended (not stretched over the days between).
	f.set("2026-11-18T09:00:00Z")
	must(f.a.Desk.Move(f.ctx, dana, inc.Reference, desk.MoveInput{To: desk.StateInProgress, Note: "No mail again"}))(t)
	inc = must(f.a.Desk.DeclareOutage(f.ctx, alex, inc.Reference, desk.OutageInput{Impact: sla.Full}))(t)
	again := must(f.a.SLA.Outage(f.ctx, lena, inc.OutageID))(t)
	if again.ID == o.ID || !again.Started.Equal(at("2026-11-18T09:00:00Z")) || again.Ended != nil {
		t.Errorf("declared after reopening: %+v, want a new outage from 09:00 on the 18th", again)
	}
	if first := must(f.a.SLA.Outage(f.ctx, lena, o.ID))(t); first.Ended == nil || !first.Ended.Equal(at("2026-11-16T11:30:00Z")) {
		t.Errorf("the first outage now ends %v, want 11:30 on the 16th still", first.Ended)
	}
}

// TestRaiseAnswersWhatDetailReads: a raise answers the new ticket without
// reading it back, so its answer must be what reading it gives the
// raiser, for every kind of raiser and ticket.
func TestRaiseAnswersWhatDetailReads(t *testing.T) {
	f := newFixture(t)
	f.businessHours()
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	// A consumer who is also an auditor reads the work notes of what she raises.
	auditor := f.person("ada@contoso.example", access.RoleConsumer, "RETAIL", "")
	if _, err := f.a.Identity.CreateGrant(f.ctx, access.System(), identity.CreateGrantInput{UserID: auditor.UserID, Role: access.RoleAuditor,
		ScopeKind: access.ScopeGlobal}); err != nil {
		t.Fatal(err)
	}
	auditor = f.as("ada@contoso.example")
	parent := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Service: "desktop", OrgUnit: "RETAIL", Summary: "Every printer on the 3rd floor is down",
		Impact: 1, Urgency: 1}))(t)
	cases := []struct {
		name string
		as   *access.Principal
		in   desk.RaiseInput
	}{
		{"a consumer's incident under an SLA", dana, desk.RaiseInput{Service: "desktop", Summary: "My laptop can't print", Urgency: 3}},
		{"a consumer's request", dana, desk.RaiseInput{Kind: desk.Request, Service: "desktop", Summary: "A second screen, please", Description: "For the new desk."}},
		{"an agent on a consumer's behalf", alex, desk.RaiseInput{Service: "desktop", Requester: "dana@contoso.example", Summary: "Dana's VPN drops", Impact: 2}},
		{"an agent's problem", alex, desk.RaiseInput{Kind: desk.Problem, Service: "desktop", OrgUnit: "RETAIL", Summary: "Spooler crashes weekly"}},
		{"a child of a major incident", alex, desk.RaiseInput{Service: "desktop", OrgUnit: "RETAIL", Summary: "PRN-3F-EAST is down", Parent: parent.Reference}},
		{"a service without an agreement", dana, desk.RaiseInput{Service: "email", Summary: "Mail is slow"}},
		{"an auditor, who reads the notes", auditor, desk.RaiseInput{Service: "desktop", Summary: "Audit laptop broken"}},
	}
	for _, c := range cases {
		raised, err := f.a.Desk.Raise(f.ctx, c.as, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		read := must(f.a.Desk.Detail(f.ctx, c.as, raised.Reference))(t)
		got, want := must(json.Marshal(raised))(t), must(json.Marshal(read))(t)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the raise answered\n%s\nreading it gives\n%s", c.name, got, want)
		}
	}
}

// TestTicketNamesAConfigItem: a ticket narrows its service to a
// configuration item on the service's map (issue 20); named alone, the
// configuration item brings the nearest service standing on it. The
// incident's outage is the configuration item's, and takes down what the
// map says fails with it: with the London data centre down, the directory
// (which needs one of its two sites) stands, while email, which runs on
// Exchange in London alone, fails.
func TestTicketNamesAConfigItem(t *testing.T) {
	f := newFixture(t)
	alex, dana := f.as("alex@it.contoso.example"), f.as("dana@contoso.example")
	byItem := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{ConfigItem: "exchange", Summary: "Outlook says the server is unavailable"}))(t)
	if byItem.Service.Code != "email" || byItem.ConfigItem == nil || byItem.ConfigItem.Code != "exchange" {
		t.Fatalf("a ticket naming Exchange alone: service %s, item %+v; want email and exchange", byItem.Service.Code, byItem.ConfigItem)
	}
	_, err := f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", ConfigItem: "exchange", Summary: "Mixed up"})
	wantField(t, err, "config_item", "a configuration item not on the service's map")
	_, err = f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{ConfigItem: "no-such-item", Summary: "Unknown"})
	wantField(t, err, "config_item", "an unknown configuration item")

	inc := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Service: "directory", ConfigItem: "dc-london", OrgUnit: "RETAIL", Impact: 1, Urgency: 1,
		Summary: "The London data centre lost power"}))(t)
	must(f.a.Desk.DeclareOutage(f.ctx, alex, inc.Reference, desk.OutageInput{Impact: sla.Full}))(t)
	d := must(f.a.Desk.Detail(f.ctx, alex, inc.Reference))(t)
	o := must(f.a.SLA.Outage(f.ctx, access.System(), d.OutageID))(t)
	if o.ConfigItem == nil || o.ConfigItem.Code != "dc-london" || o.Service != nil {
		t.Errorf("the declared outage is of %+v / %+v, want the London data centre", o.ConfigItem, o.Service)
	}
	var failed []string
	for _, s := range d.OutageImpact.Services {
		failed = append(failed, s.Code)
	}
	if !slices.Contains(failed, "email") || slices.Contains(failed, "directory") {
		t.Errorf("with London down the impact names %v: want email, not the directory", failed)
	}
	// Narrowed to the other site, then widened to the whole service.
	other := "dc-manchester"
	d2 := must(f.a.Desk.Classify(f.ctx, alex, inc.Reference, desk.ClassifyInput{ConfigItem: &other}))(t)
	if d2.ConfigItem == nil || d2.ConfigItem.Code != other {
		t.Errorf("reclassified to %s: item %+v", other, d2.ConfigItem)
	}
	none := ""
	if d3 := must(f.a.Desk.Classify(f.ctx, alex, inc.Reference, desk.ClassifyInput{ConfigItem: &none}))(t); d3.ConfigItem != nil {
		t.Errorf("cleared, the item is still %+v", d3.ConfigItem)
	}
	bad := "exchange"
	_, err = f.a.Desk.Classify(f.ctx, alex, inc.Reference, desk.ClassifyInput{ConfigItem: &bad})
	wantField(t, err, "config_item", "reclassifying to an item not on the directory's map")
}
