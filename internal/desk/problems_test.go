package desk_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
)

func str(s string) *string { return &s }
func yes() *bool           { b := true; return &b }

// TestProblemsAndKnownErrors: an agent records a problem's root cause and
// workaround and marks it a known error; incidents linked to it show the
// workaround to their requesters; the problem lists its incidents; the
// known-error database lists it; bad input changes nothing (issue 20).
func TestProblemsAndKnownErrors(t *testing.T) {
	f := newFixture(t)
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	mia := f.person("mia@contoso.example", access.RoleConsumer, "MFG", "")
	inc := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: "Printing hangs"}))(t)
	inc2 := must(f.a.Desk.Raise(f.ctx, mia, desk.RaiseInput{Service: "desktop", Summary: "Label printer hangs"}))(t)
	req := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Kind: desk.Request, Service: "desktop", Summary: "A new toner"}))(t)
	prb := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Problem, Service: "desktop", OrgUnit: "RETAIL", Summary: "Spooler deadlock on the 2026 image"}))(t)

	// Bad input: nothing changes.
	_, err := f.a.Desk.UpdateProblem(f.ctx, alex, prb.Reference, desk.ProblemInput{KnownError: yes()})
	fieldRule(t, err, "known_error", "documented", "a known error without root cause or workaround")
	_, err = f.a.Desk.UpdateProblem(f.ctx, alex, inc.Reference, desk.ProblemInput{RootCause: str("x")})
	wantCode(t, err, errs.CodeConflict, "a root cause on an incident")
	_, err = f.a.Desk.UpdateProblem(f.ctx, dana, prb.Reference, desk.ProblemInput{RootCause: str("x")})
	wantCode(t, err, errs.CodeNotFound, "a consumer recording a root cause on a problem she may not read")
	_, err = f.a.Desk.LinkIncident(f.ctx, alex, prb.Reference, req.Reference, true)
	fieldRule(t, err, "incident", "kind", "linking a request")
	_, err = f.a.Desk.LinkIncident(f.ctx, alex, inc.Reference, inc2.Reference, true)
	wantCode(t, err, errs.CodeConflict, "linking an incident to an incident")
	_, err = f.a.Desk.LinkIncident(f.ctx, alex, prb.Reference, "INC-999999", true)
	fieldRule(t, err, "incident", "exists", "linking no incident")
	d := must(f.a.Desk.Detail(f.ctx, alex, prb.Reference))(t)
	if d.RootCause != "" || d.KnownError || len(d.Incidents) != 0 {
		t.Fatalf("after bad input the problem holds %+v", d.Related)
	}

	must(f.a.Desk.UpdateProblem(f.ctx, alex, prb.Reference, desk.ProblemInput{RootCause: str("A race in the spooler service of the 2026 image"),
		Workaround: str("Restart the print spooler (services.msc)"), KnownError: yes()}))(t)
	must(f.a.Desk.LinkIncident(f.ctx, alex, prb.Reference, inc.Reference, true))(t)
	must(f.a.Desk.LinkIncident(f.ctx, alex, prb.Reference, inc2.Reference, true))(t)
	must(f.a.Desk.LinkIncident(f.ctx, alex, prb.Reference, inc2.Reference, true))(t) // again: nothing changes

	// Dana's incident shows the workaround.
	di := must(f.a.Desk.Detail(f.ctx, dana, inc.Reference))(t)
	if di.Problem == nil || di.Problem.Reference != prb.Reference || di.Problem.Workaround != "Restart the print spooler (services.msc)" || !di.Problem.KnownError {
		t.Errorf("Dana's incident shows the problem %+v, want its workaround", di.Problem)
	}
	// The problem lists both incidents to Alex.
	d = must(f.a.Desk.Detail(f.ctx, alex, prb.Reference))(t)
	if !d.KnownError || d.RootCause == "" || len(d.Incidents) != 2 {
		t.Errorf("the problem: %+v", d.Related)
	}
	// The known-error database.
	kedb := must(f.a.Desk.Tickets(f.ctx, alex, desk.Filter{KnownError: true}))(t)
	if len(kedb.Items) != 1 || kedb.Items[0].ID != prb.ID {
		t.Errorf("the known errors: %d tickets, want the one problem", len(kedb.Items))
	}
	// Unlinking another problem's incident is refused; unlinking works.
	prb2 := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Problem, Service: "desktop", OrgUnit: "RETAIL", Summary: "Another"}))(t)
	_, err = f.a.Desk.LinkIncident(f.ctx, alex, prb2.Reference, inc.Reference, false)
	fieldRule(t, err, "incident", "linked", "unlinking from the wrong problem")
	_, err = f.a.Desk.LinkIncident(f.ctx, alex, prb2.Reference, inc.Reference, true)
	wantCode(t, err, errs.CodeConflict, "linking an incident linked to another problem")
	must(f.a.Desk.LinkIncident(f.ctx, alex, prb.Reference, inc.Reference, false))(t)
	if di := must(f.a.Desk.Detail(f.ctx, dana, inc.Reference))(t); di.Problem != nil {
		t.Errorf("unlinked, Dana's incident still shows %+v", di.Problem)
	}
}

