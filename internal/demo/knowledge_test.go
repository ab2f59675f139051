package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestSeedKnowledge: the demo's knowledge base has a handful of articles
// across its services, all but one published, linked to the tickets they
// answer; seeding again adds none.
func TestSeedKnowledge(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	u, err := a.Identity.UserByEmail(ctx, access.System(), "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	dana, err := a.Identity.Principal(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := a.Desk.Raise(ctx, dana, desk.RaiseInput{Service: "desktop", Summary: "Cannot print on the 3rd floor"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := demo.SeedKnowledge(ctx, a.Identity, a.Knowledge, a.Desk); err != nil {
			t.Fatal(err)
		}
	}
	all, err := a.Knowledge.Articles(ctx, access.System(), knowledge.Filter{Page: sqldb.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	services, published := map[string]bool{}, 0
	for _, x := range all.Items {
		services[x.Service.Code] = true
		if x.State == knowledge.StatePublished {
			published++
		}
	}
	if n := len(all.Items); n < 8 || n > 12 || published != n-1 || len(services) < 6 {
		t.Errorf("the demo has %d articles (%d published) over %d services, want 8 to 12, all but one published, over 6 or more", n, published, len(services))
	}
	linked, err := a.Knowledge.TicketArticles(ctx, dana, tk.ID)
	if err != nil || len(linked) != 1 || linked[0].Title != "Connect to the 3rd floor printer" {
		t.Errorf("Dana's printer ticket links %v, %v; want the printer article", linked, err)
	}
	sg, err := a.Knowledge.Suggest(ctx, dana, "my vpn token expired", 0)
	if err != nil || len(sg) == 0 || sg[0].Title != "Reset your VPN token" {
		t.Errorf("suggest for an expired VPN token = %+v, %v", sg, err)
	}
}

// TestSeedKnowledgeAfterHistory: on the demo as `serve --demo` seeds it,
// the articles are linked to tickets of the history they answer.
func TestSeedKnowledgeAfterHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t), Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA, DB: a.DB}
	if _, err := demo.Seed(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedDesk(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedKnowledge(ctx, a.Identity, a.Knowledge, a.Desk); err != nil {
		t.Fatal(err)
	}
	var links, articles int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT article_id) FROM ticket_articles`).Scan(&links, &articles); err != nil {
		t.Fatal(err)
	}
	if links < 8 || articles < 4 {
		t.Errorf("the history's tickets link %d times to %d articles, want 8 or more to 4 or more", links, articles)
	}
	t.Logf("%d links to %d articles", links, articles)
}
