// Package jobs runs Steward's background work from a jobs table: billing
// runs, SLA evaluation, provider polling, housekeeping. Jobs are enqueued on
// demand (by a service inside its own transaction, or by an admin through
// the API) or by interval schedules, and each is claimed by exactly one
// runner at a time, across any number of Steward replicas on one PostgreSQL
// (FOR UPDATE SKIP LOCKED) or in the one process of an SQLite installation.
//
// Lifecycle of a job: queued → running → succeeded, or back to queued with
// exponential backoff after a failure, until max attempts, then failed. A
// running job holds a lease that its runner extends while it works; if the
// runner dies, the lease runs out and another runner claims the job again.
// Handlers must therefore be idempotent: a job runs once in the normal
// course, and again only when the runner that had it died mid-way.
//
// A schedule enqueues one job per interval slot (every hour: 10:00, 11:00, …)
// under a unique key kind@slot, so however many replicas tick, the slot's job
// exists once. A slot missed while no replica ran is not caught up; the next
// slot runs.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Status is where a job is in its lifecycle.
type Status string

// The job statuses.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Job is one unit of background work.
type Job struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	Payload     json.RawMessage `json:"payload"`
	Status      Status          `json:"status"`
	UniqueKey   string          `json:"unique_key,omitempty"`
	RunAt       time.Time       `json:"run_at"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	LastError   string          `json:"last_error,omitempty"`
	LockedBy    string          `json:"locked_by,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
}

// Handler does the work of one job. A returned error fails the attempt.
type Handler func(ctx context.Context, j *Job) error

// Runner claims and runs jobs of the kinds it has handlers for.
type Runner struct {
	db       *sqldb.DB
	now      func() time.Time
	log      *slog.Logger
	workerID string

	mu        sync.Mutex
	handlers  map[string]Handler
	schedules map[string]time.Duration
	// needsArguments holds the kinds registered with Handle rather than
	// HandleWithoutArguments.
	needsArguments map[string]bool
	// enqueued is the last slot this runner enqueued per schedule, so that
	// it writes once per slot rather than once per poll.
	enqueued map[string]time.Time

	// Poll is how often an idle runner looks for work (default 1 s).
	Poll time.Duration
	// Lease is how long a claim lasts without renewal (default 1 min).
	Lease time.Duration
	// Backoff returns the delay before the next attempt (default: 10 s
	// doubling per attempt, at most 1 h, with ±20 % jitter).
	Backoff func(attempt int) time.Duration
	// DefaultMaxAttempts applies to jobs enqueued without one (default 5).
	DefaultMaxAttempts int

	wake chan struct{}
}

// NewRunner returns a runner that identifies itself as workerID in claims.
func NewRunner(db *sqldb.DB, now func() time.Time, log *slog.Logger, workerID string) *Runner {
	return &Runner{
		db: db, now: now, log: log, workerID: workerID,
		handlers: map[string]Handler{}, schedules: map[string]time.Duration{}, needsArguments: map[string]bool{}, enqueued: map[string]time.Time{},
		Poll: time.Second, Lease: time.Minute, Backoff: defaultBackoff, DefaultMaxAttempts: 5,
		wake: make(chan struct{}, 1),
	}
}

