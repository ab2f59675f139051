package triage

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxSuggestions bounds the k of Suggest.
const MaxSuggestions = 20

const (
	// maxReasons bounds a suggestion's Why.
	maxReasons = 4
	// maxCorrections bounds how many unknown words of one text are looked
	// up as typos, each costing some hundreds of map look-ups.
	maxCorrections = 8
	// minTypoLen is the shortest term looked up as a typo: shorter words
	// are one edit away from too many others.
	minTypoLen = 5
	// negligible is how far (in tempered log odds) below the best a
	// service's score may be before it no longer counts in the confidences.
	negligible = 30.0
	// tabSize is the size of the per-term table of contributions for small
	// counts, which saves a logarithm per posting of a common term.
	tabSize = 256
)

// Suggestion is a service suggested for a text.
type Suggestion struct {
	ServiceID string
	// Confidence is the model's probability, from 0 to 1, that the text is
	// for this service rather than for any other service that the caller
	// may see. The confidences of one call sum to at most 1.
	Confidence float64
	// Why lists, most telling first, the words of the text that led to the
	// suggestion and where the model found them: in the service's name,
	// description, outcomes or knowledge articles, or in tickets classified
	// under it. At most four reasons.
	Why []string
}

// Suggest returns up to k services (at most MaxSuggestions) for a text,
// best first, among the services that share at least one word with it and
// that allowed accepts (all of them if allowed is nil). allowed is called
// while the best are chosen, so a service the caller may not see never
// takes the place of one it may; it is called at most once per service and
// call, from the calling goroutine, with the model's read lock held (it
// must not call the model's methods that change it). Suggest reads at most
// MaxInputBytes of text and MaxTokens words; its cost grows with the
// number of services (and most with those that share the text's words), not
// with the number of tickets learned. Equal scores are ordered by service
// ID.
func (m *Model) Suggest(text string, k int, allowed func(serviceID string) bool) []Suggestion {
	if k <= 0 {
		return nil
	}
	k = min(k, MaxSuggestions)
	toks := tokenize(text, nil, true, make([]token, 0, 32))

	m.mu.RLock()
	defer m.mu.RUnlock()
	q := m.query(toks)
	if len(q) == 0 {
		return nil
	}
	sc := m.getScratch()
	defer m.putScratch(sc)

	m.accumulate(q, sc)
	top := m.best(q, sc, k, allowed)
	if len(top) == 0 {
		return nil
	}

	// The confidences: a softmax of the tempered scores over the allowed
	// services, leaving out those too far below the best to matter (and
	// so not asking allowed about them). A service that shares no word
	// with the text has the score of its prior and smoothing alone.
	b := top[0].score
	cut := b - negligible*m.p.temperature
	qmass := queryMass(q)
	z := 0.0
	for s := range m.svcs {
		sv := &m.svcs[s]
		if !sv.live {
			continue
		}
		score := sv.prior + qmass*sv.logSmooth
		if sc.state[s]&stateScored != 0 {
			score = sc.acc[s]
		}
		if score >= cut && sc.allowed(uint32(s), m, allowed) {
			z += math.Exp((score - b) / m.p.temperature)
		}
	}
	out := make([]Suggestion, len(top))
	for i, c := range top {
		out[i] = Suggestion{
			ServiceID:  m.svcs[c.svc].id,
			Confidence: math.Exp((c.score-b)/m.p.temperature) / z,
			Why:        m.reasons(c.svc, q),
		}
	}
	return out
}

// queryTerm is a term of the text of a Suggest that the model knows.
type queryTerm struct {
	id     uint32
	weight float64
	word   string // the user's word
	readAs string // the term the word was read as, if it was taken as a typo
}

// query looks up the text's terms: each distinct known term once, and an
// unknown term that is one edit (a letter left out, added, changed or two
// swapped) from a known term as that term, counting less.
func (m *Model) query(toks []token) []queryTerm {
	var q []queryTerm
	add := func(qt queryTerm) {
		for i := range q {
			if q[i].id == qt.id {
				if qt.weight > q[i].weight {
					q[i] = qt
				}
				return
			}
		}
		q = append(q, qt)
	}
	corrections := 0
	for i, t := range toks {
		if id, ok := m.terms[t.term]; ok {
			add(queryTerm{id: id, weight: 1, word: t.word})
			continue
		}
		if corrections == maxCorrections || !typoCandidate(t.term) || slices.ContainsFunc(toks[:i], func(u token) bool { return u.term == t.term }) {
			continue
		}
		corrections++
		if id, ok := m.correct(t.term); ok {
			add(queryTerm{id: id, weight: m.p.typo, word: t.word, readAs: m.vocab[id].term})
		}
	}
	return q
}

