package access_test

import (
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
)

// Issue 17, item 9: the forbidden message says in words what the caller may
// not do and which roles would allow it ("you may not agreement read here:
// it needs one of the roles consumer, …" was garbled).
func TestForbiddenMessageInWords(t *testing.T) {
	t.Parallel()
	for _, a := range access.Actions {
		if d := a.Description(); d == "" || strings.ContainsAny(d, "._") {
			t.Errorf("action %s is described as %q, not in words", a, d)
		}
		e := errs.As(access.Forbidden(a))
		if e.Code != errs.CodeForbidden {
			t.Fatalf("Forbidden(%s) is %s", a, e.Code)
		}
		if !strings.HasPrefix(e.Message, "you may not "+a.Description()+" here: that takes ") || strings.Contains(e.Message, "_") {
			t.Errorf("Forbidden(%s) = %q", a, e.Message)
		}
	}
	// One role, and two (the admin configures billing too: issue 17, item 10).
	for a, want := range map[access.Action]string{
		access.UsageIngest:   "you may not send usage events here: that takes the role usage reporter, granted on its org unit or service or on the whole organisation; ask an administrator to grant one",
		access.BillingManage: "you may not run billing or change billing accounts and invoices here: that takes one of the roles financial manager or admin, granted on its org unit or service or on the whole organisation; ask an administrator to grant one",
	} {
		if got := errs.As(access.Forbidden(a)).Message; got != want {
			t.Errorf("Forbidden(%s) =\n%q, want\n%q", a, got, want)
		}
	}
}
