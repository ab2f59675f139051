package triage

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// suggestAll returns the model's suggestions for every test ticket.
func suggestAll(m *Model, test []Example) [][]Suggestion {
	out := make([][]Suggestion, len(test))
	for i, e := range test {
		out[i] = m.Suggest(e.Text, 5, nil)
	}
	return out
}

func ids(ss []Suggestion) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ServiceID)
	}
	return out
}

func TestUnlearnRestoresSuggestionsExactly(t *testing.T) {
	t.Parallel()
	docs, train, test := corpusSplit()
	m := New(docs, train)
	terms0, postings0 := m.size()
	before := suggestAll(m, test)

	// Learn the test tickets (new words among them), some under the wrong
	// service and some under a service the model did not know.
	var learned []Example
	for i, e := range test {
		switch i % 3 {
		case 1:
			e.ServiceID = "printing"
		case 2:
			e.ServiceID = "new-service"
		}
		e.Text += fmt.Sprintf(" unseenword%c", 'a'+i%26)
		learned = append(learned, e)
		m.Learn(e.Text, e.ServiceID)
	}
	if diff := cmp.Diff(before, suggestAll(m, test)); diff == "" {
		t.Fatal("learning 77 tickets changed no suggestion")
	}
	// Unlearn in another order than they were learned.
	for i := len(learned) - 1; i >= 0; i-- {
		m.Unlearn(learned[i].Text, learned[i].ServiceID)
	}
	if diff := cmp.Diff(before, suggestAll(m, test)); diff != "" {
		t.Errorf("suggestions after unlearning (-before +after):\n%s", diff)
	}
	if terms, postings := m.size(); terms != terms0 || postings != postings0 {
		t.Errorf("after unlearning: %d terms and %d postings, want %d and %d", terms, postings, terms0, postings0)
	}
}

func TestReclassify(t *testing.T) {
	t.Parallel()
	docs, train, test := corpusSplit()
	const text = "the plotter in room 5 prints stripes across every drawing"
	// An agent first put the ticket under laptops, then moved it to
	// printing: the model is as if it had been classified right at once.
	m := New(docs, train)
	m.Learn(text, "devices")
	m.Unlearn(text, "devices")
	m.Learn(text, "printing")
	want := New(docs, append(slices.Clone(train), Example{Text: text, ServiceID: "printing"}))
	if diff := cmp.Diff(suggestAll(want, test), suggestAll(m, test)); diff != "" {
		t.Errorf("suggestions after reclassifying (-classified right +reclassified):\n%s", diff)
	}
}

func TestBuildEqualsLearningOneByOne(t *testing.T) {
	t.Parallel()
	docs, train, test := corpusSplit()
	bulk := New(docs, train)
	one := New(docs, nil)
	for _, e := range train {
		one.Learn(e.Text, e.ServiceID)
	}
	if diff := cmp.Diff(suggestAll(bulk, test), suggestAll(one, test)); diff != "" {
		t.Errorf("suggestions (-New +Learn):\n%s", diff)
	}
}

func TestAllowedIsAppliedWhileChoosing(t *testing.T) {
	t.Parallel()
	docs, train, _ := corpusSplit()
	m := New(docs, train)
	const text = "printer out of toner, scanner jams, print queue stuck"
	all := m.Suggest(text, 3, nil)
	if len(all) == 0 || all[0].ServiceID != "printing" {
		t.Fatalf("without a filter: %v, want printing first", ids(all))
	}
	calls := map[string]int{}
	hidden := map[string]bool{"printing": true, all[1].ServiceID: true}
	got := m.Suggest(text, 3, func(id string) bool {
		calls[id]++
		return !hidden[id]
	})
	if len(got) != 3 {
		t.Fatalf("with two of the best three hidden: %v, want three others", ids(got))
	}
	for _, s := range got {
		if hidden[s.ServiceID] {
			t.Errorf("hidden service %s suggested", s.ServiceID)
		}
	}
	if got[0].ServiceID != all[2].ServiceID {
		t.Errorf("first allowed suggestion %s, want %s (third without the filter)", got[0].ServiceID, all[2].ServiceID)
	}
	for id, n := range calls {
		if n != 1 {
			t.Errorf("allowed called %d times for %s", n, id)
		}
	}
	sum := 0.0
	for _, s := range got {
		sum += s.Confidence
	}
	if sum > 1+1e-9 || got[0].Confidence < all[2].Confidence {
		t.Errorf("confidences %v: they sum over the allowed services only, so the first allowed one is surer than among all (%v)", got, all[2].Confidence)
	}
	if got := m.Suggest(text, 3, func(string) bool { return false }); got != nil {
		t.Errorf("nothing allowed: %v", ids(got))
	}
}

