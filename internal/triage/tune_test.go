package triage

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestTune is how the parameters in defaults were chosen: 4-fold
// cross-validation on the test corpus (each fold holds out every fourth
// ticket of each service, starting at a different one). It takes a minute,
// so it runs only with STEWARD_TRIAGE_TUNE=1:
//
//	STEWARD_TRIAGE_TUNE=1 go test -run TestTune -v ./internal/triage
func TestTune(t *testing.T) {
	if os.Getenv("STEWARD_TRIAGE_TUNE") == "" {
		t.Skip("set STEWARD_TRIAGE_TUNE=1 to tune the parameters")
	}
	t.Run("smoothing and prior", func(t *testing.T) {
		type result struct {
			name           string
			d1, d3, l1, l3 float64
		}
		var rs []result
		for _, mu := range []float64{100, 400, 1000, 2000, 5000} {
			for _, bg := range []float64{0, 1, 5, 10, 20} {
				for _, pw := range []float64{0, 0.5, 1} {
					for _, fs := range []float64{0.5, 1, 2} {
						p := defaults
						p.dirichlet, p.background, p.priorWeight = mu, bg, pw
						for k := range p.field {
							p.field[k] = uint16(float64(defaults.field[k])*fs + 0.5)
						}
						d1, d3, l1, l3 := crossValidate(p, nil)
						rs = append(rs, result{fmt.Sprintf("mu=%g bg=%g prior=%g fields×%g", mu, bg, pw, fs), d1, d3, l1, l3})
					}
				}
			}
		}
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].l1+rs[i].d1/2 > rs[j].l1+rs[j].d1/2 })
		for _, r := range rs[:15] {
			t.Logf("%-36s descriptions %.3f %.3f  learned %.3f %.3f", r.name, r.d1, r.d3, r.l1, r.l3)
		}
		d1, d3, l1, l3 := crossValidate(defaults, nil)
		t.Logf("%-36s descriptions %.3f %.3f  learned %.3f %.3f", "defaults", d1, d3, l1, l3)
	})
	t.Run("field weights", func(t *testing.T) {
		for _, name := range []uint16{2, 4, 8} {
			for _, desc := range []uint16{1, 2, 3} {
				for _, title := range []uint16{1, 2, 4} {
					for _, body := range []uint16{0, 1} {
						p := defaults
						p.field[FieldName], p.field[FieldDescription], p.field[FieldArticleTitle], p.field[FieldArticleBody] = name, desc, title, body
						d1, d3, l1, l3 := crossValidate(p, nil)
						t.Logf("name %d description %d title %d body %d: descriptions %.3f %.3f  learned %.3f %.3f", name, desc, title, body, d1, d3, l1, l3)
					}
				}
			}
		}
	})
	t.Run("typos", func(t *testing.T) {
		// The held-out tickets again, with a typo in every word of six
		// letters or more: two letters swapped, one left out, one doubled.
		typos := func(text string) string {
			words := strings.Fields(text)
			for i, w := range words {
				if len(w) >= 6 && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
					switch (i + len(w)) % 3 {
					case 0:
						w = w[:2] + w[3:4] + w[2:3] + w[4:]
					case 1:
						w = w[:3] + w[4:]
					case 2:
						w = w[:3] + w[3:4] + w[3:]
					}
					words[i] = w
				}
			}
			return strings.Join(words, " ")
		}
		for _, w := range []float64{0, 0.25, 0.5, 0.75, 1} {
			p := defaults
			p.typo = w
			_, _, c1, c3 := crossValidate(p, nil)
			_, _, n1, n3 := crossValidate(p, typos)
			t.Logf("typo weight %.2f: as written %.3f %.3f, with typos %.3f %.3f", w, c1, c3, n1, n3)
		}
	})
	t.Run("temperature", func(t *testing.T) {
		docs, train, test := folds(4)
		for _, temp := range []float64{0.05, 0.1, 0.2, 0.5, 1} {
			p := defaults
			p.temperature = temp
			var bins [5]struct{ n, hit, conf float64 }
			var brier, n float64
			for f := range 4 {
				for _, tr := range [][]Example{nil, train[f]} {
					m := newModel(p, docs, tr)
					for _, e := range test[f] {
						s := m.Suggest(e.Text, 1, nil)
						if len(s) == 0 {
							continue
						}
						hit := 0.0
						if s[0].ServiceID == e.ServiceID {
							hit = 1
						}
						b := &bins[min(int(s[0].Confidence*5), 4)]
						b.n, b.hit, b.conf = b.n+1, b.hit+hit, b.conf+s[0].Confidence
						brier += (s[0].Confidence - hit) * (s[0].Confidence - hit)
						n++
					}
				}
			}
			line := fmt.Sprintf("temperature %.2f: Brier score %.3f; by confidence:", temp, brier/n)
			for _, b := range bins {
				if b.n > 0 {
					line += fmt.Sprintf(" [%3.0f tickets: confidence %.2f, right %.2f]", b.n, b.conf/b.n, b.hit/b.n)
				}
			}
			t.Log(line)
		}
	})
}

// folds splits the test corpus k ways: fold f holds out the tickets whose
// index in their service is f modulo k.
func folds(k int) (docs []Document, train, test [][]Example) {
	train, test = make([][]Example, k), make([][]Example, k)
	for _, s := range corpus {
		docs = append(docs, corpusDocument(s))
		for i, text := range s.tickets {
			e := Example{Text: text, ServiceID: s.id}
			for f := range k {
				if i%k == f {
					test[f] = append(test[f], e)
				} else {
					train[f] = append(train[f], e)
				}
			}
		}
	}
	return docs, train, test
}

// crossValidate returns the mean precision@1 and @3 over 4 folds from the
// descriptions alone and after learning, optionally on altered test texts.
func crossValidate(p params, alter func(string) string) (d1, d3, l1, l3 float64) {
	docs, train, test := folds(4)
	for f := range 4 {
		held := test[f]
		if alter != nil {
			held = nil
			for _, e := range test[f] {
				held = append(held, Example{Text: alter(e.Text), ServiceID: e.ServiceID})
			}
		}
		a, b := evaluate(p, docs, nil, held)
		c, d := evaluate(p, docs, train[f], held)
		d1, d3, l1, l3 = d1+a/4, d3+b/4, l1+c/4, l3+d/4
	}
	return d1, d3, l1, l3
}
