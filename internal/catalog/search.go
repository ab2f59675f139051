package catalog

import (
	"context"
	"database/sql"
	"html"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Catalog search (issue 18). Each offering has a row in offering_search
// (its text, whether its audience is open, its lowest price), kept by
// triggers; SQLite indexes the text with FTS5 and PostgreSQL with a
// weighted tsvector. A search and a plain listing are one query that
// decides who may see each offering (its audience, its service's
// lifecycle, the caller's grants) in SQL, before the page's LIMIT, and
// pages by keyset: by relevance when there are words, else by name.

// PriceBand is a range of an offering's lowest recurring plan price, in
// its own currency's major units.
type PriceBand string

// The price bands, cheapest first.
const (
	PriceFree     PriceBand = "free"       // 0
	PriceUnder10  PriceBand = "under-10"   // more than 0, less than 10
	Price10to100  PriceBand = "10-100"     // 10 up to 100
	Price100to1k  PriceBand = "100-1000"   // 100 up to 1,000
	PriceOver1000 PriceBand = "1000-above" // 1,000 and more
)

// PriceBands lists the bands, cheapest first.
var PriceBands = []PriceBand{PriceFree, PriceUnder10, Price10to100, Price100to1k, PriceOver1000}

// Label says the band in words.
func (b PriceBand) Label() string {
	switch b {
	case PriceFree:
		return "Free"
	case PriceUnder10:
		return "Under 10"
	case Price10to100:
		return "10 to 100"
	case Price100to1k:
		return "100 to 1,000"
	case PriceOver1000:
		return "1,000 and more"
	}
	return string(b)
}

// Facet is one value of a facet and how many offerings of the result have it.
type Facet struct {
	Value string `json:"value"`
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Facets count the offerings of a result (all its pages) by service,
// category (the service's FOCUS category), view and price band.
type Facets struct {
	Service  []Facet `json:"service"`
	Category []Facet `json:"category"`
	View     []Facet `json:"view"`
	Price    []Facet `json:"price"`
}

// Highlight is an offering's name and summary with the words that matched
// a search marked: HTML-escaped text with <mark> around each match.
type Highlight struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
}

// OfferingPage is one page of a catalog listing or search.
type OfferingPage struct {
	sqldb.Paged[*Offering]
	// Query is the search as understood: its words, with words the index
	// does not know widened to the nearest ones it does ("bakcup" →
	// "bakcup|backup"). Empty without words.
	Query string `json:"query,omitempty"`
	// Facets are set when asked for.
	Facets *Facets `json:"facets,omitempty"`
}

// searchOrders are the keyset orders of a listing: by relevance when
// searching (h.rank, lower is better in both engines; ties oldest first),
// else by name.
var (
	orderRank = sqldb.Order{Name: "rank", Columns: []string{"h.rank", "d.offering_id"}}
	orderName = sqldb.Order{Name: "name", Columns: []string{"d.name", "d.offering_id"}}
)

// Search lists one page of the offerings the caller may see, matching the
// filter: by relevance when f.Query has words, else by name. It returns
// invalid for a bad view, price band, query or cursor, unauthenticated
// without a principal and forbidden without catalog.read.
func (c *Catalog) Search(ctx context.Context, p *access.Principal, f OfferingFilter) (*OfferingPage, error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return nil, err
	}
	terms, err := f.validate()
	if err != nil {
		return nil, err
	}
	if len(terms) == 0 && strings.TrimSpace(f.Query) != "" { // only separators ("%", "*"): no word to match
		out := &OfferingPage{Paged: sqldb.Paged[*Offering]{Items: []*Offering{}}, Query: ""}
		if f.Facets {
			out.Facets = &Facets{Service: []Facet{}, Category: []Facet{}, View: []Facet{}, Price: []Facet{}}
		}
		return out, nil
	}
	q := c.db.Read()
	s := searcher{db: c.db, q: q, f: f, vocab: &c.vocab}
	if len(terms) > 0 {
		if s.match, s.understood, err = s.widen(ctx, p, terms); err != nil {
			return nil, err
		}
	}
	out := &OfferingPage{}
	if out.Paged, err = s.page(ctx, p); err != nil {
		return nil, err
	}
	if len(terms) > 0 {
		out.Query = s.understood
		if err := s.highlight(ctx, out.Items); err != nil {
			return nil, err
		}
	}
	if f.Facets {
		if out.Facets, err = s.facets(ctx, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Suggest returns up to limit (1 to 10) offerings the caller may see whose
// text matches the start of what they typed, best first, for the portal's
// suggest-as-you-type. It returns what Search does.
func (c *Catalog) Suggest(ctx context.Context, p *access.Principal, q string, limit int) (*OfferingPage, error) {
	limit = max(1, min(limit, 10))
	return c.Search(ctx, p, OfferingFilter{Query: q, Page: sqldb.Page{Limit: limit}})
}

func (f *OfferingFilter) validate() (Terms, error) {
	var v errs.Validator
	v.Check(f.View == "" || slices.Contains(Views, f.View), "view", "enum", "view must be end_user, business or it_internal")
	v.Check(f.ServiceID == "" || sqldb.ValidID(f.ServiceID), "service_id", "format", "service_id must be the ID of a service")
	v.Check(f.Price == "" || slices.Contains(PriceBands, f.Price), "price", "enum", "price must be one of free, under-10, 10-100, 100-1000, 1000-above")
	if f.Category != "" {
		v.Check(slices.Contains(FocusCategories, f.Category), "category", "enum", "category must be one of FOCUS's service categories, such as Compute or Storage")
	}
	terms, err := ParseQuery(f.Query)
	if err != nil {
		for _, fe := range errs.As(err).Fields {
			v.Add(fe.Field, fe.Rule, fe.Message)
		}
	}
	return terms, v.Err("the catalog search is not valid")
}

// searcher builds one listing's queries.
type searcher struct {
	db         *sqldb.DB
	q          sqldb.Querier
	f          OfferingFilter
	vocab      *vocabCache
	match      string   // the engine's match expression; empty without words
	words      []string // the words matched as prefixes, typos' readings included
	understood string
}

// widen turns the words into the engine's match expression: each word a
// prefix, and a word no indexed word starts with widened to the nearest
// indexed words of offerings p may see (within 1 edit for words of 4–5
// letters, 2 from 6).
func (s *searcher) widen(ctx context.Context, p *access.Principal, terms Terms) (string, string, error) {
	var groups, said []string
	for _, t := range terms {
		alts := []string{t}
		known, err := s.known(ctx, t)
		if err != nil {
			return "", "", err
		}
		if !known && tolerance(utf8.RuneCountInString(t)) > 0 {
			more, err := s.nearest(ctx, p, t)
			if err != nil {
				return "", "", err
			}
			alts = append(alts, more...)
		}
		said = append(said, strings.Join(alts, "|"))
		s.words = append(s.words, alts...)
		groups = append(groups, s.anyOf(alts))
	}
	sep := " AND "
	if s.db.Dialect == sqldb.Postgres {
		sep = " & "
	}
	return strings.Join(groups, sep), strings.Join(said, " "), nil
}

// anyOf is the engine's match expression for any of the words, each a
// prefix. The words are letters and digits (ParseQuery's, and nearest
// keeps only such); quotes and backslashes are escaped all the same.
func (s *searcher) anyOf(words []string) string {
	var g []string
	for _, w := range words {
		if s.db.Dialect == sqldb.Postgres {
			g = append(g, "'"+strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(w)+"':*")
		} else {
			g = append(g, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
		}
	}
	if s.db.Dialect == sqldb.Postgres {
		return "(" + strings.Join(g, " | ") + ")"
	}
	return "(" + strings.Join(g, " OR ") + ")"
}

// isWord reports whether w is a word as ParseQuery reads them: letters,
// digits and marks only.
func isWord(w string) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return w != ""
}

// known reports whether some indexed word starts with t.
func (s *searcher) known(ctx context.Context, t string) (bool, error) {
	if s.db.Dialect == sqldb.Postgres {
		var w string
		err := s.q.QueryRowContext(ctx, `SELECT word FROM search_words WHERE word >= $1 ORDER BY word LIMIT 1`, t).Scan(&w)
		if err != nil && !errs.Is(sqldb.Err(err, "word"), errs.CodeNotFound) {
			return false, sqldb.Err(err, "search vocabulary")
		}
		return err == nil && strings.HasPrefix(w, t), nil
	}
	// SQLite: the first match of the prefix in the index itself (reading
	// offering_vocab would count every document of the words it passes).
	var one int
	err := s.q.QueryRowContext(ctx, `SELECT 1 FROM offering_fts WHERE offering_fts MATCH $1 LIMIT 1`, `"`+t+`"*`).Scan(&one)
	if err != nil && !errs.Is(sqldb.Err(err, "word"), errs.CodeNotFound) {
		return false, sqldb.Err(err, "search vocabulary")
	}
	return err == nil, nil
}

// maxCandidates bounds the indexed words compared with one unknown word,
// and maxVisibleChecks the candidates asked whether the caller sees them.
const (
	maxCandidates    = 20000
	maxVisibleChecks = 8
)

// nearest returns the indexed words (or their prefixes) nearest to t that
// are words of an offering p may see, at most three, all at the smallest
// distance found: the vocabulary is every offering's, and a typo read as
// a word of a hidden offering would tell of it. Candidates are the words
// sharing t's first letter and, on PostgreSQL, the words pg_trgm finds
// similar; only words of letters and digits are kept. On SQLite, reading
// the FTS5 vocabulary costs every document of each word read, so only a
// word the index does not know pays it, and its first letter's words are
// kept a while (vocabCache; docs/benchmarks.md, Catalog).
func (s *searcher) nearest(ctx context.Context, p *access.Principal, t string) ([]string, error) {
	rs := []rune(t)
	lo, hi := string(rs[0]), string(rs[0]+1)
	var words []string
	var err error
	if s.db.Dialect == sqldb.Postgres {
		words, err = sqldb.QueryAll(ctx, s.q, "search vocabulary", scanString,
			`(SELECT word FROM search_words WHERE word >= $1 AND word < $2 LIMIT $3) UNION (SELECT word FROM search_words WHERE word % $4 LIMIT 200)`,
			lo, hi, maxCandidates, t)
	} else {
		words, err = s.vocab.words(ctx, s.q, rs[0])
	}
	if err != nil {
		return nil, err
	}
	type candidate struct {
		word string
		d    int
	}
	var cs []candidate
	seen := map[string]bool{}
	for _, w := range words {
		m, d, ok := near(t, w)
		if !ok || seen[m] || !isWord(m) {
			continue
		}
		seen[m] = true
		cs = append(cs, candidate{m, d})
	}
	slices.SortStableFunc(cs, func(a, b candidate) int { return a.d - b.d })
	var out []string
	best := 0
	for i, c := range cs {
		if i == maxVisibleChecks || len(out) == 3 || len(out) > 0 && c.d > best {
			break
		}
		ok, err := s.seen(ctx, p, c.word)
		if err != nil {
			return nil, err
		}
		if ok {
			best, out = c.d, append(out, c.word)
		}
	}
	return out, nil
}

// seen reports whether p may see an offering with a word starting with w.
func (s *searcher) seen(ctx context.Context, p *access.Principal, w string) (bool, error) {
	probe := searcher{db: s.db, q: s.q, match: s.anyOf([]string{w})}
	var args sqldb.Args
	var one int
	err := s.q.QueryRowContext(ctx, `SELECT 1`+probe.from(&args, p, false, false)+` LIMIT 1`, args...).Scan(&one)
	if err != nil && !errs.Is(sqldb.Err(err, "word"), errs.CodeNotFound) {
		return false, sqldb.Err(err, "search vocabulary")
	}
	return err == nil, nil
}

// vocabTTL is how long SQLite's vocabulary of a first letter is kept.
const vocabTTL = 10 * time.Second

// vocabCache keeps the words of SQLite's search vocabulary by first letter
// (at most maxCandidates each) for vocabTTL: reading fts5vocab costs every
// document of each word read, which a word the index does not know paid on
// every keystroke of the portal's suggestions. A word added since is read
// as a typo's candidate within vocabTTL; a word gone since is dropped by
// nearest, which keeps only words of offerings the caller sees.
type vocabCache struct {
	mu      sync.Mutex
	byFirst map[rune]vocabWords
}

type vocabWords struct {
	words []string
	at    time.Time
}

// maxVocabLetters bounds the first letters kept (the rest are read each time).
const maxVocabLetters = 256

func (v *vocabCache) words(ctx context.Context, q sqldb.Querier, first rune) ([]string, error) {
	v.mu.Lock()
	w, ok := v.byFirst[first]
	v.mu.Unlock()
	if ok && time.Since(w.at) < vocabTTL {
		return w.words, nil
	}
	words, err := sqldb.QueryAll(ctx, q, "search vocabulary", scanString,
		`SELECT term FROM offering_vocab WHERE term >= $1 AND term < $2 LIMIT $3`, string(first), string(first+1), maxCandidates)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byFirst == nil {
		v.byFirst = map[rune]vocabWords{}
	}
	if _, ok := v.byFirst[first]; ok || len(v.byFirst) < maxVocabLetters {
		v.byFirst[first] = vocabWords{words: words, at: time.Now()}
	}
	return words, nil
}

func scanString(row sqldb.Scanner) (string, error) {
	var s string
	return s, row.Scan(&s)
}

// from is the FROM and WHERE of a listing: the offerings the principal
// may see that match the filter, with h.id and h.rank when searching.
// narrow (a page's keys) reads each match of an unfiltered search on
// SQLite from offering_search_audience, not from its wide row.
func (s *searcher) from(args *sqldb.Args, p *access.Principal, ranked bool, narrow bool) string {
	var b strings.Builder
	switch {
	case s.match == "":
		b.WriteString(` FROM offering_search d WHERE 1 = 1`)
	case !ranked && s.db.Dialect == sqldb.Postgres:
		b.WriteString(` FROM offering_search d WHERE d.document @@ to_tsquery('simple', ` + args.Add(s.match) + `)`)
	case !ranked:
		b.WriteString(` FROM offering_fts JOIN offering_search d ON d.seq = offering_fts.rowid WHERE offering_fts MATCH ` + args.Add(s.match))
	case s.db.Dialect == sqldb.Postgres:
		// One scan of the matches, the audience checked on each and the
		// rank computed for those kept. Joined to itself (the rank in a
		// subquery), the planner misjudged the matches (a GIN estimate of
		// 1,900 for 26,000) and hashed them against a scan of every row:
		// 178 against 55 ms for one word over 100,000 offerings.
		b.WriteString(` FROM offering_search d, to_tsquery('simple', ` + args.Add(s.match) +
			`) tq, LATERAL (SELECT -ts_rank(d.document, tq, 1) AS rank) h WHERE d.document @@ tq`)
	default:
		d := `offering_search d`
		if s.f.View == "" && s.f.ServiceID == "" && s.f.Category == "" && s.f.Price == "" && narrow {
			d += ` INDEXED BY offering_search_audience` // a page of matches reads only this narrow index
		}
		b.WriteString(` FROM (SELECT rowid AS seq, bm25(offering_fts, 10.0, 4.0, 1.0, 3.0, 1.0) AS rank FROM offering_fts WHERE offering_fts MATCH ` +
			args.Add(s.match) + `) h JOIN ` + d + ` ON d.seq = h.seq WHERE 1 = 1`)
	}
	b.WriteString(` AND ` + audience(args, p))
	if s.f.View != "" {
		b.WriteString(` AND d.view = ` + args.Add(string(s.f.View)))
	}
	if s.f.ServiceID != "" {
		b.WriteString(` AND d.service_id = ` + args.Add(s.f.ServiceID))
	}
	if s.f.Category != "" {
		b.WriteString(` AND d.category = ` + args.Add(s.f.Category))
	}
	if s.f.Price != "" {
		b.WriteString(` AND ` + priceBandSQL + ` = ` + args.Add(string(s.f.Price)))
	}
	return b.String()
}

// audience is the condition that the principal may see the offering of
// search row d (which carries its service, whether that service is live
// or retiring, and whether its audience is open), as visible decides it: provider-side
// readers of the service see every offering; others need catalog.read,
// a live or retiring service, and to be in the offering's audience (open
// to all, one of its roles, one of its org units' subtrees, or an org
// unit their catalog.read grant reaches).
func audience(args *sqldb.Args, p *access.Principal) string {
	if p.IsSystem() {
		return "1 = 1"
	}
	var provider []string
	for _, g := range p.Grants {
		if g.ScopeKind == access.ScopeGlobal && g.Role.Allows(access.ServiceRead) {
			return "1 = 1"
		}
		if g.ScopeKind == access.ScopeService && g.Role.Allows(access.ServiceRead) {
			provider = append(provider, g.ScopeID)
		}
	}
	var ors []string
	if len(provider) > 0 {
		ors = append(ors, sqldb.In(args, "d.service_id", provider))
	}
	if p.CanAnywhere(access.CatalogRead) {
		var who []string
		all, paths := p.OrgUnitScope(access.CatalogRead)
		if all {
			who = append(who, "a.org_unit_id <> ''")
		}
		for _, path := range paths {
			who = append(who, "a.org_unit_id IN (SELECT id FROM org_units WHERE path LIKE "+args.Add(path+"%")+")")
		}
		var mine []string // the caller's own org unit and those above it
		for _, id := range strings.Split(p.OrgUnitPath, "/") {
			if id != "" {
				mine = append(mine, id)
			}
		}
		if len(mine) > 0 {
			who = append(who, sqldb.In(args, "a.org_unit_id", mine))
		}
		var roles []string
		for _, g := range p.Grants {
			if !slices.Contains(roles, string(g.Role)) {
				roles = append(roles, string(g.Role))
			}
		}
		if len(roles) > 0 {
			who = append(who, sqldb.In(args, "a.role", roles))
		}
		cond := "d.audience_open"
		if len(who) > 0 {
			// A union of one lookup per kind of audience, each through its
			// index: ORed in one WHERE, PostgreSQL scanned every row of
			// offering_audience for each search (7 ms of 50,000).
			var sel []string
			for _, w := range who {
				sel = append(sel, "SELECT a.offering_id FROM offering_audience a WHERE "+w)
			}
			cond = "(d.audience_open OR d.offering_id IN (" + strings.Join(sel, " UNION ") + "))"
		}
		ors = append(ors, "(d.live AND "+cond+")")
	}
	if len(ors) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// priceBandSQL is the price band of an offering's lowest recurring price
// (d.min_price_minor, in d.currency's minor units).
var priceBandSQL = func() string {
	scale := "CASE"
	byExp := map[int][]string{}
	for _, c := range []string{"BHD", "CLP", "ISK", "JOD", "JPY", "KRW", "KWD", "OMR", "PYG", "TND", "UGX", "VND", "XAF", "XOF"} {
		byExp[money.Exponent(c)] = append(byExp[money.Exponent(c)], "'"+c+"'")
	}
	for _, e := range []int{0, 3} {
		if len(byExp[e]) > 0 {
			scale += " WHEN d.currency IN (" + strings.Join(byExp[e], ", ") + ") THEN " + strconv.Itoa(pow10(e))
		}
	}
	scale += " ELSE 100 END"
	return "(CASE WHEN d.min_price_minor IS NULL THEN '' WHEN d.min_price_minor = 0 THEN 'free'" +
		" WHEN d.min_price_minor < 10 * " + scale + " THEN 'under-10'" +
		" WHEN d.min_price_minor < 100 * " + scale + " THEN '10-100'" +
		" WHEN d.min_price_minor < 1000 * " + scale + " THEN '100-1000' ELSE '1000-above' END)"
}()

func pow10(e int) int {
	n := 1
	for range e {
		n *= 10
	}
	return n
}

// page reads one page of the listing's offerings.
func (s *searcher) page(ctx context.Context, p *access.Principal) (sqldb.Paged[*Offering], error) {
	order := orderName
	if s.match != "" {
		order = orderRank
	}
	var args sqldb.Args
	from := s.from(&args, p, true, true)
	type key struct {
		id, name string
		rank     float64
	}
	var seek string
	var err error
	var ck key
	if order.Name == "rank" {
		seek, err = order.Seek(&args, s.f.Page, &ck.rank, &ck.id)
	} else {
		seek, err = order.Seek(&args, s.f.Page, &ck.name, &ck.id)
	}
	if err != nil {
		return sqldb.Paged[*Offering]{}, err
	}
	cols := `d.offering_id, d.name, 0`
	if order.Name == "rank" {
		cols = `d.offering_id, '', h.rank`
	}
	keys, err := sqldb.QueryAll(ctx, s.q, "catalog", func(row sqldb.Scanner) (key, error) {
		var k key
		return k, row.Scan(&k.id, &k.name, &k.rank)
	}, `SELECT `+cols+from+` AND `+seek+order.By()+order.Limit(&args, s.f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Offering]{}, sqldb.Err(err, "catalog")
	}
	pk := sqldb.PageOf(keys, s.f.Page, order, func(k key) []any {
		if order.Name == "rank" {
			return []any{k.rank, k.id}
		}
		return []any{k.name, k.id}
	})
	out := sqldb.Paged[*Offering]{Items: []*Offering{}, Next: pk.Next}
	if len(pk.Items) == 0 {
		return out, nil
	}
	ids := make([]string, len(pk.Items))
	for i, k := range pk.Items {
		ids[i] = k.id
	}
	var a sqldb.Args
	os, err := loadOfferings(ctx, s.q, `WHERE `+sqldb.In(&a, "id", ids), a...)
	if err != nil {
		return out, err
	}
	byID := map[string]*Offering{}
	for _, o := range os {
		byID[o.ID] = o
	}
	for _, id := range ids {
		if o := byID[id]; o != nil {
			out.Items = append(out.Items, o)
		}
	}
	return out, nil
}

// Marks around matches in the engines' highlights, turned into <mark>.
const markOpen, markClose = "\x02", "\x03"

// highlight marks the matched words in the name and summary of each
// offering of the page.
func (s *searcher) highlight(ctx context.Context, os []*Offering) error {
	if len(os) == 0 {
		return nil
	}
	if s.db.Dialect != sqldb.Postgres {
		// SQLite: marked here, as FTS5 would (each word starting with one
		// of the words): asking FTS5's highlight() runs the search again
		// over every match, to keep the page's.
		for _, o := range os {
			o.Highlight = &Highlight{Name: marked(markWords(o.Name, s.words)), Summary: marked(markWords(o.Summary, s.words))}
		}
		return nil
	}
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	var args sqldb.Args
	opts := args.Add("StartSel=" + markOpen + ", StopSel=" + markClose + ", HighlightAll=true")
	query := `SELECT d.offering_id, ts_headline('simple', d.name, tq, ` + opts + `), ts_headline('simple', d.summary, tq, ` + opts + `)
		FROM offering_search d, to_tsquery('simple', ` + args.Add(s.match) + `) tq WHERE ` + sqldb.In(&args, "d.offering_id", ids)
	type hl struct{ id, name, summary string }
	rows, err := sqldb.QueryAll(ctx, s.q, "highlights", func(row sqldb.Scanner) (hl, error) {
		var h hl
		return h, row.Scan(&h.id, &h.name, &h.summary)
	}, query, args...)
	if err != nil {
		return sqldb.Err(err, "highlights")
	}
	byID := map[string]hl{}
	for _, h := range rows {
		byID[h.id] = h
	}
	for _, o := range os {
		h, ok := byID[o.ID]
		if !ok {
			h = hl{name: o.Name, summary: o.Summary}
		}
		o.Highlight = &Highlight{Name: marked(h.name), Summary: marked(h.summary)}
	}
	return nil
}

// markWords puts the engines' marks around each word of text (letters,
// digits and marks, as ParseQuery splits) that, in lower case, starts with
// one of words. Unlike FTS5 it does not fold diacritics (a search for
// "cafe" finds "Café" but does not mark it).
func markWords(text string, words []string) string {
	isPart := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }
	var b strings.Builder
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isPart(r) {
			b.WriteString(text[i : i+n])
			i += n
			continue
		}
		j := i + n
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if !isPart(r) {
				break
			}
			j += n
		}
		w := text[i:j]
		lw := strings.ToLower(w)
		if slices.ContainsFunc(words, func(p string) bool { return strings.HasPrefix(lw, p) }) {
			b.WriteString(markOpen + w + markClose)
		} else {
			b.WriteString(w)
		}
		i = j
	}
	return b.String()
}

// marked escapes text for HTML and turns the engines' marks into <mark>.
func marked(s string) string {
	var b strings.Builder
	open := false
	for s != "" {
		i := strings.IndexAny(s, markOpen+markClose)
		if i < 0 {
			b.WriteString(html.EscapeString(s))
			break
		}
		b.WriteString(html.EscapeString(s[:i]))
		switch {
		case s[i:i+1] == markOpen && !open:
			b.WriteString("<mark>")
			open = true
		case s[i:i+1] == markClose && open:
			b.WriteString("</mark>")
			open = false
		}
		s = s[i+1:]
	}
	if open {
		b.WriteString("</mark>")
	}
	return b.String()
}

// maxServiceFacets bounds the service facet to the services with most offerings.
const maxServiceFacets = 20

// facets counts the listing's offerings (every page) by service, category,
// view and price band, in one query.
func (s *searcher) facets(ctx context.Context, p *access.Principal) (*Facets, error) {
	var args sqldb.Args
	from := s.from(&args, p, false, false)
	type row struct {
		facet, value, label string
		count               int
	}
	rows, err := sqldb.QueryAll(ctx, s.q, "facets", func(r sqldb.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.facet, &x.value, &x.label, &x.count)
	}, `WITH m AS MATERIALIZED (SELECT d.service_id, d.service, d.category, d.view, `+priceBandSQL+` AS price`+from+`)
		SELECT * FROM (SELECT 'service' AS facet, service_id AS value, service AS label, COUNT(*) AS n FROM m GROUP BY service_id, service
			ORDER BY n DESC, service LIMIT `+strconv.Itoa(maxServiceFacets)+`) a
		UNION ALL SELECT 'category', category, category, COUNT(*) FROM m GROUP BY category
		UNION ALL SELECT 'view', view, view, COUNT(*) FROM m GROUP BY view
		UNION ALL SELECT 'price', price, price, COUNT(*) FROM m WHERE price <> '' GROUP BY price`, args...)
	if err != nil {
		return nil, sqldb.Err(err, "facets")
	}
	f := &Facets{Service: []Facet{}, Category: []Facet{}, View: []Facet{}, Price: []Facet{}}
	for _, r := range rows {
		x := Facet{Value: r.value, Label: r.label, Count: r.count}
		switch r.facet {
		case "service":
			f.Service = append(f.Service, x)
		case "category":
			f.Category = append(f.Category, x)
		case "view":
			x.Label = ViewLabel(View(r.value))
			f.View = append(f.View, x)
		case "price":
			x.Label = PriceBand(r.value).Label()
			f.Price = append(f.Price, x)
		}
	}
	slices.SortFunc(f.Category, func(a, b Facet) int { return b.Count - a.Count })
	slices.SortFunc(f.View, func(a, b Facet) int { return slices.Index(Views, View(a.Value)) - slices.Index(Views, View(b.Value)) })
	slices.SortFunc(f.Price, func(a, b Facet) int {
		return slices.Index(PriceBands, PriceBand(a.Value)) - slices.Index(PriceBands, PriceBand(b.Value))
	})
	return f, nil
}

