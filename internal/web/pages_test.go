package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestPagesPerRole renders every catalog, order and portfolio page as the
// demo users whose work they are, and checks what each may and may not see.
func TestPagesPerRole(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: sqldbtest.Config(t),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	get := func(email, path string) (int, string) {
		t.Helper()
		s, err := a.Identity.Login(ctx, email, demo.Password, "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: s.Secret})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// Issue 17, item 10: the demo's admin reaches service levels now, so a
	// person holding only usage_reporter (no agreement.read) is the one
	// the service level pages refuse.
	reporter, err := a.Identity.CreateUser(ctx, access.System(), identity.CreateUserInput{Email: "meter-agent@it.contoso.example", Name: "Meter Agent", Password: demo.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity.CreateGrant(ctx, access.System(), identity.CreateGrantInput{UserID: reporter.ID, Role: access.RoleUsageReporter, ScopeKind: access.ScopeGlobal}); err != nil {
		t.Fatal(err)
	}
	all, _ := a.Orders.Orders(ctx, access.System(), orders.OrderFilter{Page: sqldb.Page{Limit: 100}})
	instPage, _ := a.Orders.Instances(ctx, access.System(), orders.InstanceFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}})
	insts := instPage.Items
	tests := []struct {
		email, path string
		status      int
		want, not   []string
	}{
		{"dana@contoso.example", "/catalog", 200, []string{"Virtual machine", "Standard laptop", "CRM seat"}, []string{"Portfolio</a>"}},
		{"dana@contoso.example", "/catalog?q=minutes", 200, []string{"Virtual machine"}, []string{"Standard laptop"}},
		{"dana@contoso.example", "/catalog?view=summary", 200, []string{"Executive summary", "Private cloud virtual machines"}, nil},
		{"dana@contoso.example", "/catalog/vm", 200, []string{"Host name", `name="param.cpus"`, "Gold", "480.00 EUR a month"}, nil},
		{"dana@contoso.example", "/catalog/file-share", 200, []string{"takes no new orders", "Object storage"}, []string{"Add to cart"}},
		{"dana@contoso.example", "/cart", 200, []string{"Standard laptop", "Submit order"}, nil},
		{"dana@contoso.example", "/orders", 200, []string{"awaiting approval", "rejected", "completed", "cancelled", "failed"}, nil},
		{"dana@contoso.example", "/my-services", 200, []string{"shop-test", "Mailbox"}, nil},
		{"dana@contoso.example", "/portfolio", 403, nil, nil},
		{"arun@contoso.example", "/approvals", 200, []string{"Monthly cost over 500 needs the sponsor", "Approve"}, nil},
		{"alex@it.contoso.example", "/tasks", 200, []string{"shop-staging", "Done"}, nil},
		{"petra@it.contoso.example", "/portfolio", 200, []string{"in design", "AI writing assistant", "Propose a service"}, nil},
		{"petra@it.contoso.example", "/portfolio/private-cloud", 200, []string{"<svg", "vSphere cluster", "Managed PostgreSQL", "GPU tier", "Move to retiring", "Edit this service"}, nil},
		{"petra@it.contoso.example", "/portfolio/private-cloud/edit", 200, []string{"Weekly hours", `value="08:00"`}, nil},
		{"omar@it.contoso.example", "/portfolio/email", 200, []string{"Exchange Server 2019", "Edit this service"}, []string{"Move to"}},
		{"audrey@it.contoso.example", "/portfolio/email", 200, nil, []string{"Edit this service"}},
		{"audrey@it.contoso.example", "/portfolio/email/edit", 403, nil, nil},
		{"omar@it.contoso.example", "/portfolio/email", 200, []string{"Add an offering", `name="redundancy_group"`, "Remove the dependency on Exchange Server 2019"}, nil},
		{"omar@it.contoso.example", "/catalog/mailbox/edit", 200, []string{`name="plan.0.code" value="standard"`, `name="plan.2.code"`, "Save offering"}, []string{`name="plan.3.code"`}},
		{"omar@it.contoso.example", "/portfolio/email/offerings/new", 200, []string{"New offering of Email and calendar", "&#34;properties&#34;"}, nil},
		{"dana@contoso.example", "/catalog/mailbox", 200, nil, []string{"Edit this offering"}},
		{"audrey@it.contoso.example", "/catalog/mailbox/edit", 403, nil, nil},
		{"audrey@it.contoso.example", "/portfolio/email/offerings/new", 403, nil, nil},
		{"audrey@it.contoso.example", "/portfolio/email", 200, nil, []string{"Add an offering", `name="redundancy_group"`}},
		// Costs and billing: Dana sees Retail's draft invoice to date; Felix runs billing.
		{"dana@contoso.example", "/costs", 200, []string{"My costs", "<svg", "Object storage", "Draft invoice", "Private cloud virtual machines", "Email and calendar"}, []string{"Manufacturing"}},
		{"dana@contoso.example", "/billing", 403, nil, nil},
		{"dana@contoso.example", "/catalog/bucket", 200, []string{"+ Storage: graduated", "Price history"}, nil},
		{"dana@contoso.example", "/catalog/bucket/plans/standard/prices", 200, []string{"Version 1", "Storage"}, []string{"Add a version"}},
		{"omar@it.contoso.example", "/catalog/bucket/plans/standard/prices", 200, []string{"Add a version", "&#34;storage-gb&#34;"}, nil},
		{"felix@it.contoso.example", "/billing", 200, []string{"Billing runs", "Retail", "Manufacturing", "showback", "Run billing", "completed"}, nil},
		{"felix@it.contoso.example", "/costs", 200, []string{"Retail", "Manufacturing", "Draft statement"}, nil},
		{"felix@it.contoso.example", "/admin/meters", 200, []string{"storage-gb", "instance-hours", "Define a meter"}, nil},
		{"dana@contoso.example", "/admin/meters", 200, []string{"storage-gb"}, []string{"Define a meter"}},
		// Provisioning: the supplier manager registers providers; the admin registers platforms.
		{"sofia@it.contoso.example", "/admin/providers", 200, []string{"Providers", "Register a provider", "Default placement policy", "provider.healthy"}, nil},
		{"omar@it.contoso.example", "/admin/providers", 200, []string{"Default placement policy"}, []string{"Register a provider", "Save policy"}},
		{"dana@contoso.example", "/admin/providers", 403, nil, nil},
		{"admin@it.contoso.example", "/admin/platforms", 200, []string{"Register a platform", "/osb"}, nil},
		{"sofia@it.contoso.example", "/admin/platforms", 403, nil, nil},
		{"sofia@it.contoso.example", "/admin/blueprints", 200, []string{"Blueprints", "No blueprints yet", "Upload a blueprint"}, nil},
		{"petra@it.contoso.example", "/admin/blueprints", 200, []string{"Upload a blueprint"}, nil},
		{"omar@it.contoso.example", "/admin/blueprints", 200, []string{"No blueprints yet"}, []string{"Upload a blueprint"}},
		{"dana@contoso.example", "/admin/blueprints", 403, nil, nil},
		{"sofia@it.contoso.example", "/admin/blueprints/none", 404, nil, nil},
		{"lena@it.contoso.example", "/sla", 200, []string{"Desktop computing for Retail", "Network for the desktop", "New agreement", "Record an outage", "% of budget",
			`aria-label="Error budget of desktop-sla spent over the window`}, nil},
		{"dana@contoso.example", "/sla", 200, []string{"Desktop computing for Retail", "Service levels</a>"}, []string{"Network for the desktop", "New agreement", "Record an outage"}},
		{"sam@it.contoso.example", "/sla", 200, []string{"No agreements yet"}, []string{"Desktop computing for Retail"}},
		{"meter-agent@it.contoso.example", "/sla", 403, nil, nil},
		{"admin@it.contoso.example", "/sla", 200, []string{"Desktop computing for Retail", "Network for the desktop", "New agreement", "Record an outage"}, nil},
		{"dana@contoso.example", "/", 200, []string{"Service level warnings", "Desktop computing for Retail: "}, nil},
		{"sam@it.contoso.example", "/", 200, nil, []string{"Service level warnings"}},
		{"dana@contoso.example", "/sla/agreements/desktop-sla", 200, []string{"Service level agreement", "99.5 % availability, rolling 6 months", "Error budget burn: availability",
			"Network for the desktop", "50.00 EUR per hour beyond the allowance per affected unit", "Mon 08:00–18:00"}, []string{"Edit the agreement"}},
		{"lena@it.contoso.example", "/sla/agreements/desktop-sla", 200, []string{"Edit the agreement", "Edit its service hours"}, nil},
		{"sam@it.contoso.example", "/sla/agreements/desktop-sla", 404, nil, nil},
		{"lena@it.contoso.example", "/sla/agreements/desktop-sla/edit", 200, []string{"Monthly maintenance", "FREQ=MONTHLY;BYDAY=1SU", "Service hours", "availability"}, nil},
		{"dana@contoso.example", "/sla/agreements/desktop-sla/edit", 403, nil, nil},
		{"lena@it.contoso.example", "/sla/agreements/new", 200, []string{"New agreement", "Maintenance windows", "Rebates"}, nil},
		{"dana@contoso.example", "/sla/agreements/desktop-sla/review", 200, []string{"Service review: Desktop computing for Retail", "Image server out of disk", "Core switch failover", "Printer driver missing"}, nil},
		{"alex@it.contoso.example", "/sla/outages", 200, []string{"Record an outage", "Store logons slow to fail", "partial (30 %)"}, nil},
		{"dana@contoso.example", "/sla/outages", 403, nil, nil},
		// The service desk (issue 20).
		{"dana@contoso.example", "/help", 200, []string{"Get help", "Desktop computing", "Suggest the service", "Raise the ticket"}, nil},
		{"dana@contoso.example", "/help?suggest=1&description=my+laptop+cannot+print", 200, []string{"It sounds like", `value="desktop" checked`}, nil},
		{"dana@contoso.example", "/tickets", 200, []string{"Raised or watched by me"}, []string{"My groups&#39; queue"}},
		{"alex@it.contoso.example", "/tickets", 200, []string{"My groups&#39; queue", "Assigned to me"}, nil},
		{"audrey@it.contoso.example", "/help", 403, nil, nil},
		{"lena@it.contoso.example", "/tickets/report", 200, []string{"Service desk report", "Download as CSV", "No tickets in the period"}, nil},
		{"lena@it.contoso.example", "/tickets/report?from=2026-13", 422, []string{"from is a month"}, nil},
		{"audrey@it.contoso.example", "/tickets", 200, []string{"All I may see"}, []string{"Raised or watched by me"}},
	}
	for _, i := range insts {
		if i.Name == "shop-test" {
			tests = append(tests, struct {
				email, path string
				status      int
				want, not   []string
			}{"dana@contoso.example", "/my-services/" + i.ID, 200, []string{"shop-test", "Operations", "made by hand", "Request plan change", "Deprovision shop-test"}, nil},
				struct {
					email, path string
					status      int
					want, not   []string
				}{"sam@it.contoso.example", "/my-services/" + i.ID, 404, nil, nil})
		}
	}
	docsPage, _ := a.Billing.Documents(ctx, access.System(), billing.DocumentFilter{})
	docs := docsPage.Items
	for _, d := range docs {
		want := []string{d.AccountName, "Why this number"}
		if d.AccountName != "Retail" {
			tests = append(tests, struct {
				email, path string
				status      int
				want, not   []string
			}{"dana@contoso.example", "/billing/documents/" + d.ID, 403, nil, nil})
			continue
		}
		tests = append(tests, struct {
			email, path string
			status      int
			want, not   []string
		}{"dana@contoso.example", "/billing/documents/" + d.ID, 200, append(want, "shop-images", "Storage", "Requests", "Print or save as PDF with your browser"), []string{"Finalise", "onclick"}},
			struct {
				email, path string
				status      int
				want, not   []string
			}{"felix@it.contoso.example", "/billing/documents/" + d.ID, 200, []string{"Finalise", "Add line"}, nil})
	}
	for _, o := range all.Items {
		tests = append(tests, struct {
			email, path string
			status      int
			want, not   []string
		}{"dana@contoso.example", "/orders/" + o.ID, 200, []string{o.Reference()}, nil})
	}
	if len(insts) == 0 {
		t.Fatal("the demo has no instances")
	}
	for _, tt := range tests {
		code, body := get(tt.email, tt.path)
		if code != tt.status {
			t.Errorf("%s %s = %d, want %d\n%s", tt.email, tt.path, code, tt.status, errorText(body))
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s lacks %q", tt.email, tt.path, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%s %s shows %q", tt.email, tt.path, n)
			}
		}
	}
}

func errorText(body string) string {
	if m := regexp.MustCompile(`(?s)<main.*</main>`).FindString(body); m != "" {
		return m
	}
	return body
}