func defaultBackoff(attempt int) time.Duration {
	d := 10 * time.Second << min(attempt-1, 9)
	d = min(d, time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Handle registers the handler of a job kind whose jobs need arguments in
// their payload (billing.run: which run; provision.operation: which
// operation). The service that owns the kind enqueues its jobs with them;
// Enqueue refuses one without, and the jobs page offers no "Run now" for it.
func (r *Runner) Handle(kind string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[kind] = h
	r.needsArguments[kind] = true
}

// HandleWithoutArguments registers the handler of a job kind whose jobs need
// no arguments: a sweep over whatever is due (purges, checks, evaluations).
// Only such a kind can be scheduled with Every or run now by an
// administrator with an empty payload.
func (r *Runner) HandleWithoutArguments(kind string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[kind] = h
	delete(r.needsArguments, kind)
}

// Every schedules a job of the kind once per interval slot. Interval slots
// are aligned to the Unix epoch, so "every hour" runs on the hour.
func (r *Runner) Every(kind string, every time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schedules[kind] = every
}

// Kind is a registered job kind as its owner declared it.
type Kind struct {
	Name string
	// Every is the kind's schedule; zero if it runs on demand only.
	Every time.Duration
	// NeedsArguments is set for kinds registered with Handle: their jobs
	// cannot run with an empty payload, so nobody can run them now by hand.
	NeedsArguments bool
}

// Kinds lists the registered job kinds by name.
func (r *Runner) Kinds() []Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Kind, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, Kind{Name: k, Every: r.schedules[k], NeedsArguments: r.needsArguments[k]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// EnqueueInput asks for a job.
type EnqueueInput struct {
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
	// RunAt delays the job; zero means now.
	RunAt time.Time `json:"run_at"`
	// UniqueKey, when set, makes enqueueing idempotent: a second job with
	// the same key is not created and the first is returned.
	UniqueKey   string `json:"unique_key"`
	MaxAttempts int    `json:"max_attempts"`
}

func (r *Runner) validate(in *EnqueueInput) error {
	var v errs.Validator
	r.mu.Lock()
	_, known := r.handlers[in.Kind]
	r.mu.Unlock()
	v.Check(known, "kind", "enum", fmt.Sprintf("kind must be a registered job kind (%s)", strings.Join(r.kindNames(), ", ")))
	if len(in.Payload) == 0 {
		in.Payload = json.RawMessage("{}")
	}
	v.Check(json.Valid(in.Payload), "payload", "json", "payload must be JSON")
	v.Check(len(in.Payload) <= 64<<10, "payload", "size", "payload must be at most 64 KiB")
	v.Check(len(in.UniqueKey) <= 200, "unique_key", "length", "unique_key must be at most 200 characters")
	v.Check(in.MaxAttempts >= 0 && in.MaxAttempts <= 100, "max_attempts", "range", "max_attempts must be between 1 and 100")
	return v.Err("the job is not valid")
}

func (r *Runner) kindNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for k := range r.handlers {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Enqueue adds an on-demand job. Callers need job.manage. Returns invalid
// for an unknown kind, or for a kind that needs arguments (registered with
// Handle) enqueued without them: such a job would fail every attempt.
func (r *Runner) Enqueue(ctx context.Context, p *access.Principal, in EnqueueInput) (*Job, error) {
	if err := p.Require(access.JobManage, access.Resource{}); err != nil {
		return nil, err
	}
	r.mu.Lock()
	needs := r.needsArguments[in.Kind]
	r.mu.Unlock()
	if needs && emptyPayload(in.Payload) {
		var v errs.Validator
		v.Add("payload", "required", fmt.Sprintf("%s needs arguments in its payload: Steward enqueues these jobs itself with them, and one without them would fail every attempt", in.Kind))
		return nil, v.Err(fmt.Sprintf("%s needs arguments and cannot be run now by hand", in.Kind))
	}
	var j *Job
	err := r.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if j, err = r.EnqueueTx(ctx, tx, in); err != nil {
			return err
		}
		return audit.Write(ctx, tx, p, r.now(), audit.Entry{Action: "job.enqueue", ObjectType: "job", ObjectID: j.ID, After: j})
	})
	if err == nil {
		r.Wake()
	}
	return j, err
}

// EnqueueTx adds a job inside the caller's transaction, so that the job
// exists exactly when the change that needs it commits. It does not check
// authorisation: the calling service has.
func (r *Runner) EnqueueTx(ctx context.Context, tx *sqldb.Tx, in EnqueueInput) (*Job, error) {
	if err := r.validate(&in); err != nil {
		return nil, err
	}
	now := sqldb.Time(r.now())
	j := &Job{ID: sqldb.NewID(), Kind: in.Kind, Payload: in.Payload, Status: StatusQueued, UniqueKey: in.UniqueKey,
		RunAt: now, MaxAttempts: in.MaxAttempts, CreatedAt: now}
	if !in.RunAt.IsZero() {
		j.RunAt = sqldb.Time(in.RunAt)
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = r.DefaultMaxAttempts
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, kind, payload, status, unique_key, run_at, attempts, max_attempts, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) ON CONFLICT (unique_key) DO NOTHING`,
		j.ID, j.Kind, string(j.Payload), j.Status, nullString(j.UniqueKey), j.RunAt, j.MaxAttempts, j.CreatedAt)
	if err != nil {
		return nil, sqldb.Err(err, "job")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE unique_key = $1`, j.UniqueKey))
	}
	return j, nil
}

