package main

import (
	"strings"
	"testing"
)

// The idp commands: register a provider with mapping rules, list it, read
// and preview its rules, disable it, switch local passwords, delete it.
func TestIdentityProviderCommands(t *testing.T) {
	getenv := migrated(t, nil)
	rules := `[{"name": "auditors", "claim": "groups", "match": "equals", "value": "audit", "grants": [{"role": "auditor", "scope_kind": "global"}]}]`
	out, err := cli(t, getenv, rules, "idp", "add", "--code", "corp", "--name", "Corp ID", "--issuer", "https://login.example.com/realms/staff",
		"--client-id", "steward", "--rules", "-")
	if err != nil || !strings.Contains(out, "registered corp (https://login.example.com/realms/staff) with 1 mapping rules") {
		t.Fatalf("idp add: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "", "idp", "add", "--code", "Bad Code", "--name", "x", "--issuer", "http://login.example.com", "--client-id", "c"); err == nil ||
		!strings.Contains(out, "code") || !strings.Contains(out, "issuer_url") {
		t.Errorf("a bad provider: %v %s", err, out)
	}
	if out, _ := cli(t, getenv, "", "idp", "list"); !strings.Contains(out, "corp  Corp ID  true     1") {
		t.Errorf("idp list:\n%s", out)
	}
	if out, _ := cli(t, getenv, "", "idp", "rules", "corp"); !strings.Contains(out, `"value": "audit"`) {
		t.Errorf("idp rules:\n%s", out)
	}
	out, err = cli(t, getenv, `{"groups": ["staff", "audit"]}`, "idp", "preview", "corp")
	if err != nil || !strings.Contains(out, `"role": "auditor"`) || !strings.Contains(out, `"matched_rules": [`) {
		t.Errorf("idp preview: %v\n%s", err, out)
	}
	if out, err := cli(t, getenv, "", "idp", "disable", "corp"); err != nil || out != "corp enabled: false\n" {
		t.Errorf("idp disable: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "[]", "idp", "rules", "--set", "-", "corp"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("idp rules --set: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "", "idp", "local-passwords", "off"); err != nil || out != "local passwords: off\n" {
		t.Errorf("local-passwords off: %v %s", err, out)
	}
	if _, err := cli(t, getenv, "", "idp", "local-passwords", "maybe"); err == nil {
		t.Error("local-passwords maybe was accepted")
	}
	if out, err := cli(t, getenv, "", "idp", "delete", "corp"); err != nil || out != "deleted corp\n" {
		t.Errorf("idp delete: %v %s", err, out)
	}
	if _, err := cli(t, getenv, "", "idp", "rules", "corp"); err == nil {
		t.Error("a deleted provider's rules were found")
	}
	// The SCIM token an identity provider pushes with (issue 19).
	if out, err := cli(t, getenv, "", "idp", "scim-token", "--days", "30", "Entra ID"); err != nil || !strings.HasPrefix(out, "stw_") || strings.Count(out, "\n") != 1 {
		t.Errorf("idp scim-token: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "", "idp", "scim-token", "--days", "400", "Okta"); err == nil || !strings.Contains(out, "366 days") {
		t.Errorf("idp scim-token for 400 days: %v %s", err, out)
	}
}