// ViewLabel says a view in words.
func ViewLabel(v View) string {
	switch v {
	case ViewEndUser:
		return "For people"
	case ViewBusiness:
		return "For business units"
	case ViewITInternal:
		return "For IT teams"
	}
	return string(v)
}

// servicesByName pages the portfolio by name.
var servicesByName = sqldb.Order{Name: "name", Columns: []string{"name", "id"}}

// ServicePage lists one page of the services the caller may read, by name,
// narrowed by f (every word of f.Query must appear in the code, name,
// description, outcomes or business functions). Callers need service.read,
// globally or on the services they are granted; returns invalid for a bad
// filter or cursor.
func (c *Catalog) ServicePage(ctx context.Context, p *access.Principal, f ServiceFilter) (sqldb.Paged[*Service], error) {
	terms, none, err := f.check(p)
	if err != nil || none {
		return sqldb.Paged[*Service]{Items: []*Service{}}, err
	}
	var args sqldb.Args
	where := serviceWhere(&args, p, f, terms)
	var k struct{ name, id string }
	seek, err := servicesByName.Seek(&args, f.Page, &k.name, &k.id)
	if err != nil {
		return sqldb.Paged[*Service]{}, err
	}
	rows, err := sqldb.QueryAll(ctx, c.db.Read(), "services", scanService, `SELECT `+serviceColumns+` FROM services WHERE `+
		where+" AND "+seek+servicesByName.By()+servicesByName.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Service]{}, err
	}
	return sqldb.PageOf(rows, f.Page, servicesByName, func(s *Service) []any { return []any{s.Name, s.ID} }), nil
}

