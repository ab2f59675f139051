package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeCommand is a command README.md shows its reader to run.
type readmeCommand struct {
	line    int    // where it starts in README.md
	section string // the "## " heading it is under
	text    string // as written, its white space made single spaces
}

func (c readmeCommand) String() string { return fmt.Sprintf("README.md:%d: %s", c.line, c.text) }

var (
	codeSpanRE = regexp.MustCompile("`([^`]+)`")
	// commentRE is a shell comment after a command.
	commentRE = regexp.MustCompile(`\s+#\s.*$`)
	// assignRE is a VAR=value before a command.
	assignRE = regexp.MustCompile(`^[A-Z_]+=`)
)

// readmeCommands reads README.md's commands: every line of its ```sh
// blocks, and every inline code span in its prose that starts with
// `go run `, `./steward ` or `curl `. Spans that start with `steward ` are
// synopses of the command tree (readmeSynopses).
func readmeCommands(t *testing.T) (commands []readmeCommand, synopses []readmeCommand) {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	// prose is README.md with every fenced block blanked, so that code
	// spans are found in prose only and offsets keep their lines.
	prose := make([]string, len(lines))
	sections := make([]string, len(lines))
	fence, section := "", ""
	for i, l := range lines {
		if strings.HasPrefix(l, "## ") {
			section = strings.TrimPrefix(l, "## ")
		}
		sections[i] = section
		switch {
		case fence == "" && strings.HasPrefix(l, "```"):
			fence = strings.TrimPrefix(l, "```")
		case fence != "" && strings.HasPrefix(l, "```"):
			fence = ""
		case fence == "sh":
			if text := strings.Join(strings.Fields(commentRE.ReplaceAllString(l, "")), " "); text != "" {
				commands = append(commands, readmeCommand{line: i + 1, section: section, text: text})
			}
		case fence == "":
			prose[i] = l
		}
	}
	text := strings.Join(prose, "\n")
	for _, m := range codeSpanRE.FindAllStringSubmatchIndex(text, -1) {
		line := strings.Count(text[:m[0]], "\n")
		c := readmeCommand{line: line + 1, section: sections[line], text: strings.Join(strings.Fields(text[m[2]:m[3]]), " ")}
		switch {
		case strings.HasPrefix(c.text, "go run "), strings.HasPrefix(c.text, "./steward "), strings.HasPrefix(c.text, "curl "):
			commands = append(commands, c)
		case strings.HasPrefix(c.text, "steward "):
			synopses = append(synopses, c)
		}
	}
	return commands, synopses
}

// shellWords splits a command as sh would: words, 'single' and "double"
// quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("an unclosed %c", quote)
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

// readmeSkipped are the README's commands a test cannot run, by what they
// start with (after any VAR=value), and why.
var readmeSkipped = []struct{ prefix, why string }{
	{"go test ", "runs the test suites; this is one of them (CI runs them on SQLite and PostgreSQL)"},
	{"go build ", "builds the binary; the test runs the same command tree in-process"},
	{"./steward serve ", "serves on a fixed public address (or a named PostgreSQL server) until stopped; the test serves the demo the README starts instead"},
}

// readmeChecks say what each command the README runs must print, by its
// command path: more than that it succeeded.
var readmeChecks = map[string]func(out string) bool{
	"migrate":            contains(" schema is at version "),
	"admin create-admin": contains("password: "),
	"catalog export":     contains("\nservices:\n", "\nofferings:\n"),
	"catalog import":     contains("nothing to change: Steward already matches"), // the export, not yet edited
	// FOCUS or CSV: lines beyond the header.
	"billing export":     func(out string) bool { return len(strings.Split(strings.TrimSpace(out), "\n")) > 1 },
	"blueprint validate": contains("; valid"),
	"blueprint upload":   contains("uploaded "),
	"sla apply":          contains("defined "),
	"ticket list":        contains("TICKET", "RESOLVE BY"),
	// The CAB's week is written with the desk's history, once serve
	// listens: a calendar, or none yet.
	"change calendar": func(out string) bool {
		return contains("CHANGE", "APPROVAL")(out) || strings.Contains(out, "no changes planned")
	},
	"curl /api/v1/me":      contains(`"email":"admin@it.contoso.example"`),
	"curl /osb/v2/catalog": contains(`"services":[{`),
}