func TestTiesAreOrderedByServiceID(t *testing.T) {
	t.Parallel()
	doc := func(id string) Document {
		return Document{ServiceID: id, Fields: []Field{{Kind: FieldName, Text: "Badge readers"}}}
	}
	// Added in reverse order, with the same texts.
	m := New([]Document{doc("svc-c"), doc("svc-b"), doc("svc-a")}, nil)
	for range 3 {
		got := m.Suggest("my badge reader is broken", 3, nil)
		if diff := cmp.Diff([]string{"svc-a", "svc-b", "svc-c"}, ids(got)); diff != "" {
			t.Fatalf("order (-want +got):\n%s", diff)
		}
		if got[0].Confidence != got[2].Confidence || got[0].Confidence < 0.33 || got[0].Confidence > 0.34 {
			t.Errorf("confidences of equals: %v, %v, %v", got[0].Confidence, got[1].Confidence, got[2].Confidence)
		}
	}
}

func TestCatalogChanges(t *testing.T) {
	t.Parallel()
	docs, train, _ := corpusSplit()
	m := New(docs, train)
	terms0, postings0 := m.size()
	const text = "I need to sign the supplier contract electronically"
	sign := Document{ServiceID: "esign", Fields: []Field{
		{Kind: FieldName, Text: "Electronic Signatures"},
		{Kind: FieldKeyword, Text: "DocuSign"},
		{Kind: FieldDescription, Text: "Sign contracts and approvals electronically with DocuSign."},
	}}
	// A new service with no tickets is suggested from its document.
	m.SetDocument(sign)
	got := m.Suggest(text, 3, nil)
	if len(got) == 0 || got[0].ServiceID != "esign" {
		t.Fatalf("new service: %v, want esign first", ids(got))
	}
	if want := `"electronically" is in the service name`; !slices.Contains(got[0].Why, want) {
		t.Errorf("why %q, want %q among them", got[0].Why, want)
	}
	// A new document replaces the old one.
	m.SetDocument(Document{ServiceID: "esign", Fields: []Field{{Kind: FieldName, Text: "Parking permits"}}})
	if got := m.Suggest(text, 3, nil); slices.Contains(ids(got), "esign") {
		t.Errorf("esign suggested for its old document: %v", ids(got))
	}
	// A removed service is not suggested, and nothing of it is left.
	m.Learn("parking permit for my car", "esign")
	m.RemoveService("esign")
	if got := m.Suggest("parking permit", 3, nil); slices.Contains(ids(got), "esign") {
		t.Errorf("removed service suggested: %v", ids(got))
	}
	if terms, postings := m.size(); terms != terms0 || postings != postings0 {
		t.Errorf("after removal: %d terms and %d postings, want %d and %d", terms, postings, terms0, postings0)
	}
	// Its slot is reused.
	m.SetDocument(sign)
	if got := m.Suggest(text, 1, nil); len(got) != 1 || got[0].ServiceID != "esign" {
		t.Errorf("service added again: %v", ids(got))
	}
	// Removing the printing service leaves its tickets' words to no one.
	m.RemoveService("printing")
	if got := m.Suggest("toner cartridge", 3, nil); slices.Contains(ids(got), "printing") {
		t.Errorf("removed service suggested: %v", ids(got))
	}
	m.RemoveService("no-such-service") // does nothing
}

func TestLearnGuards(t *testing.T) {
	t.Parallel()
	docs, train, test := corpusSplit()
	m := New(docs, train)
	before := suggestAll(m, test)
	m.Learn("printer jam", "")                      // no service: nothing
	m.SetDocument(Document{Fields: []Field{{}}})    // no service: nothing
	m.Unlearn("printer jam", "no-such-service")     // not in the model: nothing
	m.Unlearn("printer jam", "")                    // nothing
	m.SetDocument(Document{ServiceID: "no-fields"}) // nothing to add
	m.Learn("", "empty")                            // a ticket without words
	m.Unlearn("", "empty")
	m.Unlearn("", "empty") // no tickets left: nothing
	if diff := cmp.Diff(before, suggestAll(m, test)); diff != "" {
		t.Errorf("suggestions changed (-before +after):\n%s", diff)
	}
	// Unlearning words never learned leaves the counts at zero, not below.
	e := New(nil, []Example{{Text: "vpn", ServiceID: "vpn"}})
	e.Unlearn("vpn printer scanner", "vpn")
	e.Unlearn("vpn printer scanner", "vpn")
	if terms, postings := e.size(); terms != 0 || postings != 0 || e.total != 0 {
		t.Errorf("%d terms, %d postings, total %d", terms, postings, e.total)
	}
}