// ServiceCounts counts the services the caller may read by lifecycle,
// narrowed by f as ServicePage narrows (f.Lifecycle and f.Page aside):
// the portfolio board's column heads.
func (c *Catalog) ServiceCounts(ctx context.Context, p *access.Principal, f ServiceFilter) (map[Lifecycle]int, error) {
	f.Lifecycle, f.Page = "", sqldb.Page{}
	terms, none, err := f.check(p)
	if err != nil || none {
		return map[Lifecycle]int{}, err
	}
	var args sqldb.Args
	type count struct {
		l Lifecycle
		n int
	}
	counts, err := sqldb.QueryAll(ctx, c.db.Read(), "services", func(row sqldb.Scanner) (count, error) {
		var x count
		return x, row.Scan(&x.l, &x.n)
	}, `SELECT lifecycle, COUNT(*) FROM services WHERE `+serviceWhere(&args, p, f, terms)+` GROUP BY lifecycle`, args...)
	out := map[Lifecycle]int{}
	for _, x := range counts {
		out[x.l] = x.n
	}
	return out, err
}

// check is ServicePage's and ServiceCounts' check of p and f: the words
// of f.Query, and none when it has only separators (no word to match).
// Errors: forbidden without service.read, invalid for a bad filter.
func (f ServiceFilter) check(p *access.Principal) (terms Terms, none bool, err error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return nil, false, err
	}
	var v errs.Validator
	v.Check(f.Lifecycle == "" || slices.Contains(Lifecycles, f.Lifecycle), "lifecycle", "enum", "lifecycle must be one of "+strings.Join(lifecycleNames(), ", "))
	v.Check(f.Kind == "" || slices.Contains(Kinds, f.Kind), "kind", "enum", "kind must be business, technical or external")
	terms, err = ParseQuery(f.Query)
	if err != nil {
		for _, fe := range errs.As(err).Fields {
			v.Add(fe.Field, fe.Rule, fe.Message)
		}
	}
	if err := v.Err("the portfolio filter is not valid"); err != nil {
		return nil, false, err
	}
	return terms, len(terms) == 0 && strings.TrimSpace(f.Query) != "", nil
}

