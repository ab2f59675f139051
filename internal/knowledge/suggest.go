package knowledge

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/triage"
)

// The suggestion reads the published articles into memory: their terms
// (internal/triage's words: normalised and stemmed) in the title and the
// first indexBodyBytes of the body. The index is built on first use, again
// after a change on this replica, and at least every indexAge (changes on
// other replicas).
const (
	indexAge       = time.Minute
	indexBodyBytes = 16 << 10
	// maxIndexed bounds the articles the index holds: the most recently
	// published.
	maxIndexed = 20000
	// MaxSuggestions is the most articles Suggest returns.
	MaxSuggestions = 10
)

// indexed is one published article as the suggestion reads it.
type indexed struct {
	id, reference, title string
	service              Ref
	title1, body         map[string]int // term → count
	length               int            // terms in the body
}

type suggestIndex struct {
	mu      sync.Mutex
	docs    []*indexed
	df      map[string]int // term → articles that have it
	avgLen  float64
	built   time.Time
	invalid bool
}

func (x *suggestIndex) invalidate() {
	x.mu.Lock()
	x.invalid = true
	x.mu.Unlock()
}

// Suggestion is a published article suggested for a text, with its score
// (higher is better; comparable within one answer only) and the words
// that matched.
type Suggestion struct {
	ID        string   `json:"id"`
	Reference string   `json:"reference"`
	Title     string   `json:"title"`
	Service   Ref      `json:"service"`
	Score     float64  `json:"score"`
	Matched   []string `json:"matched"`
}

// Suggest returns up to k (5 when 0, at most MaxSuggestions) published
// articles for a description in the user's own words, best first: the
// deflection "get help" shows while people type. The relevance is BM25
// over the article's terms, a term in the title counting three times; an
// article must share at least one term with the text. Callers need to be
// able to read published articles. Errors: unauthenticated, forbidden,
// invalid (an empty or too long text, k out of range).
func (s *Service) Suggest(ctx context.Context, p *access.Principal, text string, k int) ([]Suggestion, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to read knowledge articles")
	}
	if !MayRead(p) {
		return nil, access.Forbidden(access.CatalogRead)
	}
	text = strings.TrimSpace(text)
	var v errs.Validator
	textCheck(&v, text, "q", MaxQuery, true)
	v.Check(k >= 0 && k <= MaxSuggestions, "k", "range", "k is 1 to 10 (5 when 0)")
	if err := v.Err("the text is not valid"); err != nil {
		return nil, err
	}
	if k == 0 {
		k = 5
	}
	x, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	return x.suggest(triage.Terms(text), k), nil
}

// snapshot is the index as one suggestion reads it.
type snapshot struct {
	docs   []*indexed
	df     map[string]int
	avgLen float64
}

func (s *Service) index(ctx context.Context) (snapshot, error) {
	x := &s.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.df != nil && !x.invalid && s.now().Sub(x.built) < indexAge {
		return snapshot{x.docs, x.df, x.avgLen}, nil
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "articles", func(row sqldb.Scanner) (*indexed, error) {
		var d indexed
		var body string
		var number int64
		if err := row.Scan(&d.id, &number, &d.title, &body, &d.service.ID, &d.service.Code, &d.service.Name); err != nil {
			return nil, err
		}
		d.reference = reference(number)
		d.title1, d.body = counts(d.title), counts(body)
		for _, n := range d.body {
			d.length += n
		}
		return &d, nil
	}, `SELECT a.id, a.number, a.title, SUBSTR(a.body, 1, $1), s.id, s.code, s.name
		FROM articles a JOIN services s ON s.id = a.service_id WHERE a.state = 'published' ORDER BY a.published_at DESC, a.id LIMIT $2`, indexBodyBytes, maxIndexed)
	if err != nil {
		return snapshot{}, err
	}
	df := map[string]int{}
	total := 0
	for _, d := range rows {
		seen := map[string]bool{}
		for t := range d.title1 {
			seen[t] = true
		}
		for t := range d.body {
			seen[t] = true
		}
		for t := range seen {
			df[t]++
		}
		total += d.length
	}
	x.docs, x.df, x.built, x.invalid = rows, df, s.now(), false
	x.avgLen = 1
	if len(rows) > 0 && total > 0 {
		x.avgLen = float64(total) / float64(len(rows))
	}
	return snapshot{x.docs, x.df, x.avgLen}, nil
}

// counts counts a text's terms, line by line: a term counts once per
// line it is on (triage.Terms gives each term of a text once), which
// bounds what one word repeated can weigh; of a line longer than
// triage.MaxInputBytes only the start is read.
func counts(text string) map[string]int {
	out := map[string]int{}
	for line := range strings.Lines(text) {
		for _, t := range triage.Terms(line) {
			out[t]++
		}
	}
	return out
}

// BM25's parameters.
const (
	bm25K1     = 1.2
	bm25B      = 0.75
	titleBoost = 3.0
)

func (x snapshot) suggest(terms []string, k int) []Suggestion {
	n := float64(len(x.docs))
	var out []Suggestion
	for _, d := range x.docs {
		var score float64
		var matched []string
		for _, t := range terms {
			tf := float64(d.body[t]) + titleBoost*float64(d.title1[t])
			if tf == 0 {
				continue
			}
			df := float64(x.df[t])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			norm := bm25K1 * (1 - bm25B + bm25B*float64(d.length)/x.avgLen)
			score += idf * tf * (bm25K1 + 1) / (tf + norm)
			matched = append(matched, t)
		}
		if score > 0 {
			out = append(out, Suggestion{ID: d.id, Reference: d.reference, Title: d.title, Service: d.service, Score: math.Round(score*1000) / 1000, Matched: matched})
		}
	}
	slices.SortStableFunc(out, func(a, b Suggestion) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(a.Reference, b.Reference)
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}