// contains is a check that out holds each of want.
func contains(want ...string) func(out string) bool {
	return func(out string) bool {
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}
}

// TestReadmeCommands: issue 17, item 16: every command README.md shows
// works as written on the demo it starts. The commands are read from the
// README itself, so the two cannot drift: the demo is started by the
// README's own `serve --demo` (on a free loopback port), each steward
// command then runs in-process through run, the CLI's entry point, with
// its files resolved from the repository root and `> FILE` written to a
// temporary directory; each curl is sent to the demo with the token and
// platform password the tour has the reader make. The commands of "Run it
// for real" run on a new database, as on a fresh install. Each must
// succeed and print what readmeChecks asks (a FOCUS export has rows
// beyond its header, the example blueprint is valid against the demo's
// providers and uploads); a command the test cannot run is skipped only
// by readmeSkipped, with the reason.
func TestReadmeCommands(t *testing.T) {
	commands, _ := readmeCommands(t)
	if len(commands) < 10 {
		t.Fatalf("README.md shows %d commands; the parser lost some: %v", len(commands), commands)
	}
	var demoArgs []string
	demoLine := 0
	for _, c := range commands {
		if w, _ := shellWords(c.text); len(w) > 3 && strings.Join(w[:4], " ") == "go run ./cmd/steward serve" && strings.Contains(c.text, "--demo") {
			demoArgs, demoLine = w[4:], c.line
			break
		}
	}
	if demoArgs == nil {
		t.Fatal("README.md no longer shows how to start the demo (go run ./cmd/steward serve --demo)")
	}
	demoEnv := envFor(t, nil)
	url, _, _ := startServe(t, demoEnv, demoArgs...)
	token, err := cli(t, demoEnv, "", "admin", "create-token", "--email", "admin@it.contoso.example", "--name", "readme", "--days", "1")
	if err != nil {
		t.Fatalf("a token for the curl examples: %v %s", err, token)
	}
	token = strings.TrimSpace(token)
	fresh := envFor(t, nil) // "Run it for real": a new install
	dir := t.TempDir()      // where > FILE writes
	resolve := func(arg string) string {
		if strings.HasPrefix(arg, "-") {
			return arg
		}
		if _, err := os.Stat(filepath.Join(dir, arg)); err == nil {
			return filepath.Join(dir, arg)
		}
		if _, err := os.Stat(filepath.Join("../..", arg)); err == nil && strings.Contains(arg, "/") {
			return filepath.Join("../..", arg)
		}
		return arg
	}
	used := map[string]bool{}
	ran := 0
	for _, c := range commands {
		words, err := shellWords(c.text)
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		for len(words) > 0 && assignRE.MatchString(words[0]) {
			words = words[1:] // VAR=value
		}
		if len(words) == 0 {
			t.Errorf("%s: no command", c)
			continue
		}
		rest := strings.Join(words, " ") + " "
		skipped := false
		for _, s := range readmeSkipped {
			if strings.HasPrefix(rest, s.prefix) {
				t.Logf("skipped %s: %s", c, s.why)
				used[s.prefix], skipped = true, true
			}
		}
		var args []string
		switch {
		case skipped:
			continue
		case len(words) > 3 && strings.Join(words[:3], " ") == "go run ./cmd/steward":
			args = words[3:]
		case words[0] == "./steward":
			args = words[1:]
		case words[0] == "curl":
			path, out := readmeCurl(t, c, words, url, token, demoEnv)
			ran++
			if check := readmeChecks["curl "+path]; check == nil {
				t.Errorf("%s: add what it must answer to readmeChecks", c)
			} else if !check(out) {
				t.Errorf("%s answers:\n%.2000s", c, out)
			}
			continue
		default:
			t.Errorf("%s: the test does not know how to run this; run it here or add it to readmeSkipped with the reason", c)
			continue
		}
		if c.line == demoLine {
			continue // the demo this test runs on
		}
		getenv := demoEnv
		if c.section == "Run it for real" {
			getenv = fresh
		}
		redirect := ""
		for i, a := range args {
			if a == ">" && i == len(args)-2 {
				redirect, args = filepath.Join(dir, args[i+1]), args[:i]
				break
			}
		}
		for i := range args {
			args[i] = resolve(args[i])
		}
		out, err := cli(t, getenv, "", args...)
		ran++
		if err != nil {
			t.Errorf("%s: %v\n%s", c, err, out)
			continue
		}
		if redirect != "" {
			if err := os.WriteFile(redirect, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		path := commandPath(args)
		if check := readmeChecks[path]; check == nil {
			t.Errorf("%s: add what `steward %s` must print to readmeChecks", c, path)
		} else if !check(out) {
			t.Errorf("%s prints:\n%.2000s", c, out)
		}
	}
	for _, s := range readmeSkipped {
		if !used[s.prefix] {
			t.Errorf("readmeSkipped has %q, which README.md no longer shows: remove it", s.prefix)
		}
	}
	t.Logf("ran %d of the README's %d commands", ran, len(commands))
}

// commandPath is the path in the command tree that args name, such as
// "catalog export".
func commandPath(args []string) string {
	c, path := commands(), []string{}
	for _, a := range args {
		next := (*command)(nil)
		for _, s := range c.subs {
			if s.name == a {
				next = s
			}
		}
		if next == nil {
			break
		}
		c, path = next, append(path, a)
	}
	return strings.Join(path, " ")
}

// readmeCurl sends a curl command of the README to the demo at url and
// returns the URL's path and the answer. The placeholders the tour asks
// the reader to fill are filled as the tour says: stw_… with an API token,
// PASSWORD with the password of the platform named before it, registered
// as the admin does under Platforms.
func readmeCurl(t *testing.T, c readmeCommand, words []string, url, token string, getenv func(string) string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "", nil)
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-H" && i+1 < len(words):
			i++
			k, v, _ := strings.Cut(words[i], ":")
			req.Header.Set(strings.TrimSpace(k), strings.ReplaceAll(strings.TrimSpace(v), "stw_…", token))
		case w == "-u" && i+1 < len(words):
			i++
			user, pw, _ := strings.Cut(words[i], ":")
			if pw == "PASSWORD" {
				out, err := cli(t, getenv, "", "platform", "add", "--name", user, "--org-unit", "RETAIL")
				_, after, ok := strings.Cut(out, "password: ")
				if err != nil || !ok {
					t.Fatalf("%s: registering platform %s: %v %s", c, user, err, out)
				}
				pw = strings.Fields(after)[0]
			}
			req.SetBasicAuth(user, pw)
		case strings.HasPrefix(w, "http://127.0.0.1:8080/"):
			u, err := req.URL.Parse(url + strings.TrimPrefix(w, "http://127.0.0.1:8080"))
			if err != nil {
				t.Fatal(err)
			}
			req.URL = u
		default:
			t.Fatalf("%s: the test does not know curl's %q", c, w)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Errorf("%s: %s\n%s", c, res.Status, body)
	}
	return req.URL.Path, string(body)
}

