package portfolio_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/portfolio"
)

// Issue 17, item 14: a dry run shows what changes, entity by entity, and
// for an update each field with its old and new value.
func TestPreviewShowsEachChange(t *testing.T) {
	ctx, sys := context.Background(), access.System()
	a, sa := newApp(t)
	if _, err := demo.Seed(ctx, demo.Services{Identity: sa.Identity, Catalog: sa.Catalog, Orders: sa.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	file, err := portfolio.Export(ctx, sa, sys)
	if err != nil {
		t.Fatal(err)
	}
	all, err := portfolio.Preview(ctx, sa, sys, "p.yaml", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.Op != portfolio.OpUnchanged {
			t.Errorf("the export itself: %v %v", c, c.Fields)
		}
	}
	edit := string(file)
	for _, r := range [][2]string{
		{"    name: Email and calendar\n", "    name: Email\n"},
		{"    description: Mailboxes, shared calendars and distribution lists for every employee.\n",
			"    description: Mailboxes, shared calendars, distribution lists and archiving for every employee of Contoso.\n"},
		{"  - from_service: email\n    to_ci: exchange\n    kind: runs_on\n", ""},
		{"        recurring: \"6.00\"\n", "        recurring: \"7.00\"\n"},
		{"      - code: performance\n        name: Performance\n        currency: EUR\n        recurring: \"70.00\"\n        one_time: \"150.00\"\n        agreement: SLA-DESKTOP\n", ""},
		{"    expression: item.plan == \"gold\"\n    step: 2\n", "    expression: item.plan == \"gold\"\n    step: 3\n"},
		{"    offering: vm\n    max_instances: 10\n", "    offering: vm\n    max_instances: 12\n"},
		{"services:\n", "services:\n  - code: printing\n    name: Printing\n    kind: business\n    lifecycle: proposed\n"},
	} {
		if !strings.Contains(edit, r[0]) {
			t.Fatalf("the export lacks %q", r[0])
		}
		edit = strings.Replace(edit, r[0], r[1], 1)
	}
	all, err = portfolio.Preview(ctx, sa, sys, "p.yaml", []byte(edit))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	unchanged := 0
	for _, c := range all {
		if c.Op == portfolio.OpUnchanged {
			unchanged++
			continue
		}
		got = append(got, c.String())
		for _, f := range c.Fields {
			got = append(got, "    "+f.String())
		}
	}
	want := []string{
		"+ service printing",
		"~ service email",
		"    description: changed (70 → 92 characters)",
		"    name: Email and calendar → Email",
		"- dependency email runs on ci exchange",
		"~ offering laptop",
		"    plans[performance]: removed",
		"~ offering mailbox",
		"    plans[standard].recurring: 6.00 → 7.00",
		"~ approval policy Gold tier needs finance",
		"    step: 2 → 3",
		"~ quota CC-5100/vm",
		"    max_instances: 10 → 12",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the preview (-want +got):\n%s", diff)
	}
	if unchanged < 40 {
		t.Errorf("the preview lists %d unchanged entities", unchanged)
	}
	// Import's dry run is the same changes, without the unchanged.
	changes, err := portfolio.Import(ctx, sa, sys, "p.yaml", []byte(edit), true)
	if err != nil || len(changes) != 7 {
		t.Errorf("the dry run: %v (%v)", changes, err)
	}
}

// Issue 17, item 14: one short line per changed field; long or multi-line
// texts by their length.
func TestFieldChangeString(t *testing.T) {
	long := strings.Repeat("x", 61)
	for _, c := range []struct {
		f    portfolio.FieldChange
		want string
	}{
		{portfolio.FieldChange{Field: "name", Old: "Mail", New: "Email"}, "name: Mail → Email"},
		{portfolio.FieldChange{Field: "help", New: "Ask the desk"}, "help: (none) → Ask the desk"},
		{portfolio.FieldChange{Field: "help", Old: "Ask the desk"}, "help: Ask the desk → (none)"},
		{portfolio.FieldChange{Field: "description", Old: "short", New: long}, "description: changed (5 → 61 characters)"},
		{portfolio.FieldChange{Field: "description", Old: "a\nb", New: "a\nc"}, "description: changed (3 → 3 characters)"},
		{portfolio.FieldChange{Field: "plans[large]", New: "added"}, "plans[large]: added"},
		{portfolio.FieldChange{Field: "plans[small]", New: "removed"}, "plans[small]: removed"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("%+v = %q, want %q", c.f, got, c.want)
		}
	}
}
