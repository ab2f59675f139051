package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/secret"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// benchIngest starts a Steward on a fresh database, drives its real HTTP
// ingest endpoint with concurrent clients and prints one line of figures;
// with --raw, also the rate at which the same database takes batched
// inserts with no HTTP, parsing or rollups (the physical reference), and
// the ratio to it on the ingest line; with --latency, then drives it at
// half the rate it reached, and prints the latency there.
func benchIngest(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Drive the CloudEvents ingest endpoint of a fresh Steward and print events/s and latency.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	batch := fs.Int("batch", 100, "events per request (1 sends structured single events)")
	clients := fs.Int("clients", 16, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	rate := fs.Int("rate", 0, "target events per second over all clients (0: as fast as possible)")
	subjects := fs.Int("subjects", 1000, "distinct subjects the events are spread over")
	raw := fs.Bool("raw", false, "also measure raw batched inserts into the same database, and print the ratio")
	latency := fs.Bool("latency", false, "then send at half the rate reached (or --rate) and print p50/p99 there")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the sending to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	token, err := benchSetup(ctx, a)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	d := ingestDriver{url: "http://" + ln.Addr().String() + "/api/v1/events", token: token, batch: *batch, clients: *clients, subjects: *subjects,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}, Timeout: 30 * time.Second}}

	stopProfile, err := cpuProfile(*profile)
	if err != nil {
		return err
	}
	cpu0 := processCPU()
	perSec, lat, err := d.run(*rate, *duration, 0)
	cpu := processCPU() - cpu0
	stopProfile()
	if err != nil {
		return err
	}
	pct := percentiles(lat)
	line := fmt.Sprintf("ingest events_per_sec=%.0f p50_ms=%.2f p99_ms=%.2f batch=%d store=%s clients=%d rate=%d",
		perSec, pct(0.50), pct(0.99), *batch, store, *clients, *rate)
	// CPU per event, of this process (the clients, HTTP, parsing and, on
	// SQLite, the database; not PostgreSQL's server): a figure that holds
	// when others share the machine.
	cpuPerEvent := float64(cpu.Microseconds()) / (perSec * duration.Seconds())
	if cpu > 0 {
		line += fmt.Sprintf(" cpu_us_per_event=%.1f", cpuPerEvent)
	}
	storage, err := benchStorage(ctx, a.DB)
	if err != nil {
		return err
	}
	var rawLine string
	if *raw {
		cpu0 := processCPU()
		n, took, err := benchRaw(ctx, a.DB)
		if err != nil {
			return err
		}
		cpu := processCPU() - cpu0
		rawPerSec := float64(n) / took.Seconds()
		line += fmt.Sprintf(" raw_rows_per_sec=%.0f ratio=%.2f", rawPerSec, perSec/rawPerSec)
		rawLine = fmt.Sprintf("raw_insert rows_per_sec=%.0f rows=%d store=%s", rawPerSec, n, store)
		if cpu > 0 {
			perRow := float64(cpu.Microseconds()) / float64(n)
			line += fmt.Sprintf(" cpu_ratio=%.2f", perRow/cpuPerEvent)
			rawLine += fmt.Sprintf(" cpu_us_per_row=%.1f", perRow)
		}
	}
	fmt.Fprintln(e.stdout, line)
	fmt.Fprintln(e.stdout, storage+" store="+store)
	if rawLine != "" {
		fmt.Fprintln(e.stdout, rawLine)
	}
	if *latency {
		half := *rate / 2
		if half == 0 {
			half = int(perSec / 2)
		}
		got, lat, err := d.run(half, *duration, 1)
		if err != nil {
			return err
		}
		pct := percentiles(lat)
		fmt.Fprintf(e.stdout, "ingest_latency rate=%d events_per_sec=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f batch=%d store=%s clients=%d\n",
			half, got, pct(0.50), pct(0.90), pct(0.99), pct(1), *batch, store, *clients)
	}
	return nil
}

// ingestDriver sends ingest requests from concurrent clients.
type ingestDriver struct {
	url, token               string
	batch, clients, subjects int
	client                   *http.Client
}

// run sends for duration at rate events/s over all clients (as fast as
// possible for 0) and returns the events/s reached and each request's
// latency. phase keeps event IDs of runs apart.
func (d ingestDriver) run(rate int, duration time.Duration, phase int) (float64, []time.Duration, error) {
	var sent atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	var failure atomic.Value
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for c := range d.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var own []time.Duration
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(d.batch) * float64(d.clients) / float64(rate))
			}
			// Clients start spread over one interval, not all at once.
			next := time.Now().Add(interval * time.Duration(c) / time.Duration(d.clients))
			for seq := phase << 40; time.Now().Before(deadline); seq++ {
				if interval > 0 {
					if w := time.Until(next); w > 0 {
						time.Sleep(w)
					}
					next = next.Add(interval)
				}
				body, ctype := benchBody(c, seq, d.batch, d.subjects)
				req, _ := http.NewRequest("POST", d.url, bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("Authorization", "Bearer "+d.token)
				t0 := time.Now()
				res, err := d.client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					failure.Store(err)
					return
				}
				own = append(own, time.Since(t0))
				sent.Add(int64(d.batch))
			}
			mu.Lock()
			latencies = append(latencies, own...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := failure.Load().(error); ok {
		return 0, nil, fmt.Errorf("a client failed: %w", err)
	}
	return float64(sent.Load()) / elapsed.Seconds(), latencies, nil
}

