package api_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ssoScenario registers an identity provider with a mapping rule, tries
// claims against it, changes it, turns local passwords off and on, and
// deletes it: every single sign-on route, validated against the spec.
func ssoScenario(t *testing.T, e *env, retail string) {
	c, admin := e.check, e.admin
	_, outsider := e.user(t, "sso-nosy@example.com", retail)
	in := map[string]any{"code": "corp", "name": "Corp ID", "issuer_url": "https://login.example.com/realms/staff", "client_id": "steward",
		"client_secret": "s3cret", "rules": []any{map[string]any{"name": "retail", "match": "email_domain", "value": "retail.example",
			"org_unit_id": retail, "grants": []any{map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail}}}}}
	c.do("POST", "/api/v1/identity-providers", outsider, in, 403)
	if f := c.bad("POST", "/api/v1/identity-providers", admin, map[string]any{"code": "Bad Code", "name": "x", "issuer_url": "http://login.example.com", "client_id": "c",
		"rules": []any{map[string]any{"claim": "groups", "match": "regex", "value": "x", "org_unit_id": retail}}}, 422).problemFields(); len(f) != 3 {
		t.Errorf("a bad identity provider: fields %v, want code, issuer_url, rules[0].match", f)
	}
	var idp struct {
		ID              string `json:"id"`
		HasClientSecret bool   `json:"has_client_secret"`
	}
	c.do("POST", "/api/v1/identity-providers", admin, in, 201).decode(t, &idp)
	if !idp.HasClientSecret {
		t.Error("the client secret was not kept")
	}
	c.do("GET", "/api/v1/identity-providers", admin, nil, 200)
	c.do("GET", "/api/v1/identity-providers/corp", admin, nil, 200)
	c.do("GET", "/api/v1/identity-providers/"+idp.ID, outsider, nil, 403)
	var m struct {
		MatchedRules []int  `json:"matched_rules"`
		OrgUnitID    string `json:"org_unit_id"`
	}
	c.do("POST", "/api/v1/identity-providers/"+idp.ID+"/preview", admin, map[string]any{"claims": map[string]any{"email": "ana@retail.example"}}, 200).decode(t, &m)
	if diff := cmp.Diff([]int{0}, m.MatchedRules); diff != "" || m.OrgUnitID != retail {
		t.Errorf("preview: %+v", m)
	}
	delete(in, "client_secret")
	in["enabled"] = false
	c.do("PUT", "/api/v1/identity-providers/"+idp.ID, admin, in, 200).decode(t, &idp)
	if !idp.HasClientSecret {
		t.Error("a change without client_secret dropped the stored one")
	}
	c.do("GET", "/api/v1/sign-in-settings", admin, nil, 200)
	c.do("PUT", "/api/v1/sign-in-settings", outsider, map[string]any{"local_passwords": false}, 403)
	c.do("PUT", "/api/v1/sign-in-settings", admin, map[string]any{"local_passwords": false}, 200)
	c.do("PUT", "/api/v1/sign-in-settings", admin, map[string]any{"local_passwords": true}, 200)
	c.do("DELETE", "/api/v1/identity-providers/"+idp.ID, admin, nil, 204)
	c.do("GET", "/api/v1/identity-providers/"+idp.ID, admin, nil, 404)
}
