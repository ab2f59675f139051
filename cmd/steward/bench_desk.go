package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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

// benchDesk measures the service desk (issue 20) at size: an agent's queue
// (the first page, least time left first), the suggestion of a service
// for a 30-word description, and raising tickets at a steady rate, over
// real HTTP, on a fresh Steward holding --tickets tickets over --services
// services.
func benchDesk(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Time an agent's queue, the service suggestion and raising tickets on a fresh Steward with many tickets.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	tickets := fs.Int("tickets", 1000000, "tickets, over the services (a tenth of them open)")
	services := fs.Int("services", 10000, "live services, each with its assignment group (one of --groups)")
	groups := fs.Int("groups", 100, "assignment groups")
	requests := fs.Int("requests", 200, "requests per measured read (one after another)")
	rate := fs.Int("create-rate", 200, "tickets raised a second in the create phase")
	duration := fs.Duration("duration", 10*time.Second, "how long the create phase lasts")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the measured phases to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *tickets < *services || *services < *groups || *groups < 1 {
		return fmt.Errorf("need --tickets ≥ --services ≥ --groups ≥ 1")
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	fx, err := deskFixture(ctx, a, *tickets, *services, *groups)
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	if store == "postgres" { // as autovacuum would have by then
		if err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, "ANALYZE"); return err }); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "fixture: %d tickets over %d services and %d groups in %s\n", *tickets, *services, *groups, time.Since(start).Round(time.Millisecond))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 60 * time.Second}
	call := func(method, path, token string, body any) (int, []byte, error) {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	stopProfile, err := cpuProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	timed := func(n int, path, token string) ([]time.Duration, int, error) {
		lat := make([]time.Duration, 0, n)
		size := 0
		for range n {
			t0 := time.Now()
			code, b, err := call("GET", path, token, nil)
			if err != nil || code != 200 {
				return nil, 0, fmt.Errorf("GET %s: %d %v %.200s", path, code, err, b)
			}
			lat = append(lat, time.Since(t0))
			size = len(b)
		}
		return lat, size, nil
	}

	// The agent's queue: the open tickets of the group, least time left first.
	queue := "/api/v1/tickets?view=queue&state=open&sort=due&limit=50"
	lat, size, err := timed(*requests, queue, fx.agent)
	if err != nil {
		return err
	}
	p := percentiles(lat)
	fmt.Fprintf(e.stdout, "desk op=queue_first_page requests=%d p50_ms=%.2f p99_ms=%.2f bytes=%d store=%s\n", len(lat), p(0.5), p(0.99), size, store)

	// The suggestion: the first builds the model from every ticket.
	rng := rand.New(rand.NewPCG(7, 8))
	text := func() string { return fx.description(rng, rng.IntN(*services), 30) }
	t0 := time.Now()
	if code, b, err := call("GET", "/api/v1/service-suggestions?text="+url.QueryEscape(text()), fx.consumer, nil); err != nil || code != 200 {
		return fmt.Errorf("suggest: %d %v %.200s", code, err, b)
	}
	fmt.Fprintf(e.stdout, "desk op=suggest_model_build tickets=%d seconds=%.2f rss_mb=%.0f store=%s\n", *tickets, time.Since(t0).Seconds(), rssMB(), store)
	lat = lat[:0]
	hits := 0
	for range *requests {
		svc := rng.IntN(*services)
		path := "/api/v1/service-suggestions?text=" + url.QueryEscape(fx.description(rng, svc, 30))
		t0 := time.Now()
		code, b, err := call("GET", path, fx.consumer, nil)
		if err != nil || code != 200 {
			return fmt.Errorf("suggest: %d %v %.200s", code, err, b)
		}
		lat = append(lat, time.Since(t0))
		if bytes.Contains(b, []byte(`"code":"`+fx.codes[svc]+`"`)) {
			hits++
		}
	}
	p = percentiles(lat)
	fmt.Fprintf(e.stdout, "desk op=suggest words=30 requests=%d p50_ms=%.2f p99_ms=%.2f in_top3=%.2f store=%s\n", len(lat), p(0.5), p(0.99),
		float64(hits)/float64(len(lat)), store)

	// Raising tickets at a steady rate.
	res, err := pace(*rate, *duration, func(i int) (int, error) {
		svc := (i * 7919) % *services
		code, b, err := call("POST", "/api/v1/tickets", fx.consumer, map[string]any{"service": fx.codes[svc], "summary": fx.description(rand.New(rand.NewPCG(uint64(i), 9)), svc, 6),
			"description": "raised by the benchmark"})
		if err == nil && code != 201 {
			err = fmt.Errorf("POST /api/v1/tickets: %d %.200s", code, b)
		}
		return len(b), err
	})
	if err != nil {
		return err
	}
	p = percentiles(res.lat)
	fmt.Fprintf(e.stdout, "desk op=create rate=%d requests=%d ok_per_sec=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d store=%s\n", *rate, len(res.lat), res.perSec,
		p(0.5), p(0.99), res.errors, store)
	if res.first != nil {
		fmt.Fprintf(e.stderr, "first error: %v\n", res.first)
	}
	// The queue again, with what was raised.
	if lat, _, err = timed(*requests, queue, fx.agent); err != nil {
		return err
	}
	p = percentiles(lat)
	fmt.Fprintf(e.stdout, "desk op=queue_first_page_after requests=%d p50_ms=%.2f p99_ms=%.2f rss_mb=%.0f store=%s\n", len(lat), p(0.5), p(0.99), rssMB(), store)
	return nil
}

