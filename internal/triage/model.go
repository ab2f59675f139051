package triage

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
)

// FieldKind says where a text of a service comes from. It sets how much the
// text's words count (a word of the service's name counts more than one of
// its description) and is named when a suggestion says why it was made.
type FieldKind uint8

// The kinds of a service's texts, from the one whose words count most.
const (
	// FieldName is the service's name (or an offering's name).
	FieldName FieldKind = iota + 1
	// FieldKeyword is another word people use for the service: its code,
	// a product name, a synonym the service owner adds.
	FieldKeyword
	// FieldDescription is the service's description.
	FieldDescription
	// FieldArticleTitle is the title of a knowledge article of the service.
	FieldArticleTitle
	// FieldOutcome is one of the outcomes the service delivers.
	FieldOutcome
	// FieldArticleBody is the text of a knowledge article of the service.
	FieldArticleBody
	numFieldKinds = iota
)

// where names the field kind in a reason: `"printer" is in the service name`.
func (k FieldKind) where() string {
	switch k {
	case FieldName:
		return "the service name"
	case FieldKeyword:
		return "the service's keywords"
	case FieldDescription:
		return "the description"
	case FieldArticleTitle:
		return "a knowledge article's title"
	case FieldOutcome:
		return "the service's outcomes"
	case FieldArticleBody:
		return "a knowledge article"
	}
	return "the service's texts"
}

// Field is one text of a service: its name, its description, an outcome, a
// knowledge article's title or body.
type Field struct {
	Kind FieldKind
	Text string
}

// Document is what the catalog says about a service: all its texts, which
// the model reads alongside the tickets classified under it. A service with
// no tickets yet is suggested from its document alone.
type Document struct {
	ServiceID string
	Fields    []Field
}

// Example is a ticket whose service is known: the text its requester wrote
// (subject and description) and the service agents settled on.
type Example struct {
	Text, ServiceID string
}

// params are the model's parameters. They were chosen by cross-validation
// on the test corpus (see doc.go and TestTune).
type params struct {
	// field is how many classified tickets one word of a field of each
	// kind is worth. A service's own texts are curated and each of their
	// words is worth several tickets' words; but a service that gathers
	// tickets soon outweighs them and is judged on its users' words.
	field [numFieldKinds + 1]uint16
	// dirichlet is the Dirichlet prior's weight: how much of a service's
	// word distribution is the whole collection's, in counted words.
	dirichlet float64
	// background is added to every term's collection count: it keeps a
	// word seen once, in one ticket, from outweighing the service's name.
	background float64
	// priorWeight scales the log of a service's ticket count (plus
	// priorCount) in its score: services that get many tickets are more
	// likely, but a new service must still be suggested for its words.
	priorWeight, priorCount float64
	// typo is how much a word read as a typo counts, against 1 for a
	// word spelled as the model knows it.
	typo float64
	// temperature divides the scores before they are turned into
	// confidences: naive Bayes is overconfident.
	temperature float64
}

// defaults are the parameters New uses.
var defaults = params{
	field: [numFieldKinds + 1]uint16{
		FieldName:         4,
		FieldKeyword:      3,
		FieldDescription:  3,
		FieldArticleTitle: 2,
		FieldOutcome:      1,
		FieldArticleBody:  1,
	},
	dirichlet:   1000,
	background:  10,
	priorWeight: 0.5,
	priorCount:  2,
	typo:        0.75,
	temperature: 0.1,
}

// A Model suggests services for a text from the services' documents and
// the tickets classified under them. It keeps, per term and service, only
// counts (how many of the service's tickets have the term; the weight of
// the term in the service's document), so its size grows with the
// vocabulary and the number of services, never with the number of tickets.
//
// Create a Model with New. It is safe for concurrent use: Suggest may run
// in parallel with itself and with the methods that change the model, which
// each take an exclusive lock for the time of one update.
type Model struct {
	mu sync.RWMutex

	terms     map[string]uint32 // term → index in vocab
	vocab     []termStats
	freeTerms []uint32 // indices in vocab of terms that no longer occur

	services map[string]uint32 // service ID → index in svcs
	svcs     []service
	freeSvcs []uint32 // indices in svcs of removed services

	total int64 // the sum of every term's coll
	p     params

	scratch sync.Pool // of *scratch, for Suggest
}

// termStats is what the model knows of one term.
type termStats struct {
	term string
	// coll is the term's count in the whole collection: its document
	// weights and ticket counts summed over the services.
	coll int64
	doc  []docPosting  // by service index
	tick []tickPosting // by service index
}