// typoCandidate reports whether an unknown term may be a typo that correct
// can read: at least minTypoLen lower-case ASCII letters.
func typoCandidate(term string) bool {
	if len(term) < minTypoLen || len(term) > maxWordBytes {
		return false
	}
	for i := 0; i < len(term); i++ {
		if term[i] < 'a' || term[i] > 'z' {
			return false
		}
	}
	return true
}

// correct returns the most frequent known term one edit away from term, a
// typoCandidate.
func (m *Model) correct(term string) (uint32, bool) {
	var (
		best     uint32
		bestColl int64
		found    bool
	)
	try := func(b []byte) {
		id, ok := m.terms[string(b)]
		if !ok {
			return
		}
		ts := &m.vocab[id]
		if !found || ts.coll > bestColl || ts.coll == bestColl && ts.term < m.vocab[best].term {
			best, bestColl, found = id, ts.coll, true
		}
	}
	var buf [maxWordBytes + 1]byte
	n := len(term)
	for i := range n { // a letter too many
		b := append(append(buf[:0], term[:i]...), term[i+1:]...)
		try(b)
	}
	for i := 0; i+1 < n; i++ { // two letters swapped
		if term[i] != term[i+1] {
			b := append(buf[:0], term...)
			b[i], b[i+1] = b[i+1], b[i]
			try(b)
		}
	}
	for i := range n { // a wrong letter
		b := append(buf[:0], term...)
		for c := byte('a'); c <= 'z'; c++ {
			if c != term[i] {
				b[i] = c
				try(b)
			}
		}
	}
	if n < maxWordBytes {
		for i := 0; i <= n; i++ { // a letter left out
			b := append(append(append(buf[:0], term[:i]...), 0), term[i:]...)
			for c := byte('a'); c <= 'z'; c++ {
				b[i] = c
				try(b)
			}
		}
	}
	return best, found
}

// scratch holds the per-service working state of one Suggest, indexed by
// service index.
type scratch struct {
	// acc is the sum of the contributions of the query's terms that the
	// service has (positive if it has any, else 0), then its score.
	acc   []float64
	state []uint8 // the state bits below
	tab   [tabSize]float64
}

const (
	stateScored  uint8 = 1 << iota // the service has a term of the text, and acc holds its score
	stateChecked                   // allowed was called
	stateAllowed                   // and said yes
)

// allowed reports whether the caller may see service s, asking allowed once.
func (sc *scratch) allowed(s uint32, m *Model, allowed func(string) bool) bool {
	if allowed == nil {
		return true
	}
	if sc.state[s]&stateChecked == 0 {
		sc.state[s] |= stateChecked
		if allowed(m.svcs[s].id) {
			sc.state[s] |= stateAllowed
		}
	}
	return sc.state[s]&stateAllowed != 0
}

func (m *Model) getScratch() *scratch {
	sc, _ := m.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if n := len(m.svcs); len(sc.acc) < n {
		sc.acc = make([]float64, n+n/4)
		sc.state = make([]uint8, n+n/4)
	}
	return sc
}

func (m *Model) putScratch(sc *scratch) {
	clear(sc.acc)
	clear(sc.state)
	m.scratch.Put(sc)
}

// accumulate adds up, for every service that has any of the query's terms,
// the terms' contributions to its score.
//
// The score of service s for a text with terms t is the log of its
// probability under a multinomial naive Bayes model whose word
// distribution for s is smoothed toward the whole collection's with a
// Dirichlet prior:
//
//	P(t|s) = (c(s,t) + mu·P(t)) / (M(s) + mu)
//
// where c(s,t) is how many of s's tickets have t plus t's weight in s's
// document, M(s) the sum of c(s,·) and P(t) t's share of the collection
// (with a little background added to every term's count). Leaving out what
// is the same for every service, log P(text|s) is
//
//	Σ_t w(t)·log(1 + c(s,t)/(mu·P(t)))  +  Σ_t w(t) · log(mu/(M(s)+mu))
//
// whose first sum runs only over the postings of the text's terms; the
// second and the prior depend only on the service and are added by best.
func (m *Model) accumulate(q []queryTerm, sc *scratch) {
	acc := sc.acc
	for _, qt := range q {
		ts := &m.vocab[qt.id]
		a, w := m.scale(ts), qt.weight
		tab := &sc.tab
		useTab := len(ts.tick) > 4*tabSize
		if useTab {
			for c := 1; c < tabSize; c++ {
				tab[c] = w * math.Log1p(float64(c)*a)
			}
		}
		add := func(s, c uint32) {
			if useTab && c < tabSize {
				acc[s] += tab[c]
			} else {
				acc[s] += w * math.Log1p(float64(c)*a)
			}
		}
		// Merge the document postings (few) into the ticket postings
		// (many), both in service order.
		tick, j := ts.tick, 0
		for _, d := range ts.doc {
			for j < len(tick) && tick[j].svc < d.svc {
				add(tick[j].svc, tick[j].tickets)
				j++
			}
			c := uint32(d.weight)
			if j < len(tick) && tick[j].svc == d.svc {
				c += tick[j].tickets
				j++
			}
			add(d.svc, c)
		}
		for _, p := range tick[j:] {
			add(p.svc, p.tickets)
		}
	}
}

