package demo

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDeskPlan plans the desk history twice for the same day: the same
// tickets with the same texts at the same times (the seed is fixed), and
// a backlog of the same shape on any day of the week.
func TestDeskPlan(t *testing.T) {
	t.Parallel()
	type planned struct {
		Summary, Description, Service string
		Steps                         []time.Time
	}
	plan := func(end time.Time) []planned {
		var out []planned
		for _, tk := range planHistory(end, end).tickets {
			p := planned{Summary: tk.in.Summary, Description: tk.in.Description, Service: tk.in.Service}
			for _, st := range tk.steps {
				p.Steps = append(p.Steps, st.at)
			}
			out = append(out, p)
		}
		return out
	}
	end := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC) // a Monday
	services := map[string]int{}
	for _, tk := range planHistory(end, end).tickets {
		if tk.topic != nil {
			services[tk.topic.service]++
		}
	}
	for _, code := range []string{"desktop", "email", "directory", "network", "file-shares", "crm-saas", "private-cloud", "database", "object-storage", "storage"} {
		if services[code] < 8 {
			t.Errorf("%d tickets about %s, want at least 8 to learn from", services[code], code)
		}
	}
	t.Logf("tickets per service: %v", services)
	if diff := cmp.Diff(plan(end), plan(end)); diff != "" {
		t.Errorf("two plans for the same day differ (-first +second):\n%s", diff)
	}
	for day := range 7 {
		end := end.AddDate(0, 0, day)
		h := planHistory(end, end)
		raised, resolved := 0, 0
		for _, tk := range h.tickets {
			if tk.steps[0].at.After(end) {
				t.Errorf("%s: %q is raised after the end", end.Weekday(), tk.in.Summary)
			}
			for i := 1; i < len(tk.steps); i++ {
				if !tk.steps[i].at.After(tk.steps[i-1].at) {
					t.Errorf("%s: %q: step %d is not after step %d", end.Weekday(), tk.in.Summary, i, i-1)
				}
			}
			raised++
			if !tk.done.IsZero() && !tk.done.After(end) {
				resolved++
			}
		}
		if open := raised - resolved; open < 15 || open > 40 {
			t.Errorf("%s: %d of %d tickets open at the end, want a backlog of 15 to 40", end.Weekday(), open, raised)
		}
	}
}

// TestDeskCorpus checks the phrasings: every case can be told and
// resolved, every placeholder is known, known errors name their problem.
func TestDeskCorpus(t *testing.T) {
	t.Parallel()
	x := &text{r: rand.New(rand.NewPCG(1, 2)), rq: requesters[0], seen: map[string]string{}}
	unfilled := func(where, s string) {
		t.Helper()
		x.rq, x.seen = requesters[len(s)%len(requesters)], map[string]string{}
		if f := x.fill(s); strings.Contains(strings.NewReplacer("{problem}", "", "{incidents}", "").Replace(f), "{") {
			t.Errorf("%s: %q leaves a placeholder: %q", where, s, f)
		}
	}
	keys := map[string]bool{}
	for _, tp := range topics {
		if keys[tp.key] {
			t.Errorf("two topics are %s", tp.key)
		}
		keys[tp.key] = true
		if tp.weight <= 0 || len(tp.cases) == 0 {
			t.Errorf("%s: weight %d, %d cases", tp.key, tp.weight, len(tp.cases))
		}
		if tp.known != "" && !strings.Contains(tp.known, "{problem}") {
			t.Errorf("%s: the known error's resolution does not name the problem: %q", tp.key, tp.known)
		}
		if len(tp.replies) > 0 && len(tp.asks) == 0 {
			t.Errorf("%s: replies without asks", tp.key)
		}
		for i, c := range tp.cases {
			if len(c.summaries) == 0 || len(c.details) == 0 || len(c.resolutions)+len(tp.resolutions) == 0 {
				t.Errorf("%s, case %d: %d summaries, %d details, %d resolutions", tp.key, i, len(c.summaries), len(c.details), len(c.resolutions)+len(tp.resolutions))
			}
			for _, s := range append(append(append([]string{}, c.summaries...), c.details...), c.resolutions...) {
				unfilled(tp.key, s)
			}
		}
		for _, s := range append(append(append(append([]string{}, tp.asks...), tp.replies...), tp.notes...), tp.resolutions...) {
			unfilled(tp.key, s)
		}
	}
	for _, pr := range problems {
		if !keys[pr.topic] {
			t.Errorf("problem %q is about no topic %s", pr.summary, pr.topic)
		}
	}
	for _, r := range requesters {
		if len(sites[r.bu]) == 0 {
			t.Errorf("%s works nowhere: no sites for %s", r.email, r.bu)
		}
	}
}