// docPosting says that a term is in a service's document: its weight (the
// sum of the weights of the field kinds it is in) and those kinds.
type docPosting struct {
	svc    uint32
	weight uint16
	kinds  uint8 // bit k-1 for FieldKind k
}

// tickPosting says how many of a service's tickets have a term.
type tickPosting struct {
	svc     uint32
	tickets uint32
}

// service is what the model knows of one service.
type service struct {
	id      string
	live    bool
	tickets int64    // classified tickets learned
	mass    int64    // document weights plus ticket term counts
	docTerm []uint32 // the terms of its document, to remove it
	// The score's parts that depend only on the service, kept up to date
	// by update: priorWeight·log(tickets+priorCount) and log(mu/(mass+mu)).
	prior, logSmooth float64
}

func (s *service) update(p *params) {
	s.prior = p.priorWeight * math.Log(float64(s.tickets)+p.priorCount)
	s.logSmooth = math.Log(p.dirichlet / (float64(s.mass) + p.dirichlet))
}

// scale is the factor of a term's counts in its contributions to a score:
// 1/(dirichlet·P(t)), with P(t) the term's share of the collection.
func (m *Model) scale(ts *termStats) float64 {
	return float64(m.total) / (m.p.dirichlet * (float64(ts.coll) + m.p.background))
}

// New returns a model of the services' documents and the classified
// tickets. A service is in the model while it has a document or a ticket;
// a later document for the same service replaces an earlier one; examples
// and documents without a service ID are left out. Building reads every
// text once, about 10 µs per ticket on one core.
func New(docs []Document, examples []Example) *Model {
	return newModel(defaults, docs, examples)
}

func newModel(p params, docs []Document, examples []Example) *Model {
	m := &Model{terms: map[string]uint32{}, services: map[string]uint32{}, p: p}
	st := &stemmer{cache: map[string]string{}}
	for _, d := range docs {
		if d.ServiceID != "" {
			m.setDocument(d.ServiceID, documentTerms(d, &m.p, st))
		}
	}
	m.bulkLearn(examples, st)
	return m
}

// bulkLearn learns many tickets at once, in a model with no tickets yet:
// grouped by service, in the order of the services' indices, so that
// every posting list is built by appending.
func (m *Model) bulkLearn(examples []Example, st *stemmer) {
	idx := make([]uint32, len(examples))
	var count []int // tickets per service index
	for i, e := range examples {
		if e.ServiceID == "" {
			idx[i] = math.MaxUint32
			continue
		}
		s := m.serviceIndex(e.ServiceID)
		idx[i] = s
		for int(s) >= len(count) {
			count = append(count, 0)
		}
		count[s]++
	}
	start := make([]int, len(count)+1)
	for s, c := range count {
		start[s+1] = start[s] + c
	}
	order := make([]int32, start[len(count)])
	fill := slices.Clone(start[:len(count)])
	for i, s := range idx {
		if s != math.MaxUint32 {
			order[fill[s]] = int32(i)
			fill[s]++
		}
	}
	var (
		counts  []uint32 // per term index, for the current service
		seen    []uint32 // per term index, the last ticket it was counted in
		touched []uint32
	)
	// Tickets repeat the same words: keep what each word (as written)
	// became, a term index or -1 for a word that is not counted.
	known := map[string]int32{}
	const maxKnown = 1 << 18
	termOf := func(w string) int32 {
		if id, ok := known[w]; ok {
			return id
		}
		id := int32(-1)
		if t, ok := normalise(w, st); ok {
			id = int32(m.termIndex(t))
		}
		if len(known) < maxKnown {
			known[strings.Clone(w)] = id
		}
		return id
	}
	stamp := uint32(0)
	for s := range count {
		sv := &m.svcs[s]
		touched = touched[:0]
		for _, i := range order[start[s]:start[s+1]] {
			stamp++
			n := 0
			for w := range words(examples[i].Text, MaxInputBytes) {
				tid := termOf(w)
				if tid < 0 {
					continue
				}
				id := uint32(tid)
				for int(id) >= len(counts) {
					counts, seen = append(counts, 0), append(seen, 0)
				}
				if seen[id] != stamp {
					seen[id] = stamp
					if counts[id] == 0 {
						touched = append(touched, id)
					}
					counts[id]++
				}
				if n++; n == MaxTokens {
					break
				}
			}
			sv.tickets++
		}
		for _, id := range touched {
			n := counts[id]
			counts[id] = 0
			ts := &m.vocab[id]
			ts.tick = append(ts.tick, tickPosting{svc: uint32(s), tickets: n})
			ts.coll += int64(n)
			m.total += int64(n)
			sv.mass += int64(n)
		}
		sv.update(&m.p)
	}
	// Appending left up to half of each list's capacity unused.
	for i := range m.vocab {
		if ts := &m.vocab[i]; cap(ts.tick) > len(ts.tick)+len(ts.tick)/4 {
			ts.tick = slices.Clone(ts.tick)
		}
	}
	if cap(m.vocab) > len(m.vocab)+len(m.vocab)/8 {
		m.vocab = slices.Clone(m.vocab)
	}
}