// candidate is a service and its score.
type candidate struct {
	svc   uint32
	score float64
}

// queryMass is the number of the query's terms, a typo counting less.
func queryMass(q []queryTerm) float64 {
	n := 0.0
	for _, qt := range q {
		n += qt.weight
	}
	return n
}

// best completes the scores (in sc.acc) of the services that have any of
// the query's terms and returns the k best that allowed accepts, best
// first; equal scores in service ID order.
func (m *Model) best(q []queryTerm, sc *scratch, k int, allowed func(string) bool) []candidate {
	qmass := queryMass(q)
	better := func(a, b candidate) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		return m.svcs[a.svc].id < m.svcs[b.svc].id
	}
	top := make([]candidate, 0, k+1)
	for s := range m.svcs {
		if sc.acc[s] == 0 {
			continue
		}
		sv := &m.svcs[s]
		c := candidate{svc: uint32(s), score: sc.acc[s] + sv.prior + qmass*sv.logSmooth}
		sc.acc[s] = c.score
		sc.state[s] |= stateScored
		if len(top) == k && !better(c, top[k-1]) {
			continue
		}
		if !sc.allowed(c.svc, m, allowed) {
			continue
		}
		i := len(top)
		for i > 0 && better(c, top[i-1]) {
			i--
		}
		top = slices.Insert(top, i, c)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

// reasons explains service s's score: the query's terms that it has, most
// telling first, and where it has them.
func (m *Model) reasons(s uint32, q []queryTerm) []string {
	type match struct {
		qt      *queryTerm
		gain    float64
		kinds   uint8
		tickets uint32
	}
	var ms []match
	for i := range q {
		qt := &q[i]
		ts := &m.vocab[qt.id]
		var mt match
		mt.qt = qt
		if i, ok := slices.BinarySearchFunc(ts.doc, s, func(p docPosting, s uint32) int { return cmp.Compare(p.svc, s) }); ok {
			mt.kinds = ts.doc[i].kinds
			mt.gain = float64(ts.doc[i].weight)
		}
		if i, ok := slices.BinarySearchFunc(ts.tick, s, func(p tickPosting, s uint32) int { return cmp.Compare(p.svc, s) }); ok {
			mt.tickets = ts.tick[i].tickets
			mt.gain += float64(mt.tickets)
		}
		if mt.gain == 0 {
			continue
		}
		mt.gain = qt.weight * math.Log1p(mt.gain*m.scale(ts))
		ms = append(ms, mt)
	}
	slices.SortFunc(ms, func(a, b match) int {
		if c := cmp.Compare(b.gain, a.gain); c != 0 {
			return c
		}
		return cmp.Compare(a.qt.word, b.qt.word)
	})
	why := make([]string, 0, min(len(ms), maxReasons))
	for _, mt := range ms[:min(len(ms), maxReasons)] {
		why = append(why, reason(mt.qt, mt.kinds, mt.tickets, m.svcs[s].tickets))
	}
	return why
}

// reason says in words why a term counted for a service:
//
//	"printer" is in the service name and in 14 of 52 tickets classified here
//	"pritner" (read as "printer") is in the description
func reason(qt *queryTerm, kinds uint8, tickets uint32, of int64) string {
	var b strings.Builder
	b.WriteString(`"` + qt.word + `"`)
	if qt.readAs != "" {
		b.WriteString(` (read as "` + qt.readAs + `")`)
	}
	b.WriteString(" is in ")
	if kinds != 0 {
		// The field kinds are numbered from the one that counts most.
		for k := FieldKind(1); k < numFieldKinds+1; k++ {
			if kinds&(1<<(k-1)) != 0 {
				b.WriteString(k.where())
				break
			}
		}
		if tickets > 0 {
			b.WriteString(" and in ")
		}
	}
	switch {
	case tickets == 0:
	case of == 1:
		b.WriteString("the one ticket classified here")
	default:
		b.WriteString(strconv.FormatUint(uint64(tickets), 10) + " of " + strconv.FormatInt(of, 10) + " tickets classified here")
	}
	return b.String()
}
