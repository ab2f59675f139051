package desk_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
)

// TestTicketsWarnBeforeBreach: an open incident whose resolution clock has
// used three quarters of its time (in its service hours) is told of once,
// to its group while nobody has it and to the group's manager; a hold
// moves the warning on, and it is told again when the new time comes.
// The group's manager works the group's tickets without being a member
// (issue 20: "tickets show time left and warn before breach"; "group
// managers").
func TestTicketsWarnBeforeBreach(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	var deskGroup *identity.Group
	for _, g := range must(f.a.Identity.Groups(f.ctx, sys))(t) {
		if g.Name == "Service Desk" {
			deskGroup = g
		}
	}
	mona := f.person("mona@it.contoso.example", access.RoleConsumer, "RETAIL", "")
	_, err := f.a.Identity.UpdateGroup(f.ctx, sys, deskGroup.ID, identity.GroupInput{Name: deskGroup.Name, Description: deskGroup.Description,
		Email: deskGroup.Email, ManagerID: ptr("no-such-user")})
	wantField(t, err, "manager_id", "a manager who is no user")
	g := must(f.a.Identity.UpdateGroup(f.ctx, sys, deskGroup.ID, identity.GroupInput{Name: deskGroup.Name, Description: deskGroup.Description,
		Email: deskGroup.Email, ManagerID: &mona.UserID}))(t)
	if g.ManagerID != mona.UserID {
		t.Fatalf("the group's manager is %q, want Mona", g.ManagerID)
	}
	// Left out, the manager stays (directory sync and older clients send none).
	if g := must(f.a.Identity.UpdateGroup(f.ctx, sys, deskGroup.ID, identity.GroupInput{Name: deskGroup.Name, Email: deskGroup.Email}))(t); g.ManagerID != mona.UserID {
		t.Fatalf("an update without manager_id dropped the manager: %q", g.ManagerID)
	}

	dana := f.as("dana@contoso.example")
	raise := func(summary string) *desk.Ticket {
		t.Helper()
		tk := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: summary, Impact: 2, Urgency: 2}))(t).Ticket
		if tk.Group == nil || tk.Group.ID != deskGroup.ID {
			t.Fatalf("the ticket went to %+v, want the Service Desk", tk.Group)
		}
		return tk
	}
	a, b := raise("The 3rd floor printer jams"), raise("The scanner sends blank pages")
	warnBy := func(tk *desk.Ticket) time.Time {
		t.Helper()
		var w sql.NullTime
		if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT warn_by FROM tickets WHERE id = $1`, tk.ID).Scan(&w); err != nil || !w.Valid {
			t.Fatalf("warn_by: %v %v", w, err)
		}
		return w.Time.UTC()
	}
	atRisk := func(tk *desk.Ticket) []string {
		t.Helper()
		notices, err := sqlStrings(f, `SELECT notice_json FROM outbox_events WHERE type = 'ticket.at_risk' AND subject = $1 ORDER BY seq`, "tickets/"+tk.Reference)
		if err != nil {
			t.Fatal(err)
		}
		return notices
	}
	w := warnBy(a)
	if !warnBy(b).Equal(w) {
		t.Fatalf("two tickets raised together warn at %v and %v", w, warnBy(b))
	}

	// Mona manages the group: she works its tickets without being a
	// member. She takes B and waits for the customer an hour before the
	// warning time.
	f.set(w.Add(-61 * time.Minute).Format(time.RFC3339))
	if d := must(f.a.Desk.Detail(f.ctx, mona, b.Reference))(t); !d.Access.Work {
		t.Errorf("the group's manager does not work its tickets: %+v", d.Access)
	}
	must(f.a.Desk.Take(f.ctx, mona, b.Reference))(t)
	must(f.a.Desk.Move(f.ctx, mona, b.Reference, desk.MoveInput{To: desk.StateOnHold, HoldReason: "customer", Note: "Which tray?"}))(t)

	// The warning time is where the ticket's own clock starts warning.
	f.set(w.Add(-time.Minute).Format(time.RFC3339))
	if d := must(f.a.Desk.Detail(f.ctx, dana, a.Reference))(t); d.Resolution.Warning {
		t.Errorf("a minute before the warning time the clock already warns: %+v", d.Resolution)
	}
	if n := must(f.a.Desk.Warn(f.ctx))(t); n != 0 {
		t.Errorf("a minute early %d tickets were told of", n)
	}
	f.set(w.Format(time.RFC3339))
	if d := must(f.a.Desk.Detail(f.ctx, dana, a.Reference))(t); !d.Resolution.Warning {
		t.Errorf("at the warning time the clock does not warn: %+v", d.Resolution)
	}
	if n := must(f.a.Desk.Warn(f.ctx))(t); n != 1 {
		t.Fatalf("at the warning time %d tickets were told of, want 1 (the other is on hold)", n)
	}
	if n := must(f.a.Desk.Warn(f.ctx))(t); n != 0 {
		t.Errorf("told of twice: %d", n)
	}
	notices := atRisk(a)
	if len(notices) != 1 || !strings.Contains(notices[0], deskGroup.ID) || !strings.Contains(notices[0], mona.UserID) {
		t.Fatalf("the at-risk notices %v, want one to the Service Desk and its manager", notices)
	}
	if _, err := f.a.Outbox.Once(f.ctx); err != nil {
		t.Fatal(err)
	}
	var told int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'ticket.at_risk'`, mona.UserID).Scan(&told); err != nil || told != 1 {
		t.Errorf("Mona has %d at-risk notifications (%v), want 1", told, err)
	}

	// Two hours on hold move B's warning two hours on (the desktop service
	// runs 24 × 7); then it is told of, to Mona, who has it.
	f.set(w.Add(59 * time.Minute).Format(time.RFC3339))
	must(f.a.Desk.Move(f.ctx, mona, b.Reference, desk.MoveInput{To: desk.StateInProgress}))(t)
	w2 := warnBy(b)
	if !w2.Equal(w.Add(2 * time.Hour)) {
		t.Fatalf("after a two-hour hold B warns at %v, want %v", w2, w.Add(2*time.Hour))
	}
	f.set(w2.Add(-time.Minute).Format(time.RFC3339))
	if n := must(f.a.Desk.Warn(f.ctx))(t); n != 0 {
		t.Errorf("before B's new warning time %d tickets were told of", n)
	}
	f.set(w2.Format(time.RFC3339))
	if n := must(f.a.Desk.Warn(f.ctx))(t); n != 1 {
		t.Fatalf("at B's new warning time %d tickets were told of, want 1", n)
	}
	if notices := atRisk(b); len(notices) != 1 || !strings.Contains(notices[0], mona.UserID) || strings.Contains(notices[0], deskGroup.ID) {
		t.Errorf("B's notices %v, want one to Mona, who has it, not the whole group", notices)
	}

	// A warning more than a day late (downtime, or tickets open when
	// warnings came) is marked, not sent.
	c := raise("The plotter is offline")
	f.set(warnBy(c).Add(25 * time.Hour).Format(time.RFC3339))
	if n := must(f.a.Desk.Warn(f.ctx))(t); n != 0 {
		t.Errorf("a warning a day late was sent: %d", n)
	}
	if notices := atRisk(c); len(notices) != 0 {
		t.Errorf("a warning a day late left events %v", notices)
	}
	var marked sql.NullTime
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT warned_at FROM tickets WHERE id = $1`, c.ID).Scan(&marked); err != nil || !marked.Valid {
		t.Errorf("the late ticket is not marked as told of: %v %v", marked, err)
	}

	// No longer the manager, Mona neither works nor reads the group's tickets.
	must(f.a.Identity.UpdateGroup(f.ctx, sys, deskGroup.ID, identity.GroupInput{Name: deskGroup.Name, Email: deskGroup.Email, ManagerID: ptr("")}))(t)
	_, err = f.a.Desk.Move(f.ctx, mona, b.Reference, desk.MoveInput{To: desk.StateResolved, Resolution: "Cleaned the glass"})
	wantCode(t, err, errs.CodeNotFound, "a former manager resolving the group's ticket (nor does she read it)")
}

func ptr(s string) *string { return &s }

func sqlStrings(f *fixture, query string, args ...any) ([]string, error) {
	rows, err := f.a.DB.Read().QueryContext(f.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
