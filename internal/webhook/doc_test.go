package webhook_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/webhook"
)

var update = flag.Bool("update", false, "rewrite the event types section of docs/events.md")

const (
	eventsDoc  = "../../docs/events.md"
	beginTypes = "<!-- begin event types: made from outbox.Types() by TestEventsDoc (go test ./internal/webhook -run TestEventsDoc -update) -->"
	endTypes   = "<!-- end event types -->"
)

// eventTypesSection renders every event type with its subject and data.
func eventTypesSection() string {
	var b strings.Builder
	b.WriteString(beginTypes + "\n")
	b.WriteString("\n| CloudEvents type | subject | what happened |\n|---|---|---|\n")
	for _, t := range outbox.Types() {
		fmt.Fprintf(&b, "| [`%s%s`](#%s) | `%s` | %s |\n", webhook.TypePrefix, t.Name, strings.ReplaceAll(t.Name, ".", ""), t.Subject, t.Description)
	}
	for _, t := range outbox.Types() {
		fmt.Fprintf(&b, "\n### %s\n\n`%s%s`, subject `%s`. %s\n\n| data field | type | meaning |\n|---|---|---|\n", t.Name, webhook.TypePrefix, t.Name, t.Subject, t.Description)
		for _, f := range t.Data {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, f.Type, f.Description)
		}
	}
	b.WriteString("\n" + endTypes)
	return b.String()
}

// TestEventsDoc holds docs/events.md to outbox.Types(): every event type,
// its subject and its data fields, so the page cannot fall behind the
// events Steward sends.
func TestEventsDoc(t *testing.T) {
	raw, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginTypes), strings.Index(doc, endTypes)
	if i < 0 || j < i {
		t.Fatalf("%s has no event types section between %q and %q", eventsDoc, beginTypes, endTypes)
	}
	want := doc[:i] + eventTypesSection() + doc[j+len(endTypes):]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(eventsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/events.md is stale: its event types differ from outbox.Types(); run go test ./internal/webhook -run TestEventsDoc -update")
}
