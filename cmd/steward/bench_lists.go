package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// benchLists fills a fresh Steward with many orders, their instances and
// history, and invoices, then reads the big lists over real HTTP as a
// consumer (scoped to one org unit among many) and as an administrator:
// the first page, and a deep page reached by following cursors, each
// asked many times in turn; it prints the p50 and p99 of each.
func benchLists(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Time the first and a deep page of the big lists (orders, instances, order events, documents, lines) on a fresh Steward.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	instances := fs.Int("instances", 100000, "orders, each with one item and the instance it made")
	events := fs.Int("events", 1000000, "order events, spread evenly over the orders")
	lines := fs.Int("lines", 100000, "invoice lines, over 12 monthly invoices per org unit")
	units := fs.Int("units", 100, "org units the orders, instances and invoices are spread over")
	requests := fs.Int("requests", 200, "requests per measured page")
	depth := fs.Int("depth", 20, "pages followed to reach the deep page (at most: a consumer's list may be shorter)")
	limit := fs.Int("limit", 50, "page size")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the reading to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *instances < *units || *units < 1 || *events < *instances || *lines < *units*12 {
		return fmt.Errorf("need --instances ≥ --units ≥ 1, --events ≥ --instances and --lines ≥ 12 × --units")
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	fx, err := listsFixture(ctx, a, *units, *instances, *events/(*instances), *lines/(*units*12))
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	// PostgreSQL's autovacuum would have analysed tables this size by the
	// time anyone reads them: so does the benchmark, before it reads.
	// Steward never analyses SQLite, so neither does the benchmark there.
	if store == "postgres" {
		if err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, "ANALYZE"); return err }); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "fixture: %d orders and instances, %d order events, %d invoice lines over %d org units in %s\n",
		*instances, *instances*(*events / *instances), *units*12*(*lines/(*units*12)), *units, time.Since(start).Round(time.Millisecond))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	stopProfile, err := cpuProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	client := &http.Client{Timeout: 30 * time.Second}

	for _, who := range []struct{ name, token, order, document string }{
		{"consumer", fx.consumer, fx.consumerOrder, fx.consumerDocument},
		{"admin", fx.admin, fx.adminOrder, fx.adminDocument},
	} {
		for _, list := range []struct{ name, path string }{
			{"orders", "/api/v1/orders"},
			{"instances", "/api/v1/instances"},
			{"order_events", "/api/v1/orders/" + who.order + "/events"},
			{"documents", "/api/v1/billing/documents"},
			{"lines", "/api/v1/billing/documents/" + who.document + "/lines"},
		} {
			b := listBench{client: client, base: base, token: who.token, requests: *requests}
			first := fmt.Sprintf("%s?limit=%d", list.path, *limit)
			r, err := b.time(first)
			if err != nil {
				return fmt.Errorf("%s %s: %w", who.name, list.name, err)
			}
			fmt.Fprintf(e.stdout, "lists who=%s list=%s page=first items=%d paged=%t p50_ms=%.2f p99_ms=%.2f bytes=%d store=%s\n",
				who.name, list.name, r.items, r.next != "", r.p50, r.p99, r.bytes, store)
			if r.next == "" {
				continue
			}
			deep, pages, err := b.follow(first, r.next, *depth)
			if err != nil {
				return fmt.Errorf("%s %s: %w", who.name, list.name, err)
			}
			if r, err = b.time(deep); err != nil {
				return fmt.Errorf("%s %s: %w", who.name, list.name, err)
			}
			fmt.Fprintf(e.stdout, "lists who=%s list=%s page=deep depth=%d items=%d p50_ms=%.2f p99_ms=%.2f bytes=%d store=%s\n",
				who.name, list.name, pages, r.items, r.p50, r.p99, r.bytes, store)
		}
	}
	return nil
}

// listBench reads pages of one list as one caller.
type listBench struct {
	client   *http.Client
	base     string
	token    string
	requests int
}

// pageRead is what reading one page many times measured.
type pageRead struct {
	items    int
	next     string
	bytes    int
	p50, p99 float64
}

