package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs steward on args and returns its stdout, its stderr and the
// exit status main would give.
func runCLI(getenv func(string) string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	code := exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

var flagRE = regexp.MustCompile(`(?m)^  -([a-z-]+)`)

// Issue 17, item 12: every -h exited 1, some said "unknown command", and
// subcommands showed each other's flags. Every command of the tree, group
// or leaf, prints its own usage to stdout and exits 0 for -h, --help and
// help; a command added to the tree joins this test.
func TestEveryCommandHasHelp(t *testing.T) {
	noEnv := func(string) string { return "" }
	var walk func(path []string, c *command)
	walk = func(path []string, c *command) {
		name := strings.Join(append([]string{"steward"}, path...), " ")
		forms := [][]string{
			append(append([]string{}, path...), "-h"),
			append(append([]string{}, path...), "--help"),
			append([]string{"help"}, path...),
		}
		var first string
		for _, args := range forms {
			out, errOut, code := runCLI(noEnv, args...)
			if code != 0 || errOut != "" {
				t.Errorf("steward %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
			}
			if len(path) > 0 && !strings.HasPrefix(out, "Usage: "+name+" ") {
				t.Errorf("steward %s does not start with its own usage line:\n%s", strings.Join(args, " "), out)
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("steward %s prints another text than %s -h", strings.Join(args, " "), name)
			}
		}
		if c.run != nil {
			if c.args != "" && !strings.Contains(first, "[flags] "+c.args+"\n") {
				t.Errorf("%s -h does not name its arguments %s:\n%s", name, c.args, first)
			}
			return
		}
		for _, sub := range c.subs {
			if !strings.Contains(first, "  "+sub.name) {
				t.Errorf("%s -h does not list %s:\n%s", name, sub.name, first)
			}
			walk(append(path[:len(path):len(path)], sub.name), sub)
		}
	}
	walk(nil, commands())

	// Each subcommand shows its own flags, not its siblings'.
	flags := func(args ...string) map[string]bool {
		out, _, _ := runCLI(noEnv, append(args, "-h")...)
		m := map[string]bool{}
		for _, f := range flagRE.FindAllStringSubmatch(out, -1) {
			m[f[1]] = true
		}
		return m
	}
	for _, c := range []struct {
		args     []string
		has, not []string
	}{
		{[]string{"catalog", "export"}, []string{"out", "as", "data-dir"}, []string{"dry-run"}},
		{[]string{"catalog", "import"}, []string{"dry-run", "as"}, []string{"out"}},
		{[]string{"billing", "run"}, []string{"month"}, []string{"format", "from", "account", "refund"}},
		{[]string{"billing", "export"}, []string{"format", "from", "to", "include-drafts"}, []string{"month", "account"}},
		{[]string{"billing", "balance"}, []string{"account", "refund"}, []string{"month", "format"}},
		{[]string{"provider", "list"}, []string{"data-dir"}, []string{"code", "url"}},
		{[]string{"provider", "add"}, []string{"code", "url", "kind"}, nil},
		{[]string{"blueprint", "upload"}, []string{"note"}, []string{"against-db"}},
		{[]string{"blueprint", "validate"}, []string{"against-db"}, []string{"note"}},
		{[]string{"sla", "list"}, nil, []string{"service", "from"}},
		{[]string{"sla", "review"}, []string{"from", "to"}, []string{"service"}},
		{[]string{"sla", "outage"}, []string{"service", "start"}, []string{"from"}},
		{[]string{"version"}, nil, []string{"data-dir"}},
	} {
		got := flags(c.args...)
		for _, f := range c.has {
			if !got[f] {
				t.Errorf("steward %s -h does not show --%s", strings.Join(c.args, " "), f)
			}
		}
		for _, f := range c.not {
			if got[f] {
				t.Errorf("steward %s -h shows --%s, another command's flag", strings.Join(c.args, " "), f)
			}
		}
	}
}

// Issue 17, item 12: unknown commands and bad command lines exit 2 with a
// message that says what is wrong; a command that fails exits 1.
func TestCommandLineErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	getenv := func(k string) string {
		if k == "STEWARD_DATA_DIR" {
			return dir
		}
		return ""
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "steward: name a command: serve, migrate, admin"},
		{[]string{"frobnicate"}, 2, `steward: unknown command "frobnicate": the commands are serve, migrate,`},
		{[]string{"help", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"catalog"}, 2, "steward: catalog: name a command: export, import"},
		{[]string{"catalog", "frob"}, 2, `steward: catalog: unknown command "frob": the commands are export, import (run "steward catalog -h")`},
		{[]string{"admin", "create-admin", "x"}, 2, `steward: admin create-admin: unexpected argument "x"`},
		{[]string{"--data-dir", "x", "audit", "verify"}, 2, "steward: --data-dir comes before the command: name the command first"},
		{[]string{"catalog", "import"}, 2, "steward: catalog import: give the FILE (usage: steward catalog import [flags] FILE)"},
		{[]string{"catalog", "import", "a.yaml", "b.yaml"}, 2, `unexpected argument "b.yaml"`},
		{[]string{"catalog", "import", "a.yaml", "--bogus"}, 2, `steward: catalog import: flag provided but not defined: -bogus (run "steward catalog import -h" for its flags)`},
		{[]string{"billing", "run", "--month"}, 2, "steward: billing run: flag needs an argument: --month"},
		{[]string{"provider", "check"}, 2, "give the CODE"},
		{[]string{"audit", "verify"}, 1, "no Steward database in " + dir},
	} {
		out, errOut, code := runCLI(getenv, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("steward %s: exit %d, stderr:\n%s\nwant exit %d and %q (stdout %q)", strings.Join(c.args, " "), code, errOut, c.code, c.want, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused command made %s", dir)
	}
}

// Issue 17, item 12: a flag after the file read as a second file ("name
// the file to import"). Flags may come anywhere; "--" ends them.
func TestFlagsAfterArguments(t *testing.T) {
	getenv := migrated(t, nil)
	file := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(file, []byte("services:\n  - {code: x, name: X, kind: business, lifecycle: live}\n"), 0o644)
	for _, args := range [][]string{
		{"catalog", "import", file, "--dry-run"},
		{"catalog", "import", "--dry-run", file},
		{"catalog", "import", "--dry-run=true", "--", file},
	} {
		if out, err := cli(t, getenv, "", args...); err != nil || !strings.Contains(out, "+ service x") || !strings.Contains(out, "dry run: ") {
			t.Errorf("steward %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	out := filepath.Join(t.TempDir(), "export.yaml")
	if o, err := cli(t, getenv, "", "catalog", "export", "--out", out); err != nil {
		t.Fatalf("catalog export: %v %s", err, o)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("catalog export --out: %v", err)
	}
}
