package catalog_test

import (
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
)

// TestFocusCategory: a service's FOCUS ServiceCategory is one of FOCUS
// 1.2's allowed values ("ServiceCategory MUST be one of the allowed
// values"), "Other" when none is given ("ServiceName MUST be associated
// with the ServiceCategory "Other" when no suitable ServiceCategory is
// available"), and a value FOCUS does not list is refused with the field
// named and nothing written (issue 16, FOCUS: ServiceCategory per service).
func TestFocusCategory(t *testing.T) {
	c, ctx := setup(t)
	sys := access.System()
	s, err := c.CreateService(ctx, sys, catalog.ServiceInput{Code: "email", Name: "Email", Kind: catalog.KindBusiness})
	if err != nil || s.FocusCategory != catalog.FocusOther {
		t.Fatalf("no category: %v %v", s, err)
	}
	in := s.Input()
	in.FocusCategory = "Business Applications"
	if s, err = c.UpdateService(ctx, sys, "email", in); err != nil || s.FocusCategory != "Business Applications" {
		t.Fatalf("set: %v %v", s, err)
	}
	if got, _ := c.Service(ctx, sys, "email"); got.FocusCategory != "Business Applications" || got.Input().FocusCategory != "Business Applications" {
		t.Errorf("read back: %q", got.FocusCategory)
	}
	for _, bad := range []string{"Cloud", "compute", "Other (Compute)"} {
		in.FocusCategory = bad
		_, err = c.UpdateService(ctx, sys, "email", in)
		e := errs.As(err)
		if e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "focus_category" || !strings.Contains(e.Fields[0].Message, "Management and Governance") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if got, _ := c.Service(ctx, sys, "email"); got.FocusCategory != "Business Applications" {
		t.Errorf("a refused update wrote %q", got.FocusCategory)
	}
	if len(catalog.FocusCategories) != 19 {
		t.Errorf("FOCUS 1.2 has 19 service categories, Steward lists %d", len(catalog.FocusCategories))
	}
}