// Learn counts a classified ticket: text is what its requester wrote,
// serviceID the service it was classified under. The service is added to
// the model if it is not in it yet. Learn does nothing if serviceID is
// empty.
func (m *Model) Learn(text, serviceID string) {
	if serviceID == "" {
		return
	}
	terms := distinct(tokenize(text, nil, false, nil))
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.serviceIndex(serviceID)
	sv := &m.svcs[s]
	for _, t := range terms {
		id := m.termIndex(t)
		ts := &m.vocab[id]
		i, found := slices.BinarySearchFunc(ts.tick, s, func(p tickPosting, s uint32) int { return cmp.Compare(p.svc, s) })
		if found {
			ts.tick[i].tickets++
		} else {
			ts.tick = slices.Insert(ts.tick, i, tickPosting{svc: s, tickets: 1})
		}
		ts.coll++
		m.total++
		sv.mass++
	}
	sv.tickets++
	sv.update(&m.p)
}

// Unlearn takes back a ticket that Learn counted, with the same text and
// service: when an agent moves a ticket to another service, Unlearn it from
// the old one and Learn it for the new one. Unlearning every ticket learned
// since a point in time restores the suggestions of that time exactly.
// Unlearn does nothing if the service has no tickets; counts never go below
// zero, but unlearning a text that was not learned leaves the service's
// counts wrong.
func (m *Model) Unlearn(text, serviceID string) {
	terms := distinct(tokenize(text, nil, false, nil))
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.services[serviceID]
	if !ok || m.svcs[s].tickets == 0 {
		return
	}
	sv := &m.svcs[s]
	for _, t := range terms {
		id, ok := m.terms[t]
		if !ok {
			continue
		}
		ts := &m.vocab[id]
		i, found := slices.BinarySearchFunc(ts.tick, s, func(p tickPosting, s uint32) int { return cmp.Compare(p.svc, s) })
		if !found {
			continue
		}
		if ts.tick[i].tickets--; ts.tick[i].tickets == 0 {
			ts.tick = slices.Delete(ts.tick, i, i+1)
		}
		ts.coll--
		m.total--
		sv.mass--
		m.releaseTerm(id)
	}
	sv.tickets--
	sv.update(&m.p)
	m.dropIfEmpty(s)
}

// SetDocument adds a service's document or replaces the one the model has,
// keeping what was learned from its tickets. A document without fields
// removes the service's texts but not its tickets. SetDocument does nothing
// if d.ServiceID is empty.
func (m *Model) SetDocument(d Document) {
	if d.ServiceID == "" {
		return
	}
	terms := documentTerms(d, &m.p, nil)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setDocument(d.ServiceID, terms)
}

// RemoveService forgets a service: its document and everything learned from
// its tickets. It is never suggested again unless it is given a document or
// a ticket anew. RemoveService looks at every term of the vocabulary and so
// takes milliseconds on a large model; it does nothing if the service is
// not in the model.
func (m *Model) RemoveService(serviceID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.services[serviceID]
	if !ok {
		return
	}
	m.setDocument(serviceID, nil)
	if _, ok := m.services[serviceID]; !ok {
		return // it had a document only
	}
	for id := range m.vocab {
		ts := &m.vocab[id]
		i, found := slices.BinarySearchFunc(ts.tick, s, func(p tickPosting, s uint32) int { return cmp.Compare(p.svc, s) })
		if !found {
			continue
		}
		n := int64(ts.tick[i].tickets)
		ts.tick = slices.Delete(ts.tick, i, i+1)
		ts.coll -= n
		m.total -= n
		m.releaseTerm(uint32(id))
	}
	m.svcs[s].tickets = 0
	m.dropIfEmpty(s)
}

// dropIfEmpty removes service s if it has neither a document nor tickets:
// a service is in the model while it has either.
func (m *Model) dropIfEmpty(s uint32) {
	sv := &m.svcs[s]
	if sv.tickets > 0 || len(sv.docTerm) > 0 {
		return
	}
	delete(m.services, sv.id)
	*sv = service{}
	m.freeSvcs = append(m.freeSvcs, s)
}

// docTerm is a term of a document with its weight and the kinds of field it
// is in.
type docTerm struct {
	term   string
	weight uint16
	kinds  uint8
}

