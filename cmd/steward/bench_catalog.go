package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/portfolio"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// benchCatalog builds a large catalog in a fresh Steward and drives, over
// real HTTP and at fixed rates, what people do with it: search, read one
// offering, open the portal's catalog page; then prints the process's RSS.
// The catalog is written in bulk through the same triggers that index it
// (the load time includes the search index); a sample of it is imported
// with `steward catalog import`'s code path as well, for its rate.
func benchCatalog(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Build a large catalog in a fresh Steward, then drive search, one offering and the portal's catalog page over HTTP.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	services := fs.Int("services", 10000, "services in the portfolio")
	offerings := fs.Int("offerings", 100000, "offerings (3 plans each)")
	units := fs.Int("org-units", 1000, "org units the audiences are spread over")
	viaImport := fs.Bool("import", false, "write the catalog through the catalog import (portfolio.Import, what steward catalog import runs: audited, with price versions) instead of in bulk, and time that")
	sample := fs.Int("import-sample", 500, "offerings also imported through the catalog import (portfolio.Import), for its rate; 0 for none")
	duration := fs.Duration("duration", 10*time.Second, "how long each phase sends")
	searchRate := fs.Int("search-rate", 200, "searches per second")
	readRate := fs.Int("read-rate", 1000, "reads of one offering per second")
	pageRate := fs.Int("page-rate", 50, "portal catalog pages per second")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the HTTP phases to this file")
	loadProfile := fs.String("load-cpuprofile", "", "write a CPU profile of the catalog's load (or import) to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	stopLoadProfile, err := cpuProfile(*loadProfile)
	if err != nil {
		return err
	}
	fx, err := catalogFixture(ctx, a, *services, *offerings, *units, *viaImport)
	stopLoadProfile()
	if err != nil {
		return err
	}
	how := "bulk"
	if *viaImport {
		how = "import"
		debug.FreeOSMemory() // the RSS below is the server's, not what reading the file took
	}
	fmt.Fprintf(e.stdout, "catalog load via=%s services=%d offerings=%d plans=%d org_units=%d seconds=%.1f store=%s\n",
		how, *services, *offerings, 3**offerings, *units, fx.took.Seconds(), store)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}, Timeout: 30 * time.Second}
	get := func(path string, auth func(*http.Request)) (int, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		auth(req)
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s = %d", path, res.StatusCode)
		}
		return int(n), nil
	}
	bearer := func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+fx.token) }
	cookie := func(req *http.Request) { req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: fx.session}) }
	report := func(name string, rate int, r paced, extra string) {
		pct := percentiles(r.lat)
		fmt.Fprintf(e.stdout, "catalog op=%s requests=%d rate=%d ok_per_sec=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d%s store=%s\n",
			name, len(r.lat), rate, r.perSec, pct(0.5), pct(0.99), pct(1), r.errors, extra, store)
		if r.first != nil {
			fmt.Fprintf(e.stderr, "catalog op=%s first error: %v\n", name, r.first)
		}
	}
	stopProfile, err := cpuProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	words := benchWords
	search := func(i int) (int, error) {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		q := words[rng.IntN(len(words))]
		if rng.IntN(2) == 0 {
			q += " " + words[rng.IntN(len(words))][:3] // a second word, as a prefix
		}
		if rng.IntN(4) == 0 && len(q) > 5 { // a typo: two letters swapped
			b := []byte(q)
			b[2], b[3] = b[3], b[2]
			q = string(b)
		}
		return get("/api/v1/catalog/offerings?limit=20&q="+url.QueryEscape(q), bearer)
	}
	// One client, one request after another: what a request costs alone.
	for _, op := range []struct {
		name string
		do   func(i int) (int, error)
	}{{"search_alone", search}, {"offering_alone", func(i int) (int, error) {
		return get("/api/v1/catalog/offerings/"+fx.open[i*7919%len(fx.open)], bearer)
	}}, {"portal_page_alone", func(i int) (int, error) { return get("/catalog", cookie) }}} {
		var r paced
		start := time.Now()
		for i := range 50 {
			t0 := time.Now()
			n, err := op.do(i)
			r.lat = append(r.lat, time.Since(t0))
			r.maxBytes = max(r.maxBytes, n)
			if err != nil {
				r.errors++
				r.first = err
			}
		}
		r.perSec = 50 / time.Since(start).Seconds()
		report(op.name, 0, r, fmt.Sprintf(" max_kb=%.1f", float64(r.maxBytes)/1024))
	}
	r, err := pace(*searchRate, *duration, search)
	if err != nil {
		return err
	}
	report("search", *searchRate, r, "")
	r, err = pace(*readRate, *duration, func(i int) (int, error) {
		return get("/api/v1/catalog/offerings/"+fx.open[rand.IntN(len(fx.open))], bearer)
	})
	if err != nil {
		return err
	}
	report("offering", *readRate, r, "")
	r, err = pace(*pageRate, *duration, func(i int) (int, error) {
		if i%2 == 1 {
			return get("/catalog?q="+url.QueryEscape(words[i%len(words)]), cookie)
		}
		return get("/catalog", cookie)
	})
	if err != nil {
		return err
	}
	report("portal_page", *pageRate, r, fmt.Sprintf(" max_kb=%.1f", float64(r.maxBytes)/1024))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(e.stdout, "catalog rss_mb=%.0f heap_inuse_mb=%.0f store=%s (one process: the server and the load driver)\n",
		rssMB(), float64(ms.HeapInuse)/(1<<20), store)
	if *sample > 0 { // last: the import reads the whole catalog first
		took, err := importSample(ctx, a, fx, *sample)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "catalog import offerings=%d seconds=%.1f offerings_per_sec=%.0f extrapolated_100k_seconds=%.0f store=%s\n",
			*sample, took.Seconds(), float64(*sample)/took.Seconds(), took.Seconds()/float64(*sample)*100000, store)
	}
	return nil
}

