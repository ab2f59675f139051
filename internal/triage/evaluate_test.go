package triage

import (
	"slices"
	"testing"
)

// TestPrecision measures the model on the test corpus's held-out tickets
// (every fourth ticket of each service, 77 of 321) and fails if it falls to
// levels that mean something broke: chance is 1/16 at @1 and 3/16 at @3.
// The figures are in doc.go; a change that moves them should update it.
func TestPrecision(t *testing.T) {
	t.Parallel()
	docs, train, test := corpusSplit()
	var names []Document // the catalog with nothing but the services' names
	for _, d := range docs {
		names = append(names, Document{ServiceID: d.ServiceID, Fields: d.Fields[:1]})
	}
	tests := []struct {
		name       string
		docs       []Document
		train      []Example
		min1, min3 float64 // floors for precision@1 and @3
		p1, p3     float64 // measured
	}{
		{name: "descriptions only", docs: docs, min1: 0.60, min3: 0.75},
		{name: "descriptions and tickets", docs: docs, train: train, min1: 0.68, min3: 0.82},
		{name: "names only", docs: names, min1: 0.30, min3: 0.40},
		{name: "names and tickets", docs: names, train: train, min1: 0.50, min3: 0.70},
		{name: "tickets only", train: train, min1: 0.45, min3: 0.65},
	}
	for i := range tests {
		tt := &tests[i]
		tt.p1, tt.p3 = Evaluate(tt.docs, tt.train, test)
		t.Logf("%-26s precision@1 %.3f  @3 %.3f", tt.name, tt.p1, tt.p3)
		if tt.p1 < tt.min1 || tt.p3 < tt.min3 {
			t.Errorf("%s: precision@1 %.3f (want ≥ %.2f), @3 %.3f (want ≥ %.2f)", tt.name, tt.p1, tt.min1, tt.p3, tt.min3)
		}
	}
	// Learning from tickets beats the catalog's texts alone, on the same
	// split: if learning broke, these would fail.
	if d, l := tests[0], tests[1]; l.p1 <= d.p1 || l.p3 <= d.p3 {
		t.Errorf("with tickets %.3f/%.3f, not better than descriptions alone %.3f/%.3f", l.p1, l.p3, d.p1, d.p3)
	}
	if n, l := tests[2], tests[3]; l.p1 < n.p1+0.1 || l.p3 < n.p3+0.2 {
		t.Errorf("with tickets %.3f/%.3f, not well above names alone %.3f/%.3f", l.p1, l.p3, n.p1, n.p3)
	}
}

// TestThirdFloorPrinter is the example: from the catalog's texts
// alone printing is among the first three, and first once the model has
// learned from the desk's tickets.
func TestThirdFloorPrinter(t *testing.T) {
	t.Parallel()
	const text = "my laptop can't print to the 3rd floor printer"
	docs, train, _ := corpusSplit()
	got := New(docs, nil).Suggest(text, 3, nil)
	if !slices.Contains(ids(got), "printing") {
		t.Errorf("descriptions only: %v, want printing among them", ids(got))
	}
	got = New(docs, train).Suggest(text, 3, nil)
	if len(got) == 0 || got[0].ServiceID != "printing" {
		t.Fatalf("after learning: %v, want printing first", ids(got))
	}
	t.Logf("after learning: %+v", got[0])
	if got[0].Confidence < 0.5 {
		t.Errorf("confidence %v", got[0].Confidence)
	}
	if want := `"print" is in the service name and in 9 of 20 tickets classified here`; got[0].Why[0] != want {
		t.Errorf("why %q, want %q first", got[0].Why, want)
	}
}

func TestEvaluateWithoutTests(t *testing.T) {
	t.Parallel()
	docs, train, _ := corpusSplit()
	if p1, p3 := Evaluate(docs, train, nil); p1 != 0 || p3 != 0 {
		t.Errorf("Evaluate with no tests = %v, %v", p1, p3)
	}
}