// TestMergeAndParents: a duplicate merges into the first report (closed,
// its requester watching the other, a comment on both); merging across
// kinds, into itself or a merged ticket is refused; a major incident's
// children resolve with it; a cycle of parents is refused (issue 20).
func TestMergeAndParents(t *testing.T) {
	f := newFixture(t)
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	tom := f.person("tom@contoso.example", access.RoleConsumer, "RETAIL", "")
	first := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "Mail is down"}))(t)
	dup := must(f.a.Desk.Raise(f.ctx, tom, desk.RaiseInput{Service: "email", Summary: "Can't send mail"}))(t)
	req := must(f.a.Desk.Raise(f.ctx, tom, desk.RaiseInput{Kind: desk.Request, Service: "email", Summary: "A shared mailbox"}))(t)

	_, err := f.a.Desk.Merge(f.ctx, alex, dup.Reference, desk.MergeInput{Into: req.Reference})
	fieldRule(t, err, "into", "kind", "merging an incident into a request")
	_, err = f.a.Desk.Merge(f.ctx, alex, dup.Reference, desk.MergeInput{Into: dup.Reference})
	fieldRule(t, err, "into", "self", "merging a ticket into itself")
	_, err = f.a.Desk.Merge(f.ctx, tom, dup.Reference, desk.MergeInput{Into: first.Reference})
	wantCode(t, err, errs.CodeForbidden, "the requester merging")
	if d := must(f.a.Desk.Detail(f.ctx, alex, dup.Reference))(t); d.State != desk.StateNew || d.MergedIntoID != "" {
		t.Fatalf("after refused merges the duplicate is %s, merged into %q", d.State, d.MergedIntoID)
	}

	// What was said and attached on the duplicate moves with it (issue
	// 20: merging duplicates), each keeping its author, time and
	// visibility; unless the files would be more than a ticket holds.
	must(f.a.Desk.Comment(f.ctx, tom, dup.Reference, desk.CommentInput{Body: "Since 9:00, all of the shop."}))(t)
	must(f.a.Desk.Comment(f.ctx, alex, dup.Reference, desk.CommentInput{Body: "Same cluster as the first report.", Internal: true}))(t)
	must(f.a.Desk.Attach(f.ctx, tom, dup.Reference, desk.AttachInput{Filename: "bounce.txt", Data: []byte("550 5.7.1 relay denied\n")}))(t)
	full := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "Mail bounces"}))(t)
	for i := range desk.MaxAttachments {
		must(f.a.Desk.Attach(f.ctx, dana, full.Reference, desk.AttachInput{Filename: fmt.Sprintf("log-%02d.txt", i), Data: []byte("x")}))(t)
	}
	_, err = f.a.Desk.Merge(f.ctx, alex, dup.Reference, desk.MergeInput{Into: full.Reference})
	fieldRule(t, err, "into", "attachments", "merging files past what a ticket holds")
	if d := must(f.a.Desk.Detail(f.ctx, alex, dup.Reference))(t); d.State != desk.StateNew || len(must(f.a.Desk.Comments(f.ctx, alex, dup.Reference, sqldbPage(50)))(t).Items) != 2 {
		t.Fatalf("a refused merge changed the duplicate: %s", d.State)
	}

	merged := must(f.a.Desk.Merge(f.ctx, alex, dup.Reference, desk.MergeInput{Into: first.Reference}))(t)
	if merged.State != desk.StateClosed || merged.MergedIntoID != first.ID {
		t.Fatalf("merged: %s into %q", merged.State, merged.MergedIntoID)
	}
	// Tom now reads and watches the first report, which names its duplicate.
	d := must(f.a.Desk.Detail(f.ctx, tom, first.Reference))(t)
	if !d.Access.Watching || len(d.Duplicates) != 1 || d.Duplicates[0].ID != dup.ID {
		t.Errorf("Tom on the first report: watching %v, duplicates %+v", d.Access.Watching, d.Duplicates)
	}
	if d := must(f.a.Desk.Detail(f.ctx, tom, dup.Reference))(t); d.MergedInto == nil || d.MergedInto.Reference != first.Reference {
		t.Errorf("the duplicate names %+v, want the first report", d.MergedInto)
	} else if !d.Response.Stopped || !d.Resolution.Stopped {
		t.Errorf("the duplicate's clocks run on after the merge closed it: response %+v, resolution %+v", d.Response, d.Resolution)
	}
	bodies := func(p *access.Principal, ref string) []string {
		var out []string
		for _, c := range must(f.a.Desk.Comments(f.ctx, p, ref, sqldbPage(50)))(t).Items {
			out = append(out, fmt.Sprintf("%s %v: %s", c.Author.Name, c.Internal, c.Body))
		}
		return out
	}
	if got := bodies(tom, dup.Reference); len(got) != 1 || !strings.Contains(got[0], "Merged into "+first.Reference) {
		t.Errorf("the duplicate keeps %q, want the merge's comment alone", got)
	}
	got := strings.Join(bodies(alex, first.Reference), "\n")
	for _, want := range []string{"tom@contoso.example false: Since 9:00, all of the shop.", "Alex Agent true: Same cluster as the first report.",
		dup.Reference + " was merged into this ticket, with its 2 comments and 1 attachment."} {
		if !strings.Contains(got, want) {
			t.Errorf("the first report's comments lack %q:\n%s", want, got)
		}
	}
	if got := strings.Join(bodies(tom, first.Reference), "\n"); strings.Contains(got, "Same cluster") {
		t.Errorf("Tom reads the moved work note on the first report:\n%s", got)
	}
	files := must(f.a.Desk.Attachments(f.ctx, tom, first.Reference, sqldbPage(50)))(t)
	if len(files.Items) != 1 || files.Items[0].Filename != "bounce.txt" {
		t.Errorf("the first report's files: %+v, want the duplicate's bounce.txt", files.Items)
	} else if _, data, err := f.a.Desk.AttachmentData(f.ctx, tom, first.Reference, files.Items[0].ID); err != nil || string(data) != "550 5.7.1 relay denied\n" {
		t.Errorf("the moved file reads %q, %v", data, err)
	}
	_, err = f.a.Desk.Merge(f.ctx, alex, dup.Reference, desk.MergeInput{Into: first.Reference})
	wantCode(t, err, errs.CodeConflict, "merging a merged ticket again")
	other := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "Outlook says offline"}))(t)
	_, err = f.a.Desk.Merge(f.ctx, alex, other.Reference, desk.MergeInput{Into: dup.Reference})
	fieldRule(t, err, "into", "merged", "merging into a merged ticket")

	// A major incident and its children.
	major := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Service: "email", OrgUnit: "RETAIL", Summary: "Exchange cluster down", Impact: 1, Urgency: 1}))(t)
	child := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "No mail on my phone"}))(t)
	grand := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "email", Summary: "No calendar either"}))(t)
	must(f.a.Desk.SetParent(f.ctx, alex, other.Reference, desk.ParentInput{Parent: major.Reference}))(t)
	must(f.a.Desk.SetParent(f.ctx, alex, child.Reference, desk.ParentInput{Parent: major.Reference}))(t)
	must(f.a.Desk.SetParent(f.ctx, alex, grand.Reference, desk.ParentInput{Parent: child.Reference}))(t)
	_, err = f.a.Desk.SetParent(f.ctx, alex, major.Reference, desk.ParentInput{Parent: grand.Reference})
	fieldRule(t, err, "parent", "cycle", "a cycle of parents")
	_, err = f.a.Desk.SetParent(f.ctx, alex, major.Reference, desk.ParentInput{Parent: major.Reference})
	fieldRule(t, err, "parent", "cycle", "a ticket its own parent")
	_, err = f.a.Desk.SetParent(f.ctx, alex, req.Reference, desk.ParentInput{Parent: major.Reference})
	fieldRule(t, err, "parent", "kind", "a request under an incident")
	chg := must(f.a.Desk.Raise(f.ctx, alex, desk.RaiseInput{Kind: desk.Change, Service: "email", OrgUnit: "RETAIL", Summary: "Patch the mail servers",
		Change: &desk.ChangeInput{Plan: "Patch.", BackoutPlan: "Unpatch.", PlannedStart: "2030-01-05T20:00:00Z", PlannedEnd: "2030-01-05T21:00:00Z"}}))(t)
	_, err = f.a.Desk.SetParent(f.ctx, alex, chg.Reference, desk.ParentInput{Parent: major.Reference})
	wantCode(t, err, errs.CodeConflict, "a change under a major incident")
	_, err = f.a.Desk.Merge(f.ctx, alex, chg.Reference, desk.MergeInput{Into: major.Reference})
	wantCode(t, err, errs.CodeConflict, "merging a request for change")
	_, err = f.a.Desk.SetParent(f.ctx, dana, child.Reference, desk.ParentInput{Parent: ""})
	wantCode(t, err, errs.CodeForbidden, "the requester unsetting the parent")
	if d := must(f.a.Desk.Detail(f.ctx, alex, major.Reference))(t); len(d.Children) != 2 || d.ParentID != "" {
		t.Errorf("the major incident: children %+v, parent %q", d.Children, d.ParentID)
	}
	// Resolve the other child first: the parent resolves only the open ones.
	must(f.a.Desk.Move(f.ctx, alex, other.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Was the VPN"}))(t)
	must(f.a.Desk.Move(f.ctx, alex, major.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Failed over to the second DAG member"}))(t)
	for _, c := range []struct{ ref, want string }{{child.Reference, "Failed over to the second DAG member"}, {grand.Reference, "Failed over to the second DAG member"},
		{other.Reference, "Was the VPN"}} {
		d := must(f.a.Desk.Detail(f.ctx, alex, c.ref))(t)
		if d.State != desk.StateResolved || d.Ticket.Resolution != c.want {
			t.Errorf("%s: %s %q, want resolved %q", c.ref, d.State, d.Ticket.Resolution, c.want)
		}
		if !d.Response.Stopped {
			t.Errorf("%s: its response clock runs on after its resolution: %+v", c.ref, d.Response)
		}
	}
	// Dana was told of her child's resolution.
	var n int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM outbox_events WHERE type = 'ticket.resolved' AND subject = $1`, "tickets/"+child.Reference).Scan(&n); err != nil || n != 1 {
		t.Errorf("ticket.resolved events for the child: %d (%v), want 1", n, err)
	}
	if got := must(f.a.Desk.Detail(f.ctx, dana, child.Reference))(t); !slices.ContainsFunc(got.Children, func(l desk.Link) bool { return l.ID == grand.ID }) {
		t.Errorf("Dana's child incident lists children %+v", got.Children)
	}
}
