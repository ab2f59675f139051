package orders_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
	"github.com/steward-itaas/steward/internal/orders"
)

// FuzzPolicyInput: issue 15 (defences, finding 9): saving an approval
// policy with any expression is bounded (internal/expr refuses long and
// costly expressions before anything runs) and either passes or fails
// with field errors of code invalid; it never panics.
func FuzzPolicyInput(f *testing.F) {
	for _, seed := range []string{
		"true", "order.total_monthly > 1000", `item.plan == "gold"`, "order.total_monthly >", "1 + 2",
		`item.parameters.os == "windows" && item.parameters.cpus >= 8`, `has(item.parameters.disk_gb) && item.parameters.disk_gb > 500`,
		`item.addons.all(a, item.addons.all(b, item.addons.all(c, item.addons.all(d, a + b + c + d != ""))))`,
		`[1,2,3].map(x, [1,2,3].map(y, x * y)).size() > 2`, `"a".repeat(10) == "x"`, strings.Repeat("(", 200), strings.Repeat("true && ", 600) + "true",
		`item.parameters.exists(k, k.matches("^(a+)+$"))`, "\x00", "order.items > 0 ? true : false",
	} {
		f.Add(seed)
	}
	allowed := map[string]bool{"expression": true, "name": true, "step": true, "approver_kind": true, "approver_role": true}
	f.Fuzz(func(t *testing.T, expression string) {
		defer fuzztest.Bound(t)()
		in := orders.PolicyInput{Name: "fuzz", Expression: expression, ApproverKind: orders.ApproverSponsor}
		err := in.Validate()
		if err == nil {
			return
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.CodeInvalid || len(e.Fields) == 0 {
			t.Fatalf("Validate(%q) = %#v, want an invalid *errs.Error with field errors", expression, err)
		}
		for _, fe := range e.Fields {
			if !allowed[fe.Field] || fe.Rule == "" || fe.Message == "" {
				t.Fatalf("Validate(%q): field error %+v", expression, fe)
			}
		}
	})
}

// FuzzOrderInput: issue 15 (defences, findings 8 and 15): any item given
// to CreateOrder is either ordered or refused with an *errs.Error whose
// field errors name the item by index (items[0].…); nothing panics and no
// refusal is an internal error.
func FuzzOrderInput(f *testing.F) {
	f.Add("vm", "bronze", 1, `{"hostname":"a"}`, "backup")
	f.Add("vm", "gold", 3, `{"hostname":"a","cpus":16,"os":"windows"}`, "")
	f.Add("vm", "platinum", 0, `{}`, "")
	f.Add("", "", -1, `null`, "")
	f.Add("vm", "bronze", 1000000, `{"hostname":"Not Valid","cpus":64,"colour":"red"}`, "nope")
	f.Add("vm", "bronze", 1, `{"hostname":["a"],"cpus":"2","os":{"x":1}}`, "")
	f.Add("vm", "bronze", 1, `{"hostname":"`+strings.Repeat("a", 5000)+`"}`, "")
	f.Add("01234567-89ab-7def-8123-456789abcdef", "x\x00y", 2, `{"hostname":1e309}`, "")
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, offering, plan string, quantity int, params, addon string) {
		defer fuzztest.Bound(t)()
		item := orders.ItemInput{Offering: offering, Plan: plan, Quantity: quantity}
		json.Unmarshal([]byte(params), &item.Parameters)
		if addon != "" {
			item.Addons = []string{addon}
		}
		_, err := fx.ord.CreateOrder(fx.ctx, fx.dana, orders.OrderInput{Items: []orders.ItemInput{item}})
		if err == nil {
			return
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Code == errs.CodeInternal {
			t.Fatalf("CreateOrder(%+v) = %v, want a refusal that is not internal", item, err)
		}
		for _, fe := range e.Fields {
			if !strings.HasPrefix(fe.Field, "items[0].") {
				t.Fatalf("CreateOrder(%+v): field error %+v does not name the item by index", item, fe)
			}
		}
	})
}