// serviceWhere is the condition of the services p may read that f keeps.
func serviceWhere(args *sqldb.Args, p *access.Principal, f ServiceFilter, terms Terms) string {
	where := []string{serviceScope(args, p)}
	if f.Lifecycle != "" {
		where = append(where, "lifecycle = "+args.Add(string(f.Lifecycle)))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+args.Add(string(f.Kind)))
	}
	for _, t := range terms {
		where = append(where, "LOWER(code || ' ' || name || ' ' || description || ' ' || details) LIKE "+args.Add("%"+t+"%"))
	}
	return strings.Join(where, " AND ")
}

// serviceScope is the condition that p may read a service (of the row).
func serviceScope(args *sqldb.Args, p *access.Principal) string {
	if p.IsSystem() {
		return "1 = 1"
	}
	var ids []string
	for _, g := range p.Grants {
		if !g.Role.Allows(access.ServiceRead) {
			continue
		}
		if g.ScopeKind == access.ScopeGlobal {
			return "1 = 1"
		}
		if g.ScopeKind == access.ScopeService {
			ids = append(ids, g.ScopeID)
		}
	}
	if len(ids) == 0 {
		return "1 = 0"
	}
	return sqldb.In(args, "id", ids)
}

// transitionsByTime pages a service's history, oldest first.
var transitionsByTime = sqldb.Order{Name: "at", Columns: []string{"at", "id"}}