// deskBench is the fixture: the services' codes and topic words, and the
// tokens of an agent (a member of the first group only) and a consumer.
type deskBench struct {
	codes    []string
	topics   [][]string // per service
	common   []string
	agent    string
	consumer string
}

// description is n words as a user might write about the service: two of
// its topic words among common ones.
func (d *deskBench) description(rng *rand.Rand, svc, n int) string {
	words := make([]string, 0, n)
	for i := range n {
		if i%5 == 1 {
			words = append(words, d.topics[svc][rng.IntN(len(d.topics[svc]))])
			continue
		}
		// Zipf-like: the first common words far more often.
		words = append(words, d.common[int(float64(len(d.common))*rng.Float64()*rng.Float64()*rng.Float64())])
	}
	return strings.Join(words, " ")
}

// deskFixture writes the org units, groups, services and tickets in bulk.
func deskFixture(ctx context.Context, a *app.App, tickets, services, groups int) (*deskBench, error) {
	sys := access.System()
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(3, 4))
	fx := &deskBench{}
	syllables := []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "po", "da", "fe", "gu", "zi", "be", "ro", "sa", "te", "ni"}
	word := func(i int) string {
		var b strings.Builder
		for i++; i > 0; i /= len(syllables) {
			b.WriteString(syllables[i%len(syllables)])
		}
		return b.String() + "x"
	}
	for i := range 2000 {
		fx.common = append(fx.common, word(i))
	}
	root := sqldb.NewID()
	var units, groupIDs, serviceIDs, serviceGroups []string
	err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at) VALUES ($1, NULL, 'business_unit', 'BENCH', 'Bench', $2, $3, $3)`,
			root, "/"+root+"/", now); err != nil {
			return err
		}
		ou := &bulkTable{head: `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)`, cols: 8}
		for i := range 100 {
			id := sqldb.NewID()
			units = append(units, "/"+root+"/"+id+"/")
			ou.rows = append(ou.rows, []any{id, root, "cost_centre", fmt.Sprintf("CC-%03d", i), fmt.Sprintf("Cost centre %d", i), "/" + root + "/" + id + "/", now, now})
		}
		gs := &bulkTable{head: `INSERT INTO assignment_groups (id, name, description, email, created_at, updated_at)`, cols: 6}
		for i := range groups {
			id := sqldb.NewID()
			groupIDs = append(groupIDs, id)
			gs.rows = append(gs.rows, []any{id, fmt.Sprintf("Group %03d", i), "", "", now, now})
		}
		svcs := &bulkTable{head: `INSERT INTO services (id, code, name, kind, lifecycle, description, assignment_group_id, category, criticality, value_statement, help,
			rpo_minutes, rto_minutes, continuity, details, created_at, updated_at)`, cols: 17}
		for i := range services {
			id := sqldb.NewID()
			topics := []string{word(3000 + 3*i), word(3000 + 3*i + 1), word(3000 + 3*i + 2)}
			fx.topics = append(fx.topics, topics)
			fx.codes = append(fx.codes, fmt.Sprintf("svc-%05d", i))
			serviceIDs, serviceGroups = append(serviceIDs, id), append(serviceGroups, groupIDs[i%groups])
			svcs.rows = append(svcs.rows, []any{id, fx.codes[i], "Service " + topics[0], "business", "live", "About " + strings.Join(topics, " ") + ".", groupIDs[i%groups],
				"operational", "medium", "", "", 0, 0, "", "{}", now, now})
		}
		for _, t := range []*bulkTable{ou, gs, svcs} {
			if err := t.flush(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The people: a consumer in the first cost centre, an agent in the
	// first group (membership only: the queue is the group's).
	var unitID string
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT id FROM org_units WHERE code = 'CC-000'`).Scan(&unitID); err != nil {
		return nil, err
	}
	consumer, err := a.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "consumer@bench.example", Name: "Consumer", OrgUnitID: unitID})
	if err != nil {
		return nil, err
	}
	if _, err := a.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: consumer.ID, Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: root}); err != nil {
		return nil, err
	}
	agent, err := a.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "agent@bench.example", Name: "Agent"})
	if err != nil {
		return nil, err
	}
	if _, err := a.Identity.SetMember(ctx, sys, groupIDs[0], agent.ID, true); err != nil {
		return nil, err
	}
	for _, u := range []struct {
		id  string
		tok *string
	}{{consumer.ID, &fx.consumer}, {agent.ID, &fx.agent}} {
		t, err := a.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: u.id, Name: "bench", ExpiresAt: now.Add(24 * time.Hour)})
		if err != nil {
			return nil, err
		}
		*u.tok = t.Secret
	}
	// The tickets, over the last year, a tenth still open.
	unitIDs, err := sqldb.QueryAll(ctx, a.DB.Read(), "org units", func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT id FROM org_units WHERE parent_id = $1 ORDER BY code`, root)
	if err != nil {
		return nil, err
	}
	year := int64(365 * 24 * time.Hour)
	const chunk = 5000
	for done := 0; done < tickets; done += chunk {
		err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
			ts := &bulkTable{head: `INSERT INTO tickets (id, number, kind, state, service_id, org_unit_id, requester_id, summary, description, impact, urgency, priority,
				group_id, tier, opened_at, respond_by, resolve_by, responded_at, resolved_at, recorded_by, created_at, updated_at)`, cols: 22}
			for i := done; i < min(done+chunk, tickets); i++ {
				svc := rng.IntN(services)
				opened := now.Add(-time.Duration(rng.Int64N(year)))
				impact, urgency := 1+rng.IntN(3), 1+rng.IntN(3)
				priority := []int{1, 2, 3, 2, 3, 4, 3, 4, 4}[(impact-1)*3+urgency-1]
				kind, state := "incident", "closed"
				if i%4 == 0 {
					kind = "request"
				}
				var responded, resolved any
				resolveBy := opened.Add(time.Duration(4<<priority) * time.Hour)
				switch {
				case i%10 == 0:
					state = []string{"new", "assigned", "in_progress", "on_hold"}[rng.IntN(4)]
					resolveBy = now.Add(time.Duration(rng.Int64N(int64(72*time.Hour))) - 24*time.Hour)
				case i%10 == 1:
					state = "resolved"
				}
				if state != "new" {
					responded = opened.Add(time.Duration(5+rng.IntN(120)) * time.Minute)
				}
				if state == "resolved" || state == "closed" {
					resolved = opened.Add(time.Duration(30+rng.IntN(2000)) * time.Minute)
				}
				ts.rows = append(ts.rows, []any{sqldb.NewID(), int64(i + 1), kind, state, serviceIDs[svc], unitIDs[rng.IntN(len(unitIDs))], consumer.ID,
					fx.description(rng, svc, 8), "", impact, urgency, priority, serviceGroups[svc], 1, opened, opened.Add(time.Hour), resolveBy, responded, resolved,
					consumer.ID, opened, opened})
			}
			return ts.flush(ctx, tx)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		// Where tickets.Next goes on from (sqldb.Tx.Next).
		q := `UPDATE counters SET value = $1 WHERE name = 'ticket'`
		if tx.Dialect == sqldb.Postgres {
			q = `SELECT setval('counter_ticket', $1)`
		}
		_, err := tx.ExecContext(ctx, q, tickets)
		return err
	}); err != nil {
		return nil, err
	}
	return fx, nil
}
