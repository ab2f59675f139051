package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 17, item 17: `steward blueprint validate FILE` refuses a typo in an
// input or step reference, printing FILE:LINE: field: a message naming
// the step and the bad name and suggesting the closest valid one; it needs
// no database to do so.
func TestBlueprintValidateRefusesReferenceTypos(t *testing.T) {
	dir := t.TempDir()
	bp := filepath.Join(dir, "web.yaml")
	src := `blueprint: web
name: Web
inputs:
  hostname: {type: string, required: true}
steps:
  - name: database
    plan: bucket/standard
  - name: app
    plan: vm/bronze
    parameters:
      host: ${inputs.hostnme}
      db: ${steps.databse.id}
`
	if err := os.WriteFile(bp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	out, err := cli(t, getenv, "", "blueprint", "validate", bp)
	for _, want := range []string{
		bp + ":11: steps[1].parameters.host: ${inputs.hostnme} in step app uses input hostnme, which the blueprint does not declare; did you mean hostname?",
		bp + ":12: steps[1].parameters.db: ${steps.databse.id} in step app uses step databse, but no step has that name; did you mean database?",
		"the blueprint is not valid (2 problems)",
	} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("blueprint validate: %v\n%s\nwant %q", err, out, want)
		}
	}
	fixed := strings.NewReplacer("hostnme", "hostname", "databse", "database").Replace(src)
	if err := os.WriteFile(bp, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(t, getenv, "", "blueprint", "validate", bp); err != nil || !strings.Contains(out, "1 inputs, 2 steps, 0 outputs; valid") {
		t.Errorf("blueprint validate of the fixed file: %v %s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("validate wrote to the directory: %v", entries)
	}
}