// TransitionPage lists one page of a service's lifecycle history, oldest
// first. Callers need service.read on it; returns not_found for a service
// they may not read and invalid for a bad cursor.
func (c *Catalog) TransitionPage(ctx context.Context, p *access.Principal, ref string, page sqldb.Page) (sqldb.Paged[*Transition], error) {
	s, err := c.Service(ctx, p, ref)
	if err != nil {
		return sqldb.Paged[*Transition]{}, err
	}
	var args sqldb.Args
	var k struct {
		at time.Time
		id string
	}
	seek, err := transitionsByTime.Seek(&args, page, &k.at, &k.id)
	if err != nil {
		return sqldb.Paged[*Transition]{}, err
	}
	rows, err := sqldb.QueryAll(ctx, c.db.Read(), "service transitions", func(row sqldb.Scanner) (*Transition, error) {
		var t Transition
		err := row.Scan(&t.ID, &t.From, &t.To, &t.ActorID, &t.ActorName, &t.Reason, &t.At)
		t.At = t.At.UTC()
		return &t, err
	}, `SELECT id, from_state, to_state, actor_id, actor_name, reason, at FROM service_transitions WHERE service_id = `+args.Add(s.ID)+
		` AND `+seek+transitionsByTime.By()+transitionsByTime.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Transition]{}, err
	}
	return sqldb.PageOf(rows, page, transitionsByTime, func(t *Transition) []any { return []any{t.At, t.ID} }), nil
}