// get reads one page.
func (b listBench) get(path string) (items int, next string, size int, err error) {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	res, err := b.client.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, "", 0, fmt.Errorf("GET %s: status %d: %s", path, res.StatusCode, body)
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
		Next  string            `json:"next"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, "", 0, fmt.Errorf("GET %s: %w", path, err)
	}
	return len(page.Items), page.Next, len(body), nil
}

// time reads path b.requests times, one after the other, after a tenth
// as many reads that warm the caches and are not counted.
func (b listBench) time(path string) (pageRead, error) {
	var r pageRead
	for range b.requests / 10 {
		if _, _, _, err := b.get(path); err != nil {
			return r, err
		}
	}
	lat := make([]time.Duration, 0, b.requests)
	for range b.requests {
		t0 := time.Now()
		items, next, size, err := b.get(path)
		if err != nil {
			return r, err
		}
		lat = append(lat, time.Since(t0))
		r.items, r.next, r.bytes = items, next, size
	}
	pct := percentiles(lat)
	r.p50, r.p99 = pct(0.50), pct(0.99)
	return r, nil
}

// follow walks from the first page's next up to depth pages and returns
// the path of the page reached (the last page when the list is shorter)
// and its number.
func (b listBench) follow(first, next string, depth int) (string, int, error) {
	path, pages := first, 1
	for pages < depth && next != "" {
		u, _ := url.Parse(first)
		q := u.Query()
		q.Set("cursor", next)
		path = u.Path + "?" + q.Encode()
		var err error
		if _, next, _, err = b.get(path); err != nil {
			return "", 0, err
		}
		pages++
	}
	return path, pages, nil
}

// listsBench is what the fixture made that the readers need.
type listsBench struct {
	consumer, admin                 string // API tokens
	consumerOrder, adminOrder       string // an order each may read
	consumerDocument, adminDocument string
}

// listsFixture writes the benchmark's data straight into the database, in
// bulk and consistent with the schema: org units each with a billing
// account and a requester; per order one item, the active instance it
// made and its history; per org unit 12 monthly invoices of their lines.
// Org unit 0's requester is the consumer (consumer role on it); the
// administrator holds the admin role everywhere.
func listsFixture(ctx context.Context, a *app.App, units, orders, eventsPerOrder, linesPerDoc int) (listsBench, error) {
	var fx listsBench
	sys := access.System()
	now := time.Now().UTC().Truncate(time.Second)
	old := now.AddDate(-1, 0, 0)
	root, svc, off, plan, version := sqldb.NewID(), sqldb.NewID(), sqldb.NewID(), sqldb.NewID(), sqldb.NewID()
	unitIDs, requesters, accounts := make([]string, units), make([]string, units), make([]string, units)
	err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at) VALUES ($1, NULL, 'business_unit', 'BENCH', 'Bench', $2, $3, $3)`,
				[]any{root, "/" + root + "/", old}},
			{`INSERT INTO services (id, code, name, kind, lifecycle, description, category, criticality, value_statement, help, rpo_minutes, rto_minutes, continuity, details, created_at, updated_at)
				VALUES ($1, 'bench', 'Bench service', 'business', 'live', '', 'operational', 'medium', '', '', 0, 0, '', '{}', $2, $2)`, []any{svc, old}},
			{`INSERT INTO offerings (id, code, service_id, name, summary, description, view, form_schema, audience, addons, bundle, created_at, updated_at)
				VALUES ($1, 'bench', $2, 'Bench', '', '', 'end_user', '{}', '{}', '[]', '[]', $3, $3)`, []any{off, svc, old}},
			{`INSERT INTO plans (id, offering_id, code, name, description, currency, recurring_minor, one_time_minor, agreement, max_quantity, retired, position, created_at, updated_at)
				VALUES ($1, $2, 'standard', 'Standard', '', 'EUR', 2000, 0, '', 0, FALSE, 0, $3, $3)`, []any{plan, off, old}},
			{`INSERT INTO price_versions (id, plan_id, version, effective_from, currency, components, note, created_by, created_at) VALUES ($1, $2, 1, $3, 'EUR', $4, '', 'bench', $3)`,
				[]any{version, plan, old, `[{"code":"base","name":"Monthly fee","kind":"flat","price":"20.00"}]`}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		ous := &bulkTable{head: `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)`, cols: 8}
		users := &bulkTable{head: `INSERT INTO users (id, email, name, org_unit_id, created_at, updated_at)`, cols: 6}
		accts := &bulkTable{head: `INSERT INTO billing_accounts (id, org_unit_id, name, mode, currency, anchor_day, terms_days, created_at, updated_at)`, cols: 9}
		for i := range units {
			unitIDs[i], requesters[i], accounts[i] = sqldb.NewID(), sqldb.NewID(), sqldb.NewID()
			ous.rows = append(ous.rows, []any{unitIDs[i], root, "cost_centre", fmt.Sprintf("CC-%05d", i), fmt.Sprintf("Cost centre %d", i), "/" + root + "/" + unitIDs[i] + "/", old, old})
			users.rows = append(users.rows, []any{requesters[i], fmt.Sprintf("requester-%d@example.com", i), fmt.Sprintf("Requester %d", i), unitIDs[i], old, old})
			accts.rows = append(accts.rows, []any{accounts[i], unitIDs[i], fmt.Sprintf("Cost centre %d", i), "chargeback", "EUR", 1, 30, old, old})
		}
		for _, t := range []*bulkTable{ous, users, accts} {
			if err := t.flush(ctx, tx); err != nil {
				return err
			}
		}
		// Orders are created a few minutes apart over the past year, each
		// org unit's interleaved with the others'.
		step := now.Sub(old) / time.Duration(orders+1)
		ords := &bulkTable{head: `INSERT INTO orders (id, number, kind, org_unit_id, requester_id, state, currency, monthly_minor, one_time_minor, note, created_at, updated_at, submitted_at)`, cols: 13}
		items := &bulkTable{head: `INSERT INTO order_items (id, order_id, position, offering_id, plan_id, quantity, parameters, addons, requested_for, cost_centre_id,
			monthly_minor, one_time_minor, instance_id, bundle_item_id, state, price_version_id)`, cols: 16}
		insts := &bulkTable{head: `INSERT INTO instances (id, name, service_id, offering_id, plan_id, org_unit_id, owner_id, order_id, parameters, quantity, state, created_at, updated_at)`, cols: 13}
		evs := &bulkTable{head: `INSERT INTO order_events (id, order_id, from_state, to_state, actor_id, actor_name, comment, at)`, cols: 8}
		path := []string{"draft", "submitted", "awaiting_approval", "approved", "fulfilling", "completed"}
		for i := range orders {
			u := i % units
			at := sqldb.Time(old.Add(step * time.Duration(i+1)))
			order, inst := sqldb.NewID(), sqldb.NewID()
			if u == 0 {
				fx.consumerOrder = order
			}
			fx.adminOrder = order
			ords.rows = append(ords.rows, []any{order, i + 1, "provision", unitIDs[u], requesters[u], "completed", "EUR", 2000, 0, "", at, at, at})
			insts.rows = append(insts.rows, []any{inst, fmt.Sprintf("bench-%d", i), svc, off, plan, unitIDs[u], requesters[u], order, "{}", 1, "active", at, at})
			items.rows = append(items.rows, []any{sqldb.NewID(), order, 0, off, plan, 1, "{}", "[]", requesters[u], unitIDs[u], 2000, 0, inst, nil, "fulfilled", version})
			for j := range eventsPerOrder {
				from, to := "", path[0]
				if j > 0 {
					from, to = path[min(j-1, len(path)-1)], path[min(j, len(path)-1)]
				}
				evs.rows = append(evs.rows, []any{sqldb.NewID(), order, from, to, requesters[u], fmt.Sprintf("Requester %d", u), fmt.Sprintf("step %d", j),
					at.Add(time.Duration(j) * time.Second)})
			}
			if len(evs.rows) >= 20000 || i == orders-1 {
				// Parents first: instances name their order, items their instance.
				for _, t := range []*bulkTable{ords, insts, items, evs} {
					if err := t.flush(ctx, tx); err != nil {
						return err
					}
				}
			}
		}
		docs := &bulkTable{head: `INSERT INTO billing_documents (id, account_id, kind, state, number, currency, period_start, period_end, total_minor, paid_minor, reason,
			issued_at, due_at, created_at, updated_at)`, cols: 15}
		lns := &bulkTable{head: `INSERT INTO billing_lines (document_id, position, kind, description, service_id, offering_id, plan_id, price_version_id, component, meter,
			quantity, unit, unit_price, amount_minor, period_start, period_end, usage_key, explain)`, cols: 18}
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(-1, 0, 0)
		for u := range units {
			for m := range 12 {
				doc := sqldb.NewID()
				if u == 0 {
					fx.consumerDocument = doc
				}
				fx.adminDocument = doc
				start, end := first.AddDate(0, m, 0), first.AddDate(0, m+1, 0)
				docs.rows = append(docs.rows, []any{doc, accounts[u], "invoice", "finalised", fmt.Sprintf("INV-%05d-%02d", u, m), "EUR", start, end,
					int64(linesPerDoc) * 2000, 0, "", end, end.AddDate(0, 0, 30), end, end})
				for l := range linesPerDoc {
					lns.rows = append(lns.rows, []any{doc, l + 1, "recurring", "Bench, Standard", svc, off, plan, version, "base", "", "1", "month", "20.00", 2000,
						start, end, "", "{}"})
				}
			}
			if len(lns.rows) >= 20000 || u == units-1 {
				for _, t := range []*bulkTable{docs, lns} {
					if err := t.flush(ctx, tx); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return fx, err
	}
	token := func(email, unit string, role access.Role, scope access.ScopeKind, scopeID string) (string, error) {
		userID := ""
		if email == "" {
			userID = requesters[0]
		} else {
			u, err := a.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: email, Name: strings.Split(email, "@")[0], OrgUnitID: unit})
			if err != nil {
				return "", err
			}
			userID = u.ID
		}
		if _, err := a.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: userID, Role: role, ScopeKind: scope, ScopeID: scopeID}); err != nil {
			return "", err
		}
		t, err := a.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: userID, Name: "bench", ExpiresAt: time.Now().Add(24 * time.Hour)})
		if err != nil {
			return "", err
		}
		return t.Secret, nil
	}
	if fx.consumer, err = token("", unitIDs[0], access.RoleConsumer, access.ScopeOrgUnit, unitIDs[0]); err != nil {
		return fx, err
	}
	fx.admin, err = token("admin@bench.example", root, access.RoleAdmin, access.ScopeGlobal, "")
	return fx, err
}