// documentTerms reads a document's fields, each up to MaxFieldBytes: each
// term counts once per kind of field it is in, whatever the number of times
// or fields of that kind (a word repeated in a long article does not count
// more). The terms are sorted.
func documentTerms(d Document, p *params, st *stemmer) []docTerm {
	at := map[string]int{}
	var terms []docTerm
	for _, f := range d.Fields {
		if f.Kind == 0 || f.Kind > numFieldKinds {
			continue
		}
		w := p.field[f.Kind]
		if w == 0 {
			continue
		}
		bit := uint8(1) << (f.Kind - 1)
		for word := range words(f.Text, MaxFieldBytes) {
			t, ok := normalise(word, st)
			if !ok {
				continue
			}
			i, ok := at[t]
			if !ok {
				i = len(terms)
				at[t] = i
				terms = append(terms, docTerm{term: t})
			}
			if dt := &terms[i]; dt.kinds&bit == 0 {
				dt.kinds |= bit
				dt.weight += w
			}
		}
	}
	slices.SortFunc(terms, func(a, b docTerm) int { return cmp.Compare(a.term, b.term) })
	return terms
}

// setDocument replaces a service's document terms, adding the service if it
// is new (and if it has terms).
func (m *Model) setDocument(id string, terms []docTerm) {
	s, ok := m.services[id]
	if !ok {
		if len(terms) == 0 {
			return
		}
		s = m.serviceIndex(id)
	}
	sv := &m.svcs[s]
	for _, tid := range sv.docTerm {
		ts := &m.vocab[tid]
		i, found := slices.BinarySearchFunc(ts.doc, s, func(p docPosting, s uint32) int { return cmp.Compare(p.svc, s) })
		if !found {
			continue // cannot happen: docTerm lists the document's postings
		}
		w := int64(ts.doc[i].weight)
		ts.doc = slices.Delete(ts.doc, i, i+1)
		ts.coll -= w
		m.total -= w
		sv.mass -= w
		m.releaseTerm(tid)
	}
	sv.docTerm = sv.docTerm[:0]
	for _, t := range terms {
		tid := m.termIndex(t.term)
		ts := &m.vocab[tid]
		i, _ := slices.BinarySearchFunc(ts.doc, s, func(p docPosting, s uint32) int { return cmp.Compare(p.svc, s) })
		ts.doc = slices.Insert(ts.doc, i, docPosting{svc: s, weight: t.weight, kinds: t.kinds})
		w := int64(t.weight)
		ts.coll += w
		m.total += w
		sv.mass += w
		sv.docTerm = append(sv.docTerm, tid)
	}
	sv.update(&m.p)
	m.dropIfEmpty(s)
}

// serviceIndex returns the index of a service, adding it if it is new.
func (m *Model) serviceIndex(id string) uint32 {
	if s, ok := m.services[id]; ok {
		return s
	}
	var s uint32
	if n := len(m.freeSvcs); n > 0 {
		s = m.freeSvcs[n-1]
		m.freeSvcs = m.freeSvcs[:n-1]
	} else {
		s = uint32(len(m.svcs))
		m.svcs = append(m.svcs, service{})
	}
	m.svcs[s] = service{id: id, live: true}
	m.svcs[s].update(&m.p)
	m.services[id] = s
	return s
}

// termIndex returns the index of a term, adding it if it is new.
func (m *Model) termIndex(term string) uint32 {
	if id, ok := m.terms[term]; ok {
		return id
	}
	var id uint32
	if n := len(m.freeTerms); n > 0 {
		id = m.freeTerms[n-1]
		m.freeTerms = m.freeTerms[:n-1]
	} else {
		id = uint32(len(m.vocab))
		m.vocab = append(m.vocab, termStats{})
	}
	m.vocab[id] = termStats{term: term}
	m.terms[term] = id
	return id
}

// releaseTerm forgets a term that no longer occurs anywhere, so that the
// vocabulary holds only the terms of the present documents and tickets.
func (m *Model) releaseTerm(id uint32) {
	ts := &m.vocab[id]
	if ts.coll != 0 || ts.term == "" {
		return
	}
	delete(m.terms, ts.term)
	*ts = termStats{}
	m.freeTerms = append(m.freeTerms, id)
}

// distinct returns the distinct terms of toks, in their first order.
func distinct(toks []token) []string {
	terms := make([]string, 0, len(toks))
	for _, t := range toks {
		if !slices.Contains(terms, t.term) {
			terms = append(terms, t.term)
		}
	}
	return terms
}

// size returns the number of terms in the vocabulary and of postings.
func (m *Model) size() (terms, postings int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i := range m.vocab {
		postings += len(m.vocab[i].doc) + len(m.vocab[i].tick)
	}
	return len(m.terms), postings
}