// configItemsByName pages the configuration items by name.
var configItemsByName = sqldb.Order{Name: "name", Columns: []string{"name", "id"}}

// ConfigItemPage lists one page of the configuration items, by name.
// Callers need service.read; returns invalid for a bad cursor.
func (c *Catalog) ConfigItemPage(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*ConfigItem], error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return sqldb.Paged[*ConfigItem]{}, err
	}
	var args sqldb.Args
	var k struct{ name, id string }
	seek, err := configItemsByName.Seek(&args, page, &k.name, &k.id)
	if err != nil {
		return sqldb.Paged[*ConfigItem]{}, err
	}
	rows, err := sqldb.QueryAll(ctx, c.db.Read(), "configuration items", func(row sqldb.Scanner) (*ConfigItem, error) {
		var ci ConfigItem
		err := row.Scan(&ci.ID, &ci.Code, &ci.Name, &ci.Kind, &ci.Description, &ci.CreatedAt)
		ci.CreatedAt = ci.CreatedAt.UTC()
		return &ci, err
	}, `SELECT id, code, name, kind, description, created_at FROM config_items WHERE `+seek+configItemsByName.By()+configItemsByName.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*ConfigItem]{}, err
	}
	return sqldb.PageOf(rows, page, configItemsByName, func(ci *ConfigItem) []any { return []any{ci.Name, ci.ID} }), nil
}

