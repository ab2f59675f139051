package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// searchFixture is a small catalog with audiences: two org units (a and
// b, with b1 under b), a live backup service and a proposed one.
type searchFixture struct {
	c          *catalog.Catalog
	ctx        context.Context
	a, b, b1   string // org unit IDs
	pa, pb1    string // paths
	backup     *catalog.Service
	nightly    *catalog.Offering
	vault      *catalog.Offering
	teamBackup *catalog.Offering
	secret     *catalog.Offering
}

func newSearchFixture(t testing.TB) *searchFixture {
	t.Helper()
	db := sqldbtest.Open(t)
	f := &searchFixture{c: catalog.New(db, func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }), ctx: context.Background()}
	f.a, f.b, f.b1 = sqldb.NewID(), sqldb.NewID(), sqldb.NewID()
	f.pa, f.pb1 = "/"+f.a+"/", "/"+f.b+"/"+f.b1+"/"
	now := sqldb.Time(time.Now())
	err := db.Tx(f.ctx, func(tx *sqldb.Tx) error {
		for _, u := range [][4]string{{f.a, "", "a", f.pa}, {f.b, "", "b", "/" + f.b + "/"}, {f.b1, f.b, "b1", f.pb1}} {
			if _, err := tx.ExecContext(f.ctx, `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)
				VALUES ($1, $2, 'department', $3, $3, $4, $5, $5)`, u[0], sqlNull(u[1]), u[2], u[3], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sys := access.System()
	live := func(code, name string, outcomes ...string) *catalog.Service {
		s, err := f.c.CreateService(f.ctx, sys, catalog.ServiceInput{Code: code, Name: name, Kind: catalog.KindBusiness,
			Description: "Keeps copies of data", Outcomes: outcomes, FocusCategory: "Storage"})
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []catalog.Lifecycle{catalog.LifecycleApproved, catalog.LifecycleInDesign, catalog.LifecycleLive} {
			if s, err = f.c.Transition(f.ctx, sys, s.ID, catalog.TransitionInput{To: to, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	f.backup = live("backup", "Backup", "restore lost files")
	proposed, err := f.c.CreateService(f.ctx, sys, catalog.ServiceInput{Code: "labs", Name: "Labs", Kind: catalog.KindBusiness})
	if err != nil {
		t.Fatal(err)
	}
	offer := func(code, name, summary, price string, svc string, aud catalog.Audience) *catalog.Offering {
		o, err := f.c.CreateOffering(f.ctx, sys, catalog.OfferingInput{Code: code, ServiceID: svc, Name: name, Summary: summary,
			Audience: aud, Plans: []catalog.PlanInput{{Code: "std", Name: "Standard", Currency: "EUR", Recurring: price}}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	f.nightly = offer("nightly-backup", "Nightly Backup", "Copies of your laptop every night", "5.00", f.backup.ID, catalog.Audience{})
	f.vault = offer("archive-vault", "Archive vault", "Seven years of retention", "250.00", f.backup.ID, catalog.Audience{OrgUnitIDs: []string{f.b}})
	f.teamBackup = offer("team-backup", "Team backup", "Shared drives, backed up", "40.00", f.backup.ID, catalog.Audience{Roles: []access.Role{access.RoleApprover}})
	f.secret = offer("secret-backup", "Secret backup", "Not yet", "0", proposed.ID, catalog.Audience{})
	return f
}

func sqlNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func consumerIn(unitID, path string, roles ...access.Role) *access.Principal {
	p := &access.Principal{UserID: "u-" + unitID, OrgUnitID: unitID, OrgUnitPath: path,
		Grants: []access.Grant{{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: unitID, OrgUnitPath: path}}}
	for _, r := range roles {
		p.Grants = append(p.Grants, access.Grant{Role: r, ScopeKind: access.ScopeOrgUnit, ScopeID: unitID, OrgUnitPath: path})
	}
	return p
}

// walk reads every page of a search, limit offerings a page.
func walk(t *testing.T, f *searchFixture, p *access.Principal, filter catalog.OfferingFilter, limit int) []string {
	t.Helper()
	var names []string
	filter.Page = sqldb.Page{Limit: limit}
	for range 100 {
		pg, err := f.c.Search(f.ctx, p, filter)
		if err != nil {
			t.Fatalf("search %+v: %v", filter, err)
		}
		for _, o := range pg.Items {
			names = append(names, o.Name)
		}
		if pg.Next == "" {
			return names
		}
		filter.Page.Cursor = pg.Next
	}
	t.Fatal("paging does not end")
	return nil
}

// TestSearchAudienceInTheQuery: docs/catalog.md, "Search": who may see an
// offering is decided by the query, so a page of results holds only what
// the caller may see, and every page together is what the catalog shows
// them one offering at a time (visible, the rule written in Go).
func TestSearchAudienceInTheQuery(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	global := &access.Principal{UserID: "g", Grants: []access.Grant{{Role: access.RoleConsumer, ScopeKind: access.ScopeGlobal}}}
	owner := &access.Principal{UserID: "o", Grants: []access.Grant{{Role: access.RoleServiceOwner, ScopeKind: access.ScopeService, ScopeID: f.secret.ServiceID},
		{Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: f.a, OrgUnitPath: f.pa}}}
	for _, tc := range []struct {
		name string
		p    *access.Principal
		want []string
	}{
		{"consumer in a", consumerIn(f.a, f.pa), []string{"Nightly Backup"}},
		{"consumer in b1, under b", consumerIn(f.b1, f.pb1), []string{"Archive vault", "Nightly Backup"}},
		{"approver in a", consumerIn(f.a, f.pa, access.RoleApprover), []string{"Nightly Backup", "Team backup"}},
		{"global catalog reader", global, []string{"Archive vault", "Nightly Backup"}},
		{"owner of the proposed service", owner, []string{"Nightly Backup", "Secret backup"}},
		{"system", access.System(), []string{"Archive vault", "Nightly Backup", "Secret backup", "Team backup"}},
	} {
		got := walk(t, f, tc.p, catalog.OfferingFilter{}, 1)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s, listing by name (-want +got):\n%s", tc.name, diff)
		}
		all, err := f.c.Offerings(f.ctx, tc.p, catalog.OfferingFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var one []string
		for _, o := range all {
			one = append(one, o.Name)
		}
		if diff := cmp.Diff(one, got); diff != "" {
			t.Errorf("%s: search and the one-by-one rule disagree (-rule +search):\n%s", tc.name, diff)
		}
		// The executive summary counts in the database what the rule
		// shows one by one.
		want := &catalog.Summary{ByView: map[catalog.View]int{}, Services: []catalog.ServiceSummary{}}
		for _, o := range all {
			want.Total++
			want.ByView[o.View]++
			i := slices.IndexFunc(want.Services, func(s catalog.ServiceSummary) bool { return s.ServiceID == o.ServiceID })
			if i < 0 {
				i = len(want.Services)
				want.Services = append(want.Services, catalog.ServiceSummary{ServiceID: o.ServiceID, Name: o.Service.Name,
					Lifecycle: o.Service.Lifecycle, Criticality: o.Service.Criticality})
			}
			want.Services[i].Offerings++
			want.Services[i].Plans += len(o.Plans)
		}
		slices.SortFunc(want.Services, func(a, b catalog.ServiceSummary) int { return strings.Compare(a.Name, b.Name) })
		sum, err := f.c.ExecutiveSummary(f.ctx, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, sum); diff != "" {
			t.Errorf("%s: the summary and the one-by-one rule disagree (-rule +summary):\n%s", tc.name, diff)
		}
		searched := walk(t, f, tc.p, catalog.OfferingFilter{Query: "back"}, 1)
		slices.Sort(searched)
		var wantBack []string
		for _, n := range got {
			if strings.Contains(strings.ToLower(n), "back") || n == "Archive vault" { // the vault's service is Backup
				wantBack = append(wantBack, n)
			}
		}
		if diff := cmp.Diff(wantBack, searched); diff != "" {
			t.Errorf("%s, searching back (-want +got):\n%s", tc.name, diff)
		}
	}
	if _, err := f.c.Search(f.ctx, nil, catalog.OfferingFilter{}); !errs.Is(err, errs.CodeUnauthenticated) {
		t.Errorf("no principal: %v", err)
	}
}

// TestSearchFindsPrefixesTyposAndHighlights: docs/catalog.md, "Search".
func TestSearchFindsPrefixesTyposAndHighlights(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	sys := access.System()
	search := func(q string, extra ...func(*catalog.OfferingFilter)) *catalog.OfferingPage {
		t.Helper()
		filter := catalog.OfferingFilter{Query: q}
		for _, e := range extra {
			e(&filter)
		}
		pg, err := f.c.Search(f.ctx, sys, filter)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		return pg
	}
	names := func(pg *catalog.OfferingPage) []string {
		var out []string
		for _, o := range pg.Items {
			out = append(out, o.Name)
		}
		return out
	}
	pg := search("nightly back")
	if got := names(pg); len(got) != 1 || got[0] != "Nightly Backup" {
		t.Fatalf("nightly back: %v", got)
	}
	if h := pg.Items[0].Highlight; h == nil || h.Name != "<mark>Nightly</mark> <mark>Backup</mark>" {
		t.Errorf("highlight: %+v", h)
	}
	if pg := search("copies lapt"); len(pg.Items) != 1 || pg.Items[0].Highlight.Summary != "<mark>Copies</mark> of your <mark>laptop</mark> every night" {
		t.Errorf("copies lapt: %+v", pg.Items)
	}
	for _, q := range []string{"bakcup nightly", "backpu nightly", "nihgtly", "nightyl backup"} {
		pg := search(q)
		if got := names(pg); len(got) != 1 || got[0] != "Nightly Backup" {
			t.Errorf("%q found %v (understood %q), want Nightly Backup", q, got, pg.Query)
		} else if !strings.Contains(pg.Items[0].Highlight.Name, "<mark>") {
			t.Errorf("%q: nothing highlighted in %q", q, pg.Items[0].Highlight.Name)
		}
	}
	if pg := search("bakcup"); pg.Query != "bakcup|backup" {
		t.Errorf("bakcup understood as %q", pg.Query)
	}
	// The service's outcomes and name are searched, and kept in step when the service changes.
	if got := names(search("restore lost")); len(got) != 3 {
		t.Errorf("outcomes: %v", got)
	}
	in := f.backup.Input()
	in.Name, in.Outcomes = "Safekeeping", []string{"sleep well"}
	if _, err := f.c.UpdateService(f.ctx, sys, f.backup.ID, in); err != nil {
		t.Fatal(err)
	}
	if got := names(search("safekeep sleep")); len(got) != 3 {
		t.Errorf("after the service's rename: %v", got)
	}
	if got := names(search("restore")); len(got) != 0 {
		t.Errorf("old outcome still found: %v", got)
	}
	// Offerings' changes too: a new name, a new audience.
	oi := f.vault.Input()
	oi.Name, oi.Audience = "Deep archive", catalog.Audience{}
	if _, err := f.c.UpdateOffering(f.ctx, sys, f.vault.ID, oi); err != nil {
		t.Fatal(err)
	}
	if got := names(search("deep")); len(got) != 1 {
		t.Errorf("renamed offering: %v", got)
	}
	if got := walk(t, f, consumerIn(f.a, f.pa), catalog.OfferingFilter{}, 10); !slices.Contains(got, "Deep archive") {
		t.Errorf("an audience opened to all is not seen: %v", got)
	}
	// Filters and facets.
	pg = search("", func(fl *catalog.OfferingFilter) { fl.Facets = true })
	want := &catalog.Facets{
		Service:  []catalog.Facet{{Value: f.backup.ID, Label: "Safekeeping", Count: 3}, {Value: f.secret.ServiceID, Label: "Labs", Count: 1}},
		Category: []catalog.Facet{{Value: "Storage", Label: "Storage", Count: 3}, {Value: "Other", Label: "Other", Count: 1}},
		View:     []catalog.Facet{{Value: "end_user", Label: "For people", Count: 4}},
		Price: []catalog.Facet{{Value: "free", Label: "Free", Count: 1}, {Value: "under-10", Label: "Under 10", Count: 1},
			{Value: "10-100", Label: "10 to 100", Count: 1}, {Value: "100-1000", Label: "100 to 1,000", Count: 1}},
	}
	if diff := cmp.Diff(want, pg.Facets); diff != "" {
		t.Errorf("facets (-want +got):\n%s", diff)
	}
	if got := names(search("", func(fl *catalog.OfferingFilter) { fl.Price = catalog.Price100to1k })); len(got) != 1 || got[0] != "Deep archive" {
		t.Errorf("price 100-1000: %v", got)
	}
	if got := names(search("", func(fl *catalog.OfferingFilter) { fl.Category = "Other" })); len(got) != 1 || got[0] != "Secret backup" {
		t.Errorf("category Other: %v", got)
	}
	// Bad input is invalid, never an engine error.
	for _, filter := range []catalog.OfferingFilter{{Query: strings.Repeat("x", 201)}, {Query: "a\x00b"}, {View: "secret"},
		{Price: "cheap"}, {Category: "Moon"}, {Page: sqldb.Page{Cursor: "nonsense"}}} {
		if _, err := f.c.Search(f.ctx, sys, filter); !errs.Is(err, errs.CodeInvalid) {
			t.Errorf("%+v: %v, want invalid", filter, err)
		}
	}
	for _, q := range []string{`"`, `*`, `back*`, `NEAR(a b)`, `a OR b`, `-x`, `'`, `:*`, `!`, `&|`, `é`, `\`, `(`} {
		if _, err := f.c.Search(f.ctx, sys, catalog.OfferingFilter{Query: q}); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}

// FuzzSearchQuery: docs/catalog.md, "Search". Any q parses to at most 8
// words of at most 40 letters each (so a search costs what a normal one
// does) or is refused as invalid naming q; and searching with it on a
// real database answers or refuses it as invalid, never with an engine
// error (a 500).
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"backup", "bakcup nightly", `"`, `back*`, `NEAR(a b, 2)`, `a OR b AND NOT c`, `'x':* & y`, `-`, `é́́`, "\u0301abc",
		"a\x00b", "\xff\xfe", strings.Repeat("ab ", 100), strings.Repeat("x", 300), "日本語 検索", "x:*|y", `col:value`, `^start`} {
		f.Add(s)
	}
	fx := newSearchFixture(f)
	f.Fuzz(func(t *testing.T, q string) {
		defer fuzztest.Bound(t)()
		terms, err := catalog.ParseQuery(q)
		if err != nil {
			if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) == 0 || e.Fields[0].Field != "q" {
				t.Fatalf("%q: %v is not an invalid error naming q", q, err)
			}
		}
		if len(terms) > 8 {
			t.Fatalf("%q: %d terms", q, len(terms))
		}
		for _, w := range terms {
			if n := len([]rune(w)); n == 0 || n > 40 || strings.ContainsAny(w, `"'*:|&!()-^ `) {
				t.Fatalf("%q: term %q", q, w)
			}
		}
		_, err = fx.c.Search(fx.ctx, access.System(), catalog.OfferingFilter{Query: q, Facets: true})
		if err != nil && !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("%q: %v", q, err)
		}
	})
}

// TestSearchTypoReadAsWordsOnly: docs/catalog.md, "Search", typos. A word
// the index keeps from a URL ("abcd'e") is never offered as the reading of
// a typo (PostgreSQL failed on it with a syntax error in its tsquery).
func TestSearchTypoReadAsWordsOnly(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	sys := access.System()
	if _, err := f.c.CreateOffering(f.ctx, sys, catalog.OfferingInput{Code: "wiki", ServiceID: f.backup.ID, Name: "Wiki",
		Summary: "See http://wiki.example.com/abcd'e and C:\\dir\\abcd\\x", Plans: []catalog.PlanInput{{Code: "std", Name: "Standard", Currency: "EUR", Recurring: "1.00"}}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"abcdxe", "abcde", "abcdx", "wikiexample"} {
		pg, err := f.c.Search(f.ctx, sys, catalog.OfferingFilter{Query: q, Facets: true})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if strings.ContainsAny(pg.Query, `'\/.:`) {
			t.Errorf("%q understood as %q", q, pg.Query)
		}
	}
}

// TestSearchTypoReadAsWordsTheCallerSees: docs/catalog.md, "Search",
// typos. A typo is read only as words of offerings the caller may see: the
// query echoed names no word of a hidden offering (the vocabulary is every
// offering's).
func TestSearchTypoReadAsWordsTheCallerSees(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	sys := access.System()
	// "retention" is only in the archive vault's summary, which a consumer in a does not see.
	for _, tc := range []struct {
		name string
		p    *access.Principal
		want string
	}{
		{"consumer in a", consumerIn(f.a, f.pa), "retentoin"},
		{"consumer in b1", consumerIn(f.b1, f.pb1), "retentoin|retention"},
		{"system", sys, "retentoin|retention"},
	} {
		pg, err := f.c.Search(f.ctx, tc.p, catalog.OfferingFilter{Query: "retentoin"})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Query != tc.want {
			t.Errorf("%s: retentoin understood as %q, want %q", tc.name, pg.Query, tc.want)
		}
	}
	// Of the proposed service's offering ("Not yet"), only its provider reads the words.
	pg, err := f.c.Search(f.ctx, consumerIn(f.a, f.pa), catalog.OfferingFilter{Query: "secrte"})
	if err != nil {
		t.Fatal(err)
	}
	if pg.Query != "secrte" {
		t.Errorf("secrte understood as %q by a consumer", pg.Query)
	}
}