// benchWords are the words the catalog's texts and the searches use.
var benchWords = []string{"backup", "storage", "compute", "database", "network", "analytics", "identity", "messaging", "archive", "desktop",
	"laptop", "printer", "telephony", "firewall", "gateway", "container", "kubernetes", "monitoring", "logging", "security", "payroll",
	"recruiting", "warehouse", "shipping", "invoicing", "treasury", "compliance", "training", "collaboration", "document", "signature",
	"mailbox", "calendar", "meeting", "video", "streaming", "certificate", "encryption", "recovery", "replication", "snapshot", "cluster",
	"virtual", "machine", "server", "workstation", "license", "software", "hardware", "support"}

type catalogFix struct {
	took    time.Duration
	token   string
	session string
	open    []string // codes of offerings open to everyone
	svcIDs  []string
}

// benchService and benchOffering are the catalog the bench writes, the
// same whether loaded in bulk or imported.
type benchService struct {
	code, name, description, focus, outcome, function string
}

type benchOffering struct {
	code, service, name, summary, description string
	view                                      catalog.View
	unit                                      int // index of the audience's org unit, or -1
	role                                      access.Role
	prices                                    [3]int64 // recurring, minor units
}

// catalogFixture writes the organisation and the catalog (in bulk, or
// with viaImport through `steward catalog import`'s code path, timed) and
// makes the consumer who searches: in one department, with an API token
// and a portal session.
func catalogFixture(ctx context.Context, a *app.App, services, offerings, units int, viaImport bool) (*catalogFix, error) {
	fx := &catalogFix{}
	now := sqldb.Time(time.Now())
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string { return benchWords[rng.IntN(len(benchWords))] }
	type unit struct{ id, code, path string }
	var us []unit
	// Org units: a tenth business units, the rest departments under them.
	bus := max(1, units/10)
	err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		return sqldb.Bulk{Object: "org units", Head: `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)`, Cols: 8, Rows: units,
			Args: func(i int, args []any) []any {
				id := sqldb.NewID()
				if i < bus {
					us = append(us, unit{id, fmt.Sprintf("BU-%04d", i), "/" + id + "/"})
					return append(args, id, nil, "business_unit", fmt.Sprintf("BU-%04d", i), fmt.Sprintf("Business unit %d", i), "/"+id+"/", now, now)
				}
				parent := us[i%bus]
				us = append(us, unit{id, fmt.Sprintf("DEP-%04d", i), parent.path + id + "/"})
				return append(args, id, parent.id, "department", fmt.Sprintf("DEP-%04d", i), fmt.Sprintf("Department %d", i), parent.path+id+"/", now, now)
			}}.Insert(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	svcs := make([]benchService, services)
	for i := range svcs {
		svcs[i] = benchService{code: fmt.Sprintf("svc-%05d", i), name: fmt.Sprintf("%s %s %d", titleWord(word()), word(), i),
			description: "Provides " + word() + " and " + word() + " for the business", focus: catalog.FocusCategories[i%len(catalog.FocusCategories)]}
		svcs[i].outcome, svcs[i].function = word()+" "+word()+" in minutes", word()
	}
	offs := make([]benchOffering, offerings)
	for i := range offs {
		o := &offs[i]
		o.code, o.service, o.unit = fmt.Sprintf("off-%06d", i), svcs[i%services].code, -1
		switch {
		case i%2 == 0:
			fx.open = append(fx.open, o.code)
		case i%10 == 1:
			o.role = access.RoleApprover
		default:
			o.unit = i % len(us)
		}
		o.view = catalog.Views[i%len(catalog.Views)]
		o.name = fmt.Sprintf("%s %s %d", titleWord(word()), word(), i)
		o.summary = "A " + word() + " " + word() + " with " + word()
		o.description = "Everything you need for " + word() + ", " + word() + " and " + word() + "."
	}
	for i := range offs {
		for tier := range 3 {
			offs[i].prices[tier] = int64(rng.IntN(5000) * 100 * (tier + 1))
		}
	}
	start := time.Now()
	if viaImport {
		if err := importCatalog(ctx, a, svcs, offs, func(i int) string { return us[i].code }); err != nil {
			return nil, err
		}
	} else if err := bulkCatalog(ctx, a, svcs, offs, func(i int) string { return us[i].id }); err != nil {
		return nil, err
	}
	fx.took = time.Since(start)
	ids, err := sqldb.QueryAll(ctx, a.DB.Read(), "services", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT id FROM services ORDER BY code`)
	if err != nil {
		return nil, err
	}
	fx.svcIDs = ids
	// The consumer: in a department, so the audiences of their department
	// and of its business unit reach them.
	sys := access.System()
	u, err := a.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "shopper@example.com", Name: "Shopper", OrgUnitID: us[bus+7].id,
		Password: "catalog-bench-password"})
	if err != nil {
		return nil, err
	}
	if _, err := a.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: u.ID, Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit,
		ScopeID: us[bus+7].id}); err != nil {
		return nil, err
	}
	t, err := a.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: u.ID, Name: "bench", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		return nil, err
	}
	fx.token = t.Secret
	sess, err := a.Identity.Login(ctx, "shopper@example.com", "catalog-bench-password", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	fx.session = sess.Secret
	return fx, nil
}

var tiers = [3]string{"bronze", "silver", "gold"}

// bulkCatalog writes the catalog with sqldb.Bulk, through the triggers
// that index it; unitID is the ID of an org unit by index.
func bulkCatalog(ctx context.Context, a *app.App, svcs []benchService, offs []benchOffering, unitID func(int) string) error {
	now := sqldb.Time(time.Now())
	svcID := map[string]string{}
	err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		return sqldb.Bulk{Object: "services", Head: `INSERT INTO services (id, code, name, kind, lifecycle, description, category, focus_category, criticality,
			value_statement, help, rpo_minutes, rto_minutes, continuity, details, created_at, updated_at)`, Cols: 17, Rows: len(svcs),
			Args: func(i int, args []any) []any {
				s := svcs[i]
				id := sqldb.NewID()
				svcID[s.code] = id
				details := fmt.Sprintf(`{"outcomes":[%q],"business_functions":[%q]}`, s.outcome, s.function)
				return append(args, id, s.code, s.name, "business", "live", s.description,
					"operational", s.focus, "medium", "", "", 0, 0, "", details, now, now)
			}}.Insert(ctx, tx)
	})
	if err != nil {
		return err
	}
	const chunk = 5000
	for from := 0; from < len(offs); from += chunk {
		n := min(chunk, len(offs)-from)
		ids := make([]string, n)
		err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
			err := sqldb.Bulk{Object: "offerings", Head: `INSERT INTO offerings (id, code, service_id, name, summary, description, view, form_schema, audience,
				addons, bundle, created_at, updated_at)`, Cols: 13, Rows: n,
				Args: func(k int, args []any) []any {
					o := offs[from+k]
					ids[k] = sqldb.NewID()
					aud := `{"org_unit_ids":[],"roles":[]}`
					switch {
					case o.role != "":
						aud = `{"org_unit_ids":[],"roles":["` + string(o.role) + `"]}`
					case o.unit >= 0:
						aud = `{"org_unit_ids":["` + unitID(o.unit) + `"],"roles":[]}`
					}
					return append(args, ids[k], o.code, svcID[o.service], o.name, o.summary, o.description,
						string(o.view), catalog.EmptyForm, aud, "[]", "[]", now, now)
				}}.Insert(ctx, tx)
			if err != nil {
				return err
			}
			return sqldb.Bulk{Object: "plans", Head: `INSERT INTO plans (id, offering_id, code, name, description, currency, recurring_minor, one_time_minor,
				agreement, max_quantity, retired, position, created_at, updated_at)`, Cols: 14, Rows: 3 * n,
				Args: func(k int, args []any) []any {
					tier := k % 3
					return append(args, sqldb.NewID(), ids[k/3], tiers[tier], titleWord(tiers[tier]), "",
						"EUR", offs[from+k/3].prices[tier], int64(0), "", 0, false, tier, now, now)
				}}.Insert(ctx, tx)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// importCatalog writes the catalog as a portfolio file and imports it
// as `steward catalog import` does (portfolio.Import): services created
// and moved to live, offerings with their plans, price versions and audit
// records. unitCode is the code of an org unit by index.
func importCatalog(ctx context.Context, a *app.App, svcs []benchService, offs []benchOffering, unitCode func(int) string) error {
	var b strings.Builder
	b.WriteString("services:\n")
	for _, s := range svcs {
		fmt.Fprintf(&b, "  - code: %s\n    name: %s\n    kind: business\n    lifecycle: live\n    description: %s\n    category: operational\n"+
			"    focus_category: %s\n    criticality: medium\n    outcomes: [%s]\n    business_functions: [%s]\n",
			s.code, s.name, s.description, s.focus, s.outcome, s.function)
	}
	b.WriteString("offerings:\n")
	for _, o := range offs {
		fmt.Fprintf(&b, "  - code: %s\n    service: %s\n    name: %s\n    summary: %s\n    description: %s\n    view: %s\n",
			o.code, o.service, o.name, o.summary, o.description, o.view)
		switch {
		case o.role != "":
			fmt.Fprintf(&b, "    audience: {roles: [%s]}\n", o.role)
		case o.unit >= 0:
			fmt.Fprintf(&b, "    audience: {org_units: [%s]}\n", unitCode(o.unit))
		}
		b.WriteString("    plans:\n")
		for tier, p := range tiers {
			fmt.Fprintf(&b, "      - {code: %s, name: %s, currency: EUR, recurring: \"%d.%02d\"}\n", p, titleWord(p), o.prices[tier]/100, o.prices[tier]%100)
		}
	}
	if _, err := portfolio.Import(ctx, portfolioServices(a), access.System(), "bench.yaml", []byte(b.String()), false); err != nil {
		return err
	}
	return nil
}

func titleWord(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// importSample imports n more offerings (over the fixture's services)
// through the catalog import, as `steward catalog import` does.
func importSample(ctx context.Context, a *app.App, fx *catalogFix, n int) (time.Duration, error) {
	var b strings.Builder
	b.WriteString("offerings:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - code: imported-%05d\n    service: svc-%05d\n    name: Imported %s %d\n    summary: A %s for %s\n    plans:\n", i, i%len(fx.svcIDs),
			benchWords[i%len(benchWords)], i, benchWords[(i*7)%len(benchWords)], benchWords[(i*3)%len(benchWords)])
		for _, p := range []string{"bronze", "silver", "gold"} {
			fmt.Fprintf(&b, "      - {code: %s, name: %s, currency: EUR, recurring: \"%d.00\"}\n", p, titleWord(p), 10+i%90)
		}
	}
	start := time.Now()
	if _, err := portfolio.Import(ctx, portfolioServices(a), access.System(), "bench.yaml", []byte(b.String()), false); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// paced is what a paced phase measured.
type paced struct {
	lat      []time.Duration
	perSec   float64
	maxBytes int
	errors   int   // requests that failed (counted in lat at their time)
	first    error // the first failure
}

// pace sends rate requests a second for d, each on its own goroutine at
// its scheduled time (an open loop: a slow answer does not delay the next
// request), and measures each from its scheduled time.
func pace(rate int, d time.Duration, op func(i int) (int, error)) (paced, error) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(max(rate, 1))
	out := paced{lat: make([]time.Duration, n)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256) // at most this many in flight
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			size, err := op(i)
			out.lat[i] = time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.errors++
				if out.first == nil {
					out.first = err
				}
			}
			out.maxBytes = max(out.maxBytes, size)
		}()
	}
	wg.Wait()
	out.perSec = float64(n-out.errors) / time.Since(start).Seconds()
	return out, nil
}

// rssMB is the process's resident set size in MiB (Linux), or 0.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