func TestSuggestBounds(t *testing.T) {
	t.Parallel()
	docs, train, _ := corpusSplit()
	m := New(docs, train)
	for _, k := range []int{-1, 0} {
		if got := m.Suggest("printer", k, nil); got != nil {
			t.Errorf("k=%d: %v", k, ids(got))
		}
	}
	if got := m.Suggest("", 3, nil); got != nil {
		t.Errorf("empty text: %v", ids(got))
	}
	if got := m.Suggest("qqqq zzzz", 3, nil); got != nil {
		t.Errorf("unknown words: %v", ids(got))
	}
	// Words of every service: more matches than MaxSuggestions.
	var all strings.Builder
	for _, s := range corpus {
		all.WriteString(s.name + " " + s.description + " ")
	}
	got := m.Suggest(all.String(), 1000, nil)
	if len(got) != len(corpus) {
		t.Errorf("%d suggestions for the whole catalog's words, want all %d services", len(got), len(corpus))
	}
	for _, s := range got {
		if len(s.Why) > maxReasons {
			t.Errorf("%s: %d reasons", s.ServiceID, len(s.Why))
		}
	}
	if len(corpus) > MaxSuggestions {
		t.Fatal("the corpus is too large for the bound")
	}
	big := New(append(docs, bigDocs(30)...), nil)
	if got := big.Suggest("widget", 1000, nil); len(got) != MaxSuggestions {
		t.Errorf("%d suggestions, want MaxSuggestions (%d)", len(got), MaxSuggestions)
	}
}

func bigDocs(n int) []Document {
	var docs []Document
	for i := range n {
		docs = append(docs, Document{ServiceID: fmt.Sprintf("widget-%02d", i), Fields: []Field{{Kind: FieldName, Text: "Widget service"}}})
	}
	return docs
}

func TestTypos(t *testing.T) {
	t.Parallel()
	docs, train, _ := corpusSplit()
	m := New(docs, train)
	got := m.Suggest("the pirnter is jammed", 1, nil)
	if len(got) != 1 || got[0].ServiceID != "printing" {
		t.Fatalf("pirnter: %v", ids(got))
	}
	if want := `"pirnter" (read as "printer") is in the description and in 5 of 20 tickets classified here`; !slices.Contains(got[0].Why, want) {
		t.Errorf("why %q, want %q among them", got[0].Why, want)
	}
	// Short words are not read as typos: "vpm" is not "vpn".
	if got := m.Suggest("vpm", 1, nil); got != nil {
		t.Errorf("vpm: %v", ids(got))
	}
}

// TestMemoryIsBoundedByVocabulary learns ten times as many tickets over the
// same words and services: the model grows by not one term or posting.
func TestMemoryIsBoundedByVocabulary(t *testing.T) {
	t.Parallel()
	docs, train, _ := corpusSplit()
	m := New(docs, train)
	terms0, postings0 := m.size()
	for range 10 {
		for _, e := range train {
			m.Learn(e.Text, e.ServiceID)
		}
	}
	if terms, postings := m.size(); terms != terms0 || postings != postings0 {
		t.Errorf("after learning the tickets again ten times: %d terms and %d postings, want %d and %d", terms, postings, terms0, postings0)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	docs, train, test := corpusSplit()
	m := New(docs, train)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i, e := range test {
				switch (g + i) % 4 {
				case 0:
					m.Learn(e.Text, e.ServiceID)
					m.Unlearn(e.Text, e.ServiceID)
				case 1:
					m.SetDocument(Document{ServiceID: fmt.Sprintf("tmp-%d", g), Fields: []Field{{Kind: FieldName, Text: e.Text}}})
					m.RemoveService(fmt.Sprintf("tmp-%d", g))
				default:
					for _, s := range m.Suggest(e.Text, 3, func(string) bool { return true }) {
						if s.Confidence < 0 || s.Confidence > 1 {
							t.Errorf("confidence %v", s.Confidence)
						}
					}
				}
			}
		})
	}
	wg.Wait()
}