// dependencyOrder pages the map's dependencies by ID (time-ordered UUIDs:
// oldest first).
var dependencyOrder = sqldb.Order{Name: "dependencies", Columns: []string{"d.id"}}

// DependencyPage returns a page of the service map's dependencies, each
// with the nodes it joins, oldest first: the map an edge at a time, for
// maps too large to read whole. Callers need service.read.
func (c *Catalog) DependencyPage(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*Dependency], error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return sqldb.Paged[*Dependency]{}, err
	}
	var args sqldb.Args
	var after string
	seek, err := dependencyOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*Dependency]{}, err
	}
	deps, err := sqldb.QueryAll(ctx, c.db.Read(), "dependencies", scanEdge, `SELECT `+edgeColumns+edgeFrom+`
		WHERE `+seek+dependencyOrder.By()+dependencyOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Dependency]{}, err
	}
	return sqldb.PageOf(deps, page, dependencyOrder, func(d *Dependency) []any { return []any{d.ID} }), nil
}

// edgeColumns and edgeFrom read dependencies with the nodes they join
// (scanEdge), as d.
const (
	edgeColumns = `d.id, d.kind, d.redundancy_group, d.group_needs, d.created_at,
		fs.id, fs.code, fs.name, fs.kind, fc.id, fc.code, fc.name, fc.kind,
		ts.id, ts.code, ts.name, ts.kind, tc.id, tc.code, tc.name, tc.kind`
	edgeFrom = ` FROM dependencies d
		LEFT JOIN services fs ON fs.id = d.from_service_id LEFT JOIN config_items fc ON fc.id = d.from_ci_id
		LEFT JOIN services ts ON ts.id = d.to_service_id LEFT JOIN config_items tc ON tc.id = d.to_ci_id`
)