// emptyPayload reports whether a payload holds no arguments: nothing, null
// or an empty object.
func emptyPayload(p json.RawMessage) bool {
	switch strings.Join(strings.Fields(string(p)), "") {
	case "", "null", "{}":
		return true
	}
	return false
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

const jobColumns = `id, kind, payload, status, COALESCE(unique_key, ''), run_at, attempts, max_attempts, last_error, locked_by, created_at, started_at, finished_at`

func scanJob(row sqldb.Scanner) (*Job, error) {
	var j Job
	var payload string
	var started, finished sql.NullTime
	if err := row.Scan(&j.ID, &j.Kind, &payload, &j.Status, &j.UniqueKey, &j.RunAt, &j.Attempts, &j.MaxAttempts,
		&j.LastError, &j.LockedBy, &j.CreatedAt, &started, &finished); err != nil {
		return nil, sqldb.Err(err, "job")
	}
	j.Payload = json.RawMessage(payload)
	j.RunAt, j.CreatedAt = j.RunAt.UTC(), j.CreatedAt.UTC()
	j.StartedAt, j.FinishedAt = sqldb.TimePtr(started), sqldb.TimePtr(finished)
	return &j, nil
}

// Filter narrows a job listing.
type Filter struct {
	Kind   string
	Status Status
	Page   sqldb.Page
}

// jobOrder lists jobs newest first (IDs grow with time).
var jobOrder = sqldb.Order{Name: "jobs", Columns: []string{"id"}, Desc: true}

// Jobs lists jobs newest first, a page at a time. Callers need job.read.
func (r *Runner) Jobs(ctx context.Context, p *access.Principal, f Filter) (sqldb.Paged[*Job], error) {
	var none sqldb.Paged[*Job]
	if err := p.Require(access.JobRead, access.Resource{}); err != nil {
		return none, err
	}
	var where []string
	var args sqldb.Args
	if f.Kind != "" {
		where = append(where, "kind = "+args.Add(f.Kind))
	}
	if f.Status != "" {
		where = append(where, "status = "+args.Add(f.Status))
	}
	var before string
	seek, err := jobOrder.Seek(&args, f.Page, &before)
	if err != nil {
		return none, err
	}
	where = append(where, seek)
	q := `SELECT ` + jobColumns + ` FROM jobs WHERE ` + strings.Join(where, " AND ") + jobOrder.By() + jobOrder.Limit(&args, f.Page)
	rows, err := sqldb.QueryAll(ctx, r.db.Read(), "jobs", scanJob, q, args...)
	return sqldb.PageOf(rows, f.Page, jobOrder, func(j *Job) []any { return []any{j.ID} }), err
}

// Job returns one job. Callers need job.read.
func (r *Runner) Job(ctx context.Context, p *access.Principal, id string) (*Job, error) {
	if err := p.Require(access.JobRead, access.Resource{}); err != nil {
		return nil, err
	}
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("job %q not found", id)
	}
	return scanJob(r.db.Read().QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
}

// Wake makes an idle Run look for work now rather than at the next poll.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run enqueues scheduled jobs and runs due jobs until ctx ends, then returns
// after the job in hand (if any) has finished.
func (r *Runner) Run(ctx context.Context) error {
	r.log.Info("job runner started", "worker", r.workerID, "kinds", r.kindNames())
	for {
		if err := r.tickSchedules(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("enqueue scheduled jobs", "err", err)
		}
		for ctx.Err() == nil {
			ran, err := r.RunOne(context.WithoutCancel(ctx))
			if err != nil {
				r.log.Error("run job", "err", err)
				break
			}
			if !ran {
				break
			}
		}
		select {
		case <-ctx.Done():
			r.log.Info("job runner stopped", "worker", r.workerID)
			return nil
		case <-r.wake:
		case <-time.After(r.Poll):
		}
	}
}

// tickSchedules enqueues the current slot's job of every schedule whose
// slot this runner has not enqueued yet.
func (r *Runner) tickSchedules(ctx context.Context) error {
	now := r.now()
	due := map[string]time.Time{}
	r.mu.Lock()
	for kind, every := range r.schedules {
		if slot := now.Truncate(every).UTC(); !slot.Equal(r.enqueued[kind]) {
			due[kind] = slot
		}
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	err := r.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for kind, slot := range due {
			key := kind + "@" + slot.Format(time.RFC3339Nano)
			if _, err := r.EnqueueTx(ctx, tx, EnqueueInput{Kind: kind, RunAt: slot, UniqueKey: key}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	for kind, slot := range due {
		r.enqueued[kind] = slot
	}
	r.mu.Unlock()
	return nil
}

// RunOne claims one due job, runs it and records the outcome. It reports
// whether there was a job. The handler's failure is recorded on the job, not
// returned; errors are about the jobs table itself.
func (r *Runner) RunOne(ctx context.Context) (bool, error) {
	j, err := r.claim(ctx)
	if err != nil || j == nil {
		return false, err
	}
	r.mu.Lock()
	h := r.handlers[j.Kind]
	r.mu.Unlock()

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go r.keepLease(runCtx, j.ID, done)
	start := time.Now()
	herr := safeRun(runCtx, h, j)
	close(done)
	cancel()

	now := sqldb.Time(r.now())
	if herr == nil {
		r.log.Info("job succeeded", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "took", time.Since(start))
		return true, r.finish(ctx, j, `status = 'succeeded', finished_at = $1, last_error = ''`, now)
	}
	msg := herr.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if j.Attempts >= j.MaxAttempts {
		r.log.Error("job failed for good", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "err", herr)
		return true, r.finish(ctx, j, `status = 'failed', finished_at = $1, last_error = $2`, now, msg)
	}
	next := sqldb.Time(now.Add(r.Backoff(j.Attempts)))
	r.log.Warn("job failed; will retry", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "retry_at", next, "err", herr)
	return true, r.finish(ctx, j, `status = 'queued', run_at = $1, last_error = $2, locked_until = NULL`, next, msg)
}

func safeRun(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return h(ctx, j)
}

// finish records an outcome if this runner still holds the job: set
// uses $1 … $n for the n args.
func (r *Runner) finish(ctx context.Context, j *Job, set string, args ...any) error {
	return r.db.Tx(ctx, func(tx *sqldb.Tx) error {
		a := sqldb.Args(args)
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET `+set+` WHERE id = `+a.Add(j.ID)+` AND locked_by = `+a.Add(r.workerID)+` AND status = 'running'`, a...)
		if err != nil {
			return sqldb.Err(err, "job")
		}
		if k, _ := res.RowsAffected(); k == 0 {
			r.log.Warn("job lease was lost before the job finished; its outcome is not recorded", "job", j.ID)
		}
		return nil
	})
}

// claim takes the oldest due job: a queued one whose time has come, or a
// running one whose runner stopped renewing its lease.
func (r *Runner) claim(ctx context.Context) (*Job, error) {
	kinds := r.kindNames()
	if len(kinds) == 0 {
		return nil, nil
	}
	now := sqldb.Time(r.now())
	args := sqldb.Args{r.workerID, sqldb.Time(now.Add(r.Lease)), now}
	q := `UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, started_at = $3
		WHERE id = (SELECT id FROM jobs
			WHERE ((status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3))
			AND ` + sqldb.In(&args, "kind", kinds) + `
			ORDER BY run_at, id LIMIT 1` + r.db.Dialect.SkipLocked() + `)
		RETURNING ` + jobColumns
	var j *Job
	err := r.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, q, args...))
		return err
	})
	if errs.Is(err, errs.CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim job: %w", err)
	}
	return j, nil
}

// keepLease renews the claim on a job until done is closed.
func (r *Runner) keepLease(ctx context.Context, id string, done <-chan struct{}) {
	t := time.NewTicker(r.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			err := r.db.Tx(ctx, func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND status = 'running'`,
					sqldb.Time(r.now().Add(r.Lease)), id, r.workerID)
				return err
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				r.log.Warn("renew job lease", "job", id, "err", err)
			}
		}
	}
}

// Purge deletes finished jobs older than the given age and returns how many.
func (r *Runner) Purge(ctx context.Context, age time.Duration) (int64, error) {
	var n int64
	err := r.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE status IN ('succeeded', 'failed') AND finished_at < $1`, sqldb.Time(r.now().Add(-age)))
		if err != nil {
			return sqldb.Err(err, "job")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
