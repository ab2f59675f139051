package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 17, item 14: catalog import --dry-run shows what changes, entity
// by entity, with each updated field's old and new value, and counts what
// stays as it is; a problem is reported on its field's line.
func TestCatalogImportDryRunShowsTheDiff(t *testing.T) {
	getenv := migrated(t, nil)
	file := filepath.Join(t.TempDir(), "p.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	first := "services:\n" +
		"  - {code: mail, name: Mail, kind: business, lifecycle: live, description: Mailboxes for everyone.}\n" +
		"  - {code: wiki, name: Wiki, kind: business, lifecycle: live}\n"
	write(first)
	if out, err := cli(t, getenv, "", "catalog", "import", file); err != nil {
		t.Fatalf("import: %v %s", err, out)
	}
	write("services:\n" +
		"  - {code: mail, name: Email, kind: business, lifecycle: live, description: '" + strings.Repeat("Mailboxes, calendars and lists for everyone. ", 3) + "'}\n" +
		"  - {code: wiki, name: Wiki, kind: business, lifecycle: live}\n" +
		"  - {code: chat, name: Chat, kind: business, lifecycle: proposed}\n")
	out, err := cli(t, getenv, "", "catalog", "import", "--dry-run", file)
	if err != nil {
		t.Fatalf("dry run: %v %s", err, out)
	}
	want := "~ service mail\n" +
		"    description: changed (23 → 134 characters)\n" +
		"    name: Mail → Email\n" +
		"+ service chat\n" +
		"= unchanged: 1 service\n" +
		"dry run: 2 changes would be made; run without --dry-run to apply them\n"
	if out != want {
		t.Errorf("dry run printed:\n%s\nwant:\n%s", out, want)
	}
	// Nothing was changed: the same dry run again shows the same.
	if again, _ := cli(t, getenv, "", "catalog", "import", "--dry-run", file); again != want {
		t.Errorf("a second dry run printed:\n%s", again)
	}
	// A problem far below its service's start is reported on its own line.
	write(first + "  - code: bad\n    name: Bad\n    lifecycle: live\n\n\n    kind: nonsense\n")
	if out, err := cli(t, getenv, "", "catalog", "import", "--dry-run", file); err == nil || !strings.Contains(out, "p.yaml:9: service bad: kind:") {
		t.Errorf("a bad kind: %v %s", err, out)
	}
}