// TestReadmeSynopses: issue 17, item 16: each `steward …` synopsis in
// README.md's prose names commands that exist (`steward billing run |
// export` names billing run and billing export).
func TestReadmeSynopses(t *testing.T) {
	_, synopses := readmeCommands(t)
	if len(synopses) < 5 {
		t.Fatalf("README.md has %d synopses; the parser lost some: %v", len(synopses), synopses)
	}
	for _, s := range synopses {
		if err := checkSynopsis(s.text); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// checkSynopsis checks that a synopsis such as "steward catalog export |
// import [--dry-run]" walks the command tree: each word names a command
// under the one before it, and each word after "|" another command beside
// the one before it, until a command's own arguments and flags begin.
func checkSynopsis(s string) error {
	words := strings.Fields(s)[1:]
	sub := func(c *command, name string) *command {
		for _, s := range c.subs {
			if s.name == name {
				return s
			}
		}
		return nil
	}
	var parent *command
	node := commands()
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "|" {
			if i+1 == len(words) || parent == nil {
				return fmt.Errorf("| names no alternative")
			}
			i++
			if node = sub(parent, words[i]); node == nil {
				return fmt.Errorf("there is no command %q beside the one before it", words[i])
			}
			continue
		}
		if node.subs == nil || (parent == nil && w == "help") {
			break // a command's arguments and flags
		}
		next := sub(node, w)
		if next == nil {
			return fmt.Errorf("there is no command %q (the commands are %s)", w, node.names())
		}
		parent, node = node, next
	}
	if node.subs != nil && parent != nil {
		return fmt.Errorf("it names the group %q, not a command of it", node.name)
	}
	return nil
}
