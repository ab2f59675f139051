package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/jobs"
)

// Issue 17, item 4: the jobs page offers "Run now" only for kinds that run
// without arguments, and refuses a run-now of one that needs them instead of
// queueing a job that fails five times.
func TestJobsPageRunsOnlyKindsWithoutArguments(t *testing.T) {
	t.Parallel()
	p := newDemoPortal(t)
	admin := p.as("admin@it.contoso.example")

	status, _, body := admin.do("GET", "/admin/jobs", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /admin/jobs = %d", status)
	}
	for _, kind := range []string{"billing.run", "provision.operation", "provision.place"} {
		if !strings.Contains(body, "<code>"+kind+"</code>") {
			t.Errorf("the jobs page does not list %s", kind)
		}
		if strings.Contains(body, `aria-label="Run `+kind+` now"`) {
			t.Errorf("the jobs page offers to run %s now, which needs arguments", kind)
		}
	}
	for _, kind := range []string{"sessions.purge", "sla.evaluate", "audit.verify"} {
		if !strings.Contains(body, `aria-label="Run `+kind+` now"`) {
			t.Errorf("the jobs page does not offer to run %s now", kind)
		}
	}

	ctx := context.Background()
	beforePage, err := p.app.Jobs.Jobs(ctx, access.System(), jobs.Filter{Kind: "billing.run"})
	if err != nil {
		t.Fatal(err)
	}
	status, _, body = admin.do("POST", "/admin/jobs", url.Values{"kind": {"billing.run"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "billing.run needs arguments") {
		t.Errorf("POST run billing.run now = %d, want 422 saying it needs arguments\n%s", status, errorText(body))
	}
	afterPage, err := p.app.Jobs.Jobs(ctx, access.System(), jobs.Filter{Kind: "billing.run"})
	if err != nil || len(afterPage.Items) != len(beforePage.Items) {
		t.Errorf("the refused run-now changed the billing.run jobs from %d to %d (%v)", len(beforePage.Items), len(afterPage.Items), err)
	}

	status, _, _ = admin.do("POST", "/admin/jobs", url.Values{"kind": {"sessions.purge"}})
	if status != http.StatusSeeOther {
		t.Errorf("POST run sessions.purge now = %d, want 303", status)
	}
	queuedPage, err := p.app.Jobs.Jobs(ctx, access.System(), jobs.Filter{Kind: "sessions.purge", Status: jobs.StatusQueued})
	if err != nil || len(queuedPage.Items) == 0 {
		t.Errorf("run-now of sessions.purge queued nothing (%v)", err)
	}
}
