package triage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// synthetic is a deterministic, made-up service desk for the benchmark:
// services in families of related services, tickets that mix stop words,
// common IT words (Zipf-distributed), their family's words, their
// service's own words and a long tail of words seen once (names, codes,
// typos), and ticket counts per service that are skewed as in a real desk
// (a few services get most tickets).
type synthetic struct {
	docs     []Document
	examples []Example
	queries  []Example // 30-word descriptions not among the examples
}

func syntheticWord(r *rand.Rand) string {
	const cons, vows = "bcdfgklmnprstvz", "aeiou"
	var b strings.Builder
	for range 2 + r.IntN(3) {
		b.WriteByte(cons[r.IntN(len(cons))])
		b.WriteByte(vows[r.IntN(len(vows))])
	}
	if r.IntN(3) == 0 {
		b.WriteByte(cons[r.IntN(len(cons))])
	}
	return b.String()
}

func newSynthetic(services, tickets, queries int) *synthetic {
	r := rand.New(rand.NewPCG(20, 1))
	var stops []string
	for w := range stopWords {
		stops = append(stops, w)
	}
	slices.Sort(stops)
	words := func(n int) []string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = syntheticWord(r)
		}
		return ws
	}
	common := words(3000)
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(common)-1))
	pool := words(40000)
	const familySize = 20
	family := make([][]string, services/familySize+1)
	for i := range family {
		family[i] = words(30)
	}
	own := make([][]string, services)
	id := func(s int) string { return fmt.Sprintf("svc-%05d", s) }
	syn := &synthetic{}
	for s := range services {
		own[s] = make([]string, 8)
		for i := range own[s] {
			own[s][i] = pool[r.IntN(len(pool))]
		}
		desc := make([]string, 15)
		for i := range desc {
			switch r.IntN(3) {
			case 0:
				desc[i] = own[s][r.IntN(8)]
			case 1:
				desc[i] = family[s/familySize][r.IntN(30)]
			default:
				desc[i] = common[zipf.Uint64()]
			}
		}
		syn.docs = append(syn.docs, Document{ServiceID: id(s), Fields: []Field{
			{Kind: FieldName, Text: own[s][0] + " " + own[s][1]},
			{Kind: FieldDescription, Text: strings.Join(desc, " ")},
		}})
	}
	text := func(s, n int) string {
		ws := make([]string, n)
		for i := range ws {
			switch p := r.IntN(100); {
			case p < 3:
				// The long tail: names, codes, typos, seen once or twice.
				ws[i] = syntheticWord(r) + syntheticWord(r)
			case p < 30:
				ws[i] = stops[r.IntN(len(stops))]
			case p < 65:
				ws[i] = common[zipf.Uint64()]
			case p < 85:
				ws[i] = family[s/familySize][r.IntN(30)]
			default:
				ws[i] = own[s][r.IntN(8)]
			}
		}
		return strings.Join(ws, " ")
	}
	// Services' shares of the tickets fall off as 1/rank^0.8.
	weights := make([]float64, services)
	sum := 0.0
	for s := range weights {
		weights[s] = 1 / math.Pow(float64(s+1), 0.8)
		sum += weights[s]
	}
	perm := r.Perm(services)
	syn.examples = make([]Example, 0, tickets)
	for rank, s := range perm {
		n := int(weights[rank] / sum * float64(tickets))
		for range n {
			syn.examples = append(syn.examples, Example{Text: text(s, 8+r.IntN(33)), ServiceID: id(s)})
		}
	}
	for len(syn.examples) < tickets {
		s := r.IntN(services)
		syn.examples = append(syn.examples, Example{Text: text(s, 8+r.IntN(33)), ServiceID: id(s)})
	}
	r.Shuffle(len(syn.examples), func(i, j int) { syn.examples[i], syn.examples[j] = syn.examples[j], syn.examples[i] })
	for range queries {
		// Queries come from services as tickets do.
		e := syn.examples[r.IntN(len(syn.examples))]
		var s int
		fmt.Sscanf(e.ServiceID, "svc-%d", &s)
		syn.queries = append(syn.queries, Example{Text: text(s, 30), ServiceID: e.ServiceID})
	}
	return syn
}

// bigModel is the benchmark's model, built once per test binary.
var bigModel = sync.OnceValues(func() (*benchModel, error) {
	syn := newSynthetic(10_000, 1_000_000, 2000)
	queries := syn.queries
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	m := New(syn.docs, syn.examples)
	built := time.Since(start)
	syn = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return &benchModel{m: m, queries: queries, build: built, heap: after.HeapAlloc}, nil
})

type benchModel struct {
	m       *Model
	queries []Example
	build   time.Duration
	heap    uint64 // bytes on the heap after the build, the model included
}

// BenchmarkSuggest suggests services for 30-word descriptions against a
// model of 10,000 services trained on 1,000,000 synthetic tickets. Besides
// ns/op it reports the model's build time and the heap after the build,
// the p50 and p99 of single suggestions, and the precision@1 on the
// synthetic queries (a sanity check, not a measure of quality: the
// synthetic words are easier than people's).
func BenchmarkSuggest(b *testing.B) {
	bm, err := bigModel()
	if err != nil {
		b.Fatal(err)
	}
	var (
		times []time.Duration
		hits  int
		i     int
	)
	b.ResetTimer()
	for b.Loop() {
		q := bm.queries[i%len(bm.queries)]
		i++
		start := time.Now()
		s := bm.m.Suggest(q.Text, 3, nil)
		times = append(times, time.Since(start))
		if len(s) > 0 && s[0].ServiceID == q.ServiceID {
			hits++
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(hits)/float64(len(times)), "p@1")
	b.ReportMetric(bm.build.Seconds(), "build-s")
	b.ReportMetric(float64(bm.heap)/(1<<20), "heap-MiB")
	terms, postings := bm.m.size()
	b.ReportMetric(float64(terms), "terms")
	b.ReportMetric(float64(postings), "postings")
}