// benchStorage says how much disk the events stored so far take: their
// table and indexes (on PostgreSQL all its partitions), per event, and the
// rollups'.
func benchStorage(ctx context.Context, db *sqldb.DB) (string, error) {
	var events, eventBytes, rollupBytes int64
	q := db.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_events`).Scan(&events); err != nil {
		return "", err
	}
	var err error
	if db.Dialect == sqldb.Postgres {
		err = q.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'usage_events'::regclass`).Scan(&eventBytes)
		if err == nil {
			err = q.QueryRowContext(ctx, `SELECT pg_total_relation_size('usage_rollups')`).Scan(&rollupBytes)
		}
	} else {
		err = q.QueryRowContext(ctx, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN ('usage_events', 'usage_events_received')`).Scan(&eventBytes)
		if err == nil {
			err = q.QueryRowContext(ctx, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN ('usage_rollups', 'usage_rollups_hour')`).Scan(&rollupBytes)
		}
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("storage events=%d event_bytes=%d bytes_per_event=%.0f rollup_bytes=%d", events, eventBytes, float64(eventBytes)/float64(max(events, 1)), rollupBytes), nil
}

// percentiles sorts latencies and returns the p-th percentile (0 to 1) in milliseconds.
func percentiles(lat []time.Duration) func(p float64) float64 {
	slices.Sort(lat)
	return func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
}

// benchApp builds a Steward on an empty database: the PostgreSQL one named,
// or embedded SQLite in a temporary directory that done removes.
func benchApp(ctx context.Context, e env, database string) (a *app.App, store string, done func(), err error) {
	cfg := sqldb.Config{URL: database}
	store, dir := "postgres", ""
	if database == "" {
		if dir, err = os.MkdirTemp("", "steward-bench-"); err != nil {
			return nil, "", nil, err
		}
		cfg.DataDir, store = dir, "sqlite"
	}
	a, err = app.New(ctx, app.Config{Database: cfg, SecretKey: secret.NewKey(), Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, "", nil, err
	}
	return a, store, func() {
		a.Close()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}, nil
}

// benchSetup makes a meter and a usage_reporter token.
func benchSetup(ctx context.Context, a *app.App) (string, error) {
	sys := access.System()
	if _, err := a.Metering.SaveMeter(ctx, sys, metering.MeterInput{Code: "api-calls", Name: "API calls", EventType: "com.example.api.called",
		Aggregation: metering.Sum, ValuePath: "calls", GroupBy: []string{"region"}, Unit: "call"}); err != nil {
		return "", err
	}
	u, err := a.Identity.CreateUser(ctx, sys, identity.CreateUserInput{Email: "bench@example.com", Name: "Bench"})
	if err != nil {
		return "", err
	}
	if _, err := a.Identity.CreateGrant(ctx, sys, identity.CreateGrantInput{UserID: u.ID, Role: access.RoleUsageReporter, ScopeKind: access.ScopeGlobal}); err != nil {
		return "", err
	}
	t, err := a.Identity.CreateToken(ctx, sys, identity.CreateTokenInput{UserID: u.ID, Name: "bench", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		return "", err
	}
	return t.Secret, nil
}

// benchBody is one request: a batch, or a structured single event.
func benchBody(client, seq, batch, subjects int) ([]byte, string) {
	now := time.Now().UTC().Format(time.RFC3339)
	var b bytes.Buffer
	one := func(i int) {
		fmt.Fprintf(&b, `{"specversion":"1.0","id":"%d-%d-%d","source":"/bench/%d","type":"com.example.api.called","subject":"s-%d","time":%q,"data":{"calls":%d,"region":"r%d"}}`,
			client, seq, i, client, (seq*batch+i)%subjects, now, 1+i%7, i%3)
	}
	if batch == 1 {
		one(0)
		return b.Bytes(), metering.ContentStructured
	}
	b.WriteByte('[')
	for i := range batch {
		if i > 0 {
			b.WriteByte(',')
		}
		one(i)
	}
	b.WriteByte(']')
	return b.Bytes(), metering.ContentBatch
}

// benchRaw inserts rows shaped like usage events straight into the
// database, 1000 to a transaction, for five seconds.
func benchRaw(ctx context.Context, db *sqldb.DB) (int, time.Duration, error) {
	start := time.Now()
	n := 0
	data := `{"calls":3,"region":"r1"}`
	for time.Since(start) < 5*time.Second {
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			now := sqldb.Time(time.Now())
			head, cols := `INSERT INTO usage_events (source, id, type, subject, time, received_at, data)`, 7
			if db.Dialect == sqldb.Postgres { // partitioned by the month received
				head, cols = `INSERT INTO usage_events (source, id, type, subject, time, received_at, data, period)`, 8
			}
			month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
			return sqldb.Bulk{Object: "raw rows", Head: head, Cols: cols, Rows: 1000,
				Args: func(i int, args []any) []any {
					args = append(args, "/raw", fmt.Sprint("raw-", n+i), "com.example.api.called", "s-1", now, now, data)
					if cols == 8 {
						args = append(args, month)
					}
					return args
				}}.Insert(ctx, tx)
		})
		if err != nil {
			return n, time.Since(start), err
		}
		n += 1000
	}
	return n, time.Since(start), nil
}

// cpuProfile starts a CPU profile written to path (none when path is
// empty) and returns what stops it.
func cpuProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