func scanEdge(row sqldb.Scanner) (*Dependency, error) {
	var d Dependency
	var fs, fsc, fsn, fsk, fc, fcc, fcn, fck, ts, tsc, tsn, tsk, tc, tcc, tcn, tck sql.NullString
	err := row.Scan(&d.ID, &d.Kind, &d.RedundancyGroup, &d.Needs, &d.CreatedAt,
		&fs, &fsc, &fsn, &fsk, &fc, &fcc, &fcn, &fck, &ts, &tsc, &tsn, &tsk, &tc, &tcc, &tcn, &tck)
	node := func(sid, scode, sname, skind, cid, ccode, cname, ckind sql.NullString) Node {
		if sid.Valid {
			return Node{Type: "service", ID: sid.String, Code: scode.String, Name: sname.String, Kind: skind.String}
		}
		return Node{Type: "ci", ID: cid.String, Code: ccode.String, Name: cname.String, Kind: ckind.String}
	}
	d.From = node(fs, fsc, fsn, fsk, fc, fcc, fcn, fck)
	d.To = node(ts, tsc, tsn, tsk, tc, tcc, tcn, tck)
	d.CreatedAt = d.CreatedAt.UTC()
	return &d, err
}

// Around returns the part of the map a node's Supports and Dependents
// walk: every depends_on and runs_on edge reachable from the node in
// either direction, and every edge of any kind leaving the node itself,
// with the nodes they join, read a level at a time rather than the whole
// map. Callers need service.read.
func (c *Catalog) Around(ctx context.Context, p *access.Principal, n Node) (*Map, error) {
	if err := p.RequireAnywhere(access.ServiceRead); err != nil {
		return nil, err
	}
	m := &Map{Nodes: map[string]Node{n.Key(): n}}
	seenEdge := map[string]bool{}
	// Down the edges (what n stands on), then up (what stands on n).
	for _, down := range []bool{true, false} {
		near := "from" // the end of an edge at the frontier
		if !down {
			near = "to"
		}
		frontier := []Node{n}
		reached := map[string]bool{n.Key(): true}
		for level := 0; len(frontier) > 0; level++ {
			kinds := `d.kind IN ('depends_on', 'runs_on') AND `
			if down && level == 0 {
				kinds = "" // the node's own edges, of every kind
			}
			var services, cis []string
			for _, x := range frontier {
				if x.Type == "service" {
					services = append(services, x.ID)
				} else {
					cis = append(cis, x.ID)
				}
			}
			frontier = nil
			for len(services) > 0 || len(cis) > 0 {
				// At most 500 nodes a query, as the IN lists bind them.
				var s, ci []string
				s, services = services[:min(len(services), 500)], services[min(len(services), 500):]
				ci, cis = cis[:min(len(cis), 500-len(s))], cis[min(len(cis), 500-len(s)):]
				var args sqldb.Args
				var or []string
				if len(s) > 0 {
					or = append(or, sqldb.In(&args, "d."+near+"_service_id", s))
				}
				if len(ci) > 0 {
					or = append(or, sqldb.In(&args, "d."+near+"_ci_id", ci))
				}
				deps, err := sqldb.QueryAll(ctx, c.db.Read(), "dependencies", scanEdge, `SELECT `+edgeColumns+edgeFrom+`
					WHERE `+kinds+`(`+strings.Join(or, " OR ")+`) ORDER BY d.id`, args...)
				if err != nil {
					return nil, err
				}
				for _, d := range deps {
					next := d.To
					if !down {
						next = d.From
					}
					if !seenEdge[d.ID] {
						seenEdge[d.ID] = true
						m.Dependencies = append(m.Dependencies, d)
					}
					m.Nodes[d.From.Key()], m.Nodes[d.To.Key()] = d.From, d.To
					if d.Kind.Acyclic() && !reached[next.Key()] {
						reached[next.Key()] = true
						frontier = append(frontier, next)
					}
				}
			}
		}
	}
	slices.SortFunc(m.Dependencies, func(a, b *Dependency) int { return strings.Compare(a.ID, b.ID) })
	return m, nil
}

// SupportPage is Support a page at a time: what the node stands on,
// nearest first (read whole from the map, which it is bounded by).
func (c *Catalog) SupportPage(ctx context.Context, p *access.Principal, ref string, page sqldb.Page) (sqldb.Paged[*Dependency], error) {
	deps, err := c.Support(ctx, p, ref)
	if err != nil {
		return sqldb.Paged[*Dependency]{}, err
	}
	return sqldb.PageSlice(deps, page)
}
