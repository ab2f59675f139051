package sso_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sso"
)

func TestEvaluate(t *testing.T) {
	t.Parallel()
	consumer := identity.RuleGrant{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: "ou-retail"}
	auditor := identity.RuleGrant{Role: access.RoleAuditor, ScopeKind: access.ScopeGlobal}
	rule := func(claim string, m sso.Match, value, ou string, gs ...identity.RuleGrant) sso.Rule {
		return sso.Rule{Claim: claim, Match: m, Value: value, OrgUnitID: ou, Grants: gs}
	}
	for _, tc := range []struct {
		name   string
		rules  []sso.Rule
		claims map[string]any
		want   sso.Mapping
	}{
		{"no rules", nil, map[string]any{"email": "a@b.c"}, sso.Mapping{MatchedRules: []int{}, Grants: []identity.RuleGrant{}}},
		{"group in a list", []sso.Rule{rule("groups", sso.MatchEquals, "audit", "", auditor)},
			map[string]any{"groups": []any{"staff", "audit"}}, sso.Mapping{MatchedRules: []int{0}, Grants: []identity.RuleGrant{auditor}}},
		{"group not in the list", []sso.Rule{rule("groups", sso.MatchEquals, "audit", "", auditor)},
			map[string]any{"groups": []any{"staff", "auditors"}}, sso.Mapping{MatchedRules: []int{}, Grants: []identity.RuleGrant{}}},
		{"equals is exact", []sso.Rule{rule("department", sso.MatchEquals, "Retail", "ou-retail")},
			map[string]any{"department": "retail"}, sso.Mapping{MatchedRules: []int{}, Grants: []identity.RuleGrant{}}},
		{"contains", []sso.Rule{rule("department", sso.MatchContains, "Retail", "ou-retail", consumer)},
			map[string]any{"department": "Retail Europe"}, sso.Mapping{MatchedRules: []int{0}, OrgUnitID: "ou-retail", Grants: []identity.RuleGrant{consumer}}},
		{"email domain, any case", []sso.Rule{rule("", sso.MatchEmailDomain, "retail.example", "ou-retail")},
			map[string]any{"email": "Ana@Retail.Example"}, sso.Mapping{MatchedRules: []int{0}, OrgUnitID: "ou-retail", Grants: []identity.RuleGrant{}}},
		{"email domain is the whole domain", []sso.Rule{rule("email", sso.MatchEmailDomain, "retail.example", "ou-retail")},
			map[string]any{"email": "ana@evilretail.example"}, sso.Mapping{MatchedRules: []int{}, Grants: []identity.RuleGrant{}}},
		{"dotted path", []sso.Rule{rule("org.unit", sso.MatchEquals, "7", "ou-7")},
			map[string]any{"org": map[string]any{"unit": float64(7)}}, sso.Mapping{MatchedRules: []int{0}, OrgUnitID: "ou-7", Grants: []identity.RuleGrant{}}},
		{"boolean claim", []sso.Rule{rule("contractor", sso.MatchEquals, "false", "", consumer)},
			map[string]any{"contractor": false}, sso.Mapping{MatchedRules: []int{0}, Grants: []identity.RuleGrant{consumer}}},
		{"missing claim", []sso.Rule{rule("department", sso.MatchContains, "R", "ou-retail")},
			map[string]any{}, sso.Mapping{MatchedRules: []int{}, Grants: []identity.RuleGrant{}}},
		{"first org unit wins, grants once", []sso.Rule{
			rule("groups", sso.MatchEquals, "a", "ou-a", consumer),
			rule("groups", sso.MatchEquals, "b", "ou-b", consumer, auditor)},
			map[string]any{"groups": []any{"a", "b"}}, sso.Mapping{MatchedRules: []int{0, 1}, OrgUnitID: "ou-a", Grants: []identity.RuleGrant{consumer, auditor}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sso.Evaluate(tc.rules, tc.claims)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestProviderInputValidate(t *testing.T) {
	t.Parallel()
	ok := func() sso.ProviderInput {
		return sso.ProviderInput{Code: "corp", Name: "Corp", IssuerURL: "https://login.example.com/realms/staff", ClientID: "steward"}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*sso.ProviderInput)
		field string
	}{
		{"valid", func(*sso.ProviderInput) {}, ""},
		{"http issuer on loopback", func(in *sso.ProviderInput) { in.IssuerURL = "http://127.0.0.1:5556" }, ""},
		{"http issuer elsewhere", func(in *sso.ProviderInput) { in.IssuerURL = "http://login.example.com" }, "issuer_url"},
		{"issuer with a query", func(in *sso.ProviderInput) { in.IssuerURL = "https://login.example.com/?x=1" }, "issuer_url"},
		{"code", func(in *sso.ProviderInput) { in.Code = "Corp ID" }, "code"},
		{"client_id", func(in *sso.ProviderInput) { in.ClientID = "" }, "client_id"},
		{"scope", func(in *sso.ProviderInput) { in.Scopes = []string{"openid", `bad"scope`} }, "scopes[1]"},
		{"rule match", func(in *sso.ProviderInput) {
			in.Rules = []sso.Rule{{Claim: "groups", Match: "regex", Value: "x", OrgUnitID: "01a20000-0000-7000-8000-000000000000"}}
		}, "rules[0].match"},
		{"rule gives nothing", func(in *sso.ProviderInput) {
			in.Rules = []sso.Rule{{Claim: "groups", Match: sso.MatchEquals, Value: "x"}}
		}, "rules[0]"},
		{"rule grant role", func(in *sso.ProviderInput) {
			in.Rules = []sso.Rule{{Claim: "groups", Match: sso.MatchEquals, Value: "x", Grants: []identity.RuleGrant{{Role: "god", ScopeKind: access.ScopeGlobal}}}}
		}, "rules[0].grants[0].role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok()
			tc.edit(&in)
			err := in.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if in.Scopes[0] != "openid" || *in.Enabled != true {
					t.Errorf("defaults: scopes %v, enabled %v", in.Scopes, *in.Enabled)
				}
				return
			}
			if err == nil || !hasField(err, tc.field) {
				t.Errorf("Validate = %v, want an error on %s", err, tc.field)
			}
		})
	}
}

func hasField(err error, field string) bool {
	for _, f := range errs.As(err).Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
