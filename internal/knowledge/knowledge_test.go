package knowledge_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

type fixture struct {
	t   *testing.T
	ctx context.Context
	a   *app.App
}

func newFixture(t *testing.T) *fixture {
	t.Parallel()
	f := &fixture{t: t, ctx: context.Background()}
	now := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	a, err := app.New(f.ctx, app.Config{Database: sqldbtest.Config(t), Now: func() time.Time { return now },
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

const (
	agent    = "alex@it.contoso.example"
	consumer = "dana@contoso.example"
	auditor  = "audrey@it.contoso.example"
)

func (f *fixture) publish(p *access.Principal, service, title, body string) *knowledge.Article {
	f.t.Helper()
	a, err := f.a.Knowledge.Create(f.ctx, p, knowledge.Input{Service: service, Title: title, Body: body})
	if err != nil {
		f.t.Fatal(err)
	}
	if a, err = f.a.Knowledge.Publish(f.ctx, p, a.Reference); err != nil {
		f.t.Fatal(err)
	}
	return a
}

func fieldsOf(err error) []string {
	var out []string
	for _, fe := range errs.As(err).Fields {
		out = append(out, fe.Field+":"+fe.Rule)
	}
	return out
}

func TestArticleLifecycleAndAccess(t *testing.T) {
	f := newFixture(t)
	k := f.a.Knowledge
	ag, dana, aud := f.as(agent), f.as(consumer), f.as(auditor)

	if _, err := k.Create(f.ctx, dana, knowledge.Input{Service: "desktop", Title: "x", Body: "y"}); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("a consumer writes an article: %v, want forbidden", err)
	}
	a, err := k.Create(f.ctx, ag, knowledge.Input{Service: " desktop ", Title: " Connect to the 3rd floor printer ", Body: "Open **Settings**."})
	if err != nil {
		t.Fatal(err)
	}
	if a.State != knowledge.StateDraft || a.Title != "Connect to the 3rd floor printer" || a.Service.Code != "desktop" || !strings.HasPrefix(a.Reference, "KB-") || a.Author == nil {
		t.Fatalf("created %+v", a)
	}
	// A draft: its writers read it, nobody else (not found, not forbidden).
	if _, err := k.Article(f.ctx, dana, a.Reference); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("consumer reads a draft: %v, want not_found", err)
	}
	if _, err := k.Article(f.ctx, aud, a.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("auditor reads a draft: %v, want not_found", err)
	}
	if _, err := k.Article(f.ctx, nil, a.ID); !errs.Is(err, errs.CodeUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	list, err := k.Articles(f.ctx, dana, knowledge.Filter{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("consumer's list before publishing = %v, %v", list.Items, err)
	}
	if _, err := k.Publish(f.ctx, dana, a.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("consumer publishes: %v, want not_found", err)
	}
	if a, err = k.Publish(f.ctx, ag, a.ID); err != nil || a.State != knowledge.StatePublished || a.PublishedAt == nil {
		t.Fatalf("publish = %+v, %v", a, err)
	}
	if _, err := k.Publish(f.ctx, ag, a.ID); !errs.Is(err, errs.CodeConflict) {
		t.Fatalf("publishing twice: %v, want conflict", err)
	}
	got, err := k.Article(f.ctx, dana, a.Reference)
	if err != nil || got.ID != a.ID {
		t.Fatalf("consumer reads the published article: %v, %v", got, err)
	}
	if _, err := k.Update(f.ctx, dana, a.ID, knowledge.Input{Title: "mine now", Body: "x"}); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("consumer edits: %v, want forbidden", err)
	}
	if _, err := k.Update(f.ctx, aud, a.ID, knowledge.Input{Title: "mine now", Body: "x"}); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("auditor edits: %v, want forbidden", err)
	}
	up, err := k.Update(f.ctx, ag, a.ID, knowledge.Input{Title: "Connect to the 3rd floor printer (Windows 11)", Body: "Open **Settings** → Printers."})
	if err != nil || up.State != knowledge.StatePublished || up.Service.Code != "desktop" {
		t.Fatalf("update = %+v, %v", up, err)
	}
	list, err = k.Articles(f.ctx, dana, knowledge.Filter{Query: "windows PRINTER"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Title != up.Title {
		t.Fatalf("consumer's search = %v, %v", list.Items, err)
	}
	if list, _ = k.Articles(f.ctx, dana, knowledge.Filter{Query: "linux"}); len(list.Items) != 0 {
		t.Fatalf("search for a word not there = %v", list.Items)
	}
	if _, err = k.Retire(f.ctx, ag, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Article(f.ctx, dana, a.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("consumer reads a retired article: %v, want not_found", err)
	}
	// A token limited to usage_reporter reads no article.
	limited := *dana
	limited.Grants, limited.TokenRoles = nil, []access.Role{access.RoleUsageReporter}
	if _, err := k.Articles(f.ctx, &limited, knowledge.Filter{}); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("limited token lists: %v", err)
	}
	// The audit log has every change.
	var n int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM audit_log WHERE object_id = $1`, a.ID).Scan(&n); err != nil || n != 4 {
		t.Fatalf("audit records of the article = %d, %v; want 4 (create, publish, update, retire)", n, err)
	}
}

func TestArticleValidation(t *testing.T) {
	f := newFixture(t)
	ag := f.as(agent)
	for _, c := range []struct {
		name string
		in   knowledge.Input
		want []string
	}{
		{"empty", knowledge.Input{}, []string{"service:required", "title:required", "body:required"}},
		{"long title", knowledge.Input{Service: "desktop", Title: strings.Repeat("é", knowledge.MaxTitle+1), Body: "b"}, []string{"title:length"}},
		{"long body", knowledge.Input{Service: "desktop", Title: "t", Body: strings.Repeat("a", knowledge.MaxBody+1)}, []string{"body:length"}},
		{"control", knowledge.Input{Service: "desktop", Title: "t\x00", Body: "b"}, []string{"title:text"}},
		{"no service", knowledge.Input{Service: "nope", Title: "t", Body: "b"}, []string{"service:exists"}},
	} {
		_, err := f.a.Knowledge.Create(f.ctx, ag, c.in)
		if !errs.Is(err, errs.CodeInvalid) {
			t.Errorf("%s: %v, want invalid", c.name, err)
			continue
		}
		if d := cmp.Diff(c.want, fieldsOf(err)); d != "" {
			t.Errorf("%s: fields (-want +got):\n%s", c.name, d)
		}
	}
	// At the bounds it is fine.
	if _, err := f.a.Knowledge.Create(f.ctx, ag, knowledge.Input{Service: "desktop", Title: strings.Repeat("é", knowledge.MaxTitle), Body: strings.Repeat("a", knowledge.MaxBody)}); err != nil {
		t.Fatal(err)
	}
}

func TestSuggestAndPaging(t *testing.T) {
	f := newFixture(t)
	ag, dana := f.as(agent), f.as(consumer)
	printer := f.publish(ag, "desktop", "Connect to the 3rd floor printer", "Add the printer **PRN-3F** from Settings → Printers & scanners.")
	vpn := f.publish(ag, "network", "Reset your VPN token", "When the VPN refuses your token, reset it in the self-service portal.")
	f.publish(ag, "email", "Share a mailbox calendar", "Open Outlook, right-click the calendar and share it.")
	if _, err := f.a.Knowledge.Create(f.ctx, ag, knowledge.Input{Service: "desktop", Title: "Printer draft: printing printers", Body: "printer printer printer"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text string
		want string
	}{
		{"my laptop cannot print to the printer on the third floor", printer.Reference},
		{"the vpn says my token is invalid", vpn.Reference},
	} {
		got, err := f.a.Knowledge.Suggest(f.ctx, dana, c.text, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Reference != c.want {
			t.Errorf("Suggest(%q) = %+v, want %s first", c.text, got, c.want)
		}
		for _, s := range got {
			if strings.Contains(s.Title, "draft") {
				t.Errorf("Suggest(%q) suggests a draft: %+v", c.text, s)
			}
		}
	}
	if got, _ := f.a.Knowledge.Suggest(f.ctx, dana, "quarterly budget spreadsheet", 0); len(got) != 0 {
		t.Errorf("unrelated text suggests %+v", got)
	}
	if _, err := f.a.Knowledge.Suggest(f.ctx, dana, "  ", 0); !errs.Is(err, errs.CodeInvalid) {
		t.Errorf("empty text: %v", err)
	}
	// A retired article is no longer suggested.
	if _, err := f.a.Knowledge.Retire(f.ctx, ag, vpn.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := f.a.Knowledge.Suggest(f.ctx, dana, "the vpn says my token is invalid", 0)
	for _, s := range got {
		if s.ID == vpn.ID {
			t.Errorf("a retired article is suggested: %+v", got)
		}
	}
	// Paging: the agent reads all four, two at a time.
	var seen []string
	pg := sqldb.Page{Limit: 2}
	for range 5 {
		l, err := f.a.Knowledge.Articles(f.ctx, ag, knowledge.Filter{Page: pg})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range l.Items {
			seen = append(seen, a.Reference)
		}
		if l.Next == "" {
			break
		}
		pg.Cursor = l.Next
	}
	if len(seen) != 4 {
		t.Errorf("paged through %v, want 4 articles", seen)
	}
	l, _ := f.a.Knowledge.Articles(f.ctx, dana, knowledge.Filter{})
	if len(l.Items) != 2 {
		t.Errorf("consumer lists %d articles, want the 2 published", len(l.Items))
	}
	if l, _ := f.a.Knowledge.Articles(f.ctx, ag, knowledge.Filter{State: knowledge.StateDraft, Service: "desktop"}); len(l.Items) != 1 {
		t.Errorf("agent's drafts of desktop = %d, want 1", len(l.Items))
	}
}

func TestLinkToTicket(t *testing.T) {
	f := newFixture(t)
	ag, dana := f.as(agent), f.as(consumer)
	a := f.publish(ag, "desktop", "Connect to the 3rd floor printer", "Add **PRN-3F**.")
	draft, err := f.a.Knowledge.Create(f.ctx, ag, knowledge.Input{Service: "desktop", Title: "Draft", Body: "not yet"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: "Cannot print on the 3rd floor"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Knowledge.Link(f.ctx, dana, tk.Reference, knowledge.LinkInput{Article: a.Reference}); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("requester links: %v, want forbidden", err)
	}
	if _, err := f.a.Knowledge.Link(f.ctx, ag, tk.Reference, knowledge.LinkInput{Article: draft.ID}); !errs.Is(err, errs.CodeInvalid) {
		t.Fatalf("linking a draft: %v, want invalid", err)
	}
	for range 2 { // linking twice changes nothing
		if _, err := f.a.Knowledge.Link(f.ctx, ag, tk.Reference, knowledge.LinkInput{Article: a.Reference}); err != nil {
			t.Fatal(err)
		}
	}
	linked, err := f.a.Knowledge.TicketArticles(f.ctx, dana, tk.ID)
	if err != nil || len(linked) != 1 || linked[0].ID != a.ID {
		t.Fatalf("requester sees linked %v, %v", linked, err)
	}
	other := f.as(auditor)
	if _, err := f.a.Knowledge.TicketArticles(f.ctx, f.as("arun@contoso.example"), tk.ID); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("someone who may not read the ticket: %v, want not_found", err)
	}
	if _, err := f.a.Knowledge.TicketArticles(f.ctx, other, tk.ID); err != nil {
		t.Fatalf("auditor reads the ticket's articles: %v", err)
	}
	if err := f.a.Knowledge.Unlink(f.ctx, dana, tk.ID, a.ID); !errs.Is(err, errs.CodeForbidden) {
		t.Fatalf("requester unlinks: %v", err)
	}
	if err := f.a.Knowledge.Unlink(f.ctx, ag, tk.ID, a.Reference); err != nil {
		t.Fatal(err)
	}
	if err := f.a.Knowledge.Unlink(f.ctx, ag, tk.ID, a.Reference); !errs.Is(err, errs.CodeNotFound) {
		t.Fatalf("unlinking twice: %v, want not_found", err)
	}
	if linked, _ := f.a.Knowledge.TicketArticles(f.ctx, dana, tk.ID); len(linked) != 0 {
		t.Fatalf("after unlinking: %v", linked)
	}
}

// The service suggestion learns from published articles: a word only an
// article of a service uses brings the service up.
func TestServiceSuggestionLearnsFromArticles(t *testing.T) {
	f := newFixture(t)
	ag, dana := f.as(agent), f.as(consumer)
	text := "the zorbulator flickers"
	before, err := f.a.Desk.Suggest(f.ctx, dana, text, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range before {
		if s.Service.Code == "crm-saas" {
			t.Fatalf("crm suggested before any article: %+v", before)
		}
	}
	f.publish(ag, "crm-saas", "When the zorbulator flickers", "A flickering zorbulator in the CRM is fixed by signing out and in.")
	// The model is built again in the background on its next use.
	var after []desk.Suggestion
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if after, err = f.a.Desk.Suggest(f.ctx, dana, text, 3); err != nil {
			t.Fatal(err)
		}
		if len(after) > 0 {
			break
		}
	}
	if len(after) == 0 || after[0].Service.Code != "crm-saas" {
		t.Fatalf("after the article, Suggest(%q) = %+v, want crm-saas first", text, after)
	}
}
