package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// RunState is where a billing run is.
type RunState string

// The run states.
const (
	RunRunning   RunState = "running"
	RunCompleted RunState = "completed"
)

// Run is the billing run of one month.
type Run struct {
	ID            string     `json:"id"`
	Month         string     `json:"month"`
	State         RunState   `json:"state"`
	AccountsTotal int        `json:"accounts_total"`
	AccountsDone  int        `json:"accounts_done"`
	Documents     int        `json:"documents"`
	Lines         int        `json:"lines"`
	Error         string     `json:"error,omitempty"`
	StartedBy     string     `json:"started_by"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	cursor        string
}

const runColumns = `id, month, state, accounts_total, accounts_done, documents, lines, cursor, error, started_by, created_at, updated_at, finished_at`

func scanRun(row sqldb.Scanner) (*Run, error) {
	var r Run
	var fin sql.NullTime
	if err := row.Scan(&r.ID, &r.Month, &r.State, &r.AccountsTotal, &r.AccountsDone, &r.Documents, &r.Lines, &r.cursor, &r.Error, &r.StartedBy,
		&r.CreatedAt, &r.UpdatedAt, &fin); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt, r.FinishedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC(), sqldb.TimePtr(fin)
	return &r, nil
}

// runOrder is the order of Runs: newest month first (a month has one run).
var runOrder = sqldb.Order{Name: "month", Columns: []string{"month"}, Desc: true}

// Runs lists one page of the billing runs, newest month first. Callers
// need billing.manage, else forbidden; a cursor not of this list is
// invalid.
func (s *Service) Runs(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*Run], error) {
	if err := p.Require(access.BillingManage, access.Resource{}); err != nil {
		return sqldb.Paged[*Run]{}, err
	}
	var args sqldb.Args
	var after string
	seek, err := runOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*Run]{}, err
	}
	runs, err := sqldb.QueryAll(ctx, s.db.Read(), "billing runs", scanRun, `SELECT `+runColumns+` FROM billing_runs WHERE `+seek+runOrder.By()+runOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Run]{}, err
	}
	return sqldb.PageOf(runs, page, runOrder, func(r *Run) []any { return []any{r.Month} }), nil
}

// Run returns one run by ID or month. Callers need billing.manage.
// Returns not_found if there is no such run.
func (s *Service) Run(ctx context.Context, p *access.Principal, ref string) (*Run, error) {
	if err := p.Require(access.BillingManage, access.Resource{}); err != nil {
		return nil, err
	}
	return sqldb.QueryOne(ctx, s.db.Read(), fmt.Sprintf("billing run %q", ref), scanRun, `SELECT `+runColumns+` FROM billing_runs WHERE id = $1 OR month = $1`, ref)
}

// StartRun starts (or re-runs) the billing run of a month as a job and
// returns at once; the run's progress is on the run. A run already going
// is returned as it is. Callers need billing.manage. Returns invalid
// (field month) for a month that is not written 2026-11 or is outside
// the billable months: from the first month with a billing account or an
// instance to the month in progress.
func (s *Service) StartRun(ctx context.Context, p *access.Principal, month string) (*Run, error) {
	if err := p.Require(access.BillingManage, access.Resource{}); err != nil {
		return nil, err
	}
	m, err := parseMonth(month)
	if err != nil {
		return nil, err
	}
	now := sqldb.Time(s.now())
	first, last, err := s.billableMonths(ctx)
	if err != nil {
		return nil, err
	}
	if m.Before(first) || m.After(last) {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the month cannot be billed",
			Fields: []errs.FieldError{{Field: "month", Rule: "range", Message: fmt.Sprintf(
				"month must be from %s (the first with a billing account or an instance) to %s (the month in progress, which gives drafts to date)",
				first.Format("2006-01"), last.Format("2006-01"))}}}
	}
	month = m.Format("2006-01")
	var out *Run
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var total int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_accounts`).Scan(&total); err != nil {
			return sqldb.Err(err, "billing accounts")
		}
		r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM billing_runs WHERE month = $1`, month))
		switch {
		case isNoRows(err):
			r = &Run{ID: sqldb.NewID(), Month: month}
			_, err = tx.ExecContext(ctx, `INSERT INTO billing_runs (`+runColumns+`) VALUES ($1, $2, 'running', $3, 0, 0, 0, '', '', $4, $5, $5, NULL)`,
				r.ID, month, total, p.Name, now)
		case err != nil:
			return sqldb.Err(err, "billing run")
		case r.State == RunRunning && r.Error == "":
			out = r
			return nil
		default:
			_, err = tx.ExecContext(ctx, `UPDATE billing_runs SET state = 'running', accounts_total = $1, accounts_done = 0, documents = 0, lines = 0, cursor = '',
				error = '', started_by = $2, updated_at = $3, finished_at = NULL WHERE id = $4`, total, p.Name, now, r.ID)
		}
		if err != nil {
			return sqldb.Err(err, "billing run")
		}
		payload, _ := json.Marshal(map[string]string{"run_id": r.ID})
		if _, err := s.jobs.EnqueueTx(ctx, tx, jobs.EnqueueInput{Kind: RunJob, Payload: payload, UniqueKey: fmt.Sprintf("%s:%s:%d", RunJob, r.ID, now.UnixNano())}); err != nil {
			return err
		}
		if out, err = scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM billing_runs WHERE id = $1`, r.ID)); err != nil {
			return sqldb.Err(err, "billing run")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "billing_run.start", ObjectType: "billing_run", ObjectID: r.ID, After: out})
	})
	if err == nil {
		s.jobs.Wake()
	}
	return out, err
}

// billableMonths is the range of months a run may bill: from the month
// whose period holds the first instance segment or the first billing
// account's opening (the earlier), to the month in progress. Before it
// there is nothing to bill; after it nothing has happened yet.
func (s *Service) billableMonths(ctx context.Context) (first, last time.Time, err error) {
	now := s.now().UTC()
	last = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	db := s.db.Read()
	earliest := now
	for _, q := range []string{`SELECT created_at FROM billing_accounts ORDER BY created_at LIMIT 1`,
		`SELECT started_at FROM instance_segments ORDER BY started_at LIMIT 1`} {
		var t time.Time
		switch err := db.QueryRowContext(ctx, q).Scan(&t); {
		case isNoRows(err):
		case err != nil:
			return first, last, sqldb.Err(err, "billing months")
		default:
			earliest = minTime(earliest, t.UTC())
		}
	}
	var anchor int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(anchor_day), 1) FROM billing_accounts`).Scan(&anchor); err != nil {
		return first, last, sqldb.Err(err, "billing accounts")
	}
	first = time.Date(earliest.Year(), earliest.Month(), 1, 0, 0, 0, 0, time.UTC)
	if earliest.Day() < anchor { // before its anchor day: in the period of the month before
		first = first.AddDate(0, -1, 0)
	}
	return first, last, nil
}

func (s *Service) runJob(ctx context.Context, j *jobs.Job) error {
	var in struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(j.Payload, &in); err != nil {
		return fmt.Errorf("billing run payload: %w", err)
	}
	err := s.Execute(ctx, in.RunID)
	if err != nil {
		// Keep the reason on the run; the job's retry resumes at the cursor.
		bg := context.WithoutCancel(ctx)
		s.db.Tx(bg, func(tx *sqldb.Tx) error {
			_, e := tx.ExecContext(bg, `UPDATE billing_runs SET error = $1, updated_at = $2 WHERE id = $3`, err.Error(), sqldb.Time(s.now()), in.RunID)
			return e
		})
	}
	return err
}

// scanSegment reads an instance segment with the names of its instance,
// service, offering and plan; add-ons that do not decode are an internal
// error.
func scanSegment(row sqldb.Scanner) (*segment, error) {
	var g segment
	var addons string
	var end sql.NullTime
	if err := row.Scan(&g.instanceID, &g.instanceName, &g.serviceID, &g.serviceName, &g.offeringID, &g.offeringName, &g.planID, &g.planName, &g.seq,
		&g.versionID, &g.costCentre, &g.quantity, &addons, &g.start, &end); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(addons), &g.addons); err != nil {
		return nil, errs.Internal(err, "the stored add-ons of segment %d of instance %s are not valid JSON", g.seq, g.instanceID)
	}
	g.start = g.start.UTC()
	if end.Valid {
		g.end = end.Time.UTC()
	}
	return &g, nil
}

// segment is an instance segment with what its lines name.
type segment struct {
	instanceID, instanceName, serviceID, serviceName, offeringID, offeringName, planID, planName string
	seq                                                                                          int
	versionID, costCentre                                                                        string
	quantity                                                                                     int64
	addons                                                                                       []addon
	start, end                                                                                   time.Time // end zero: still held
	account                                                                                      string    // the billing account charged, if any
}

type addon struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Recurring string `json:"recurring"`
	OneTime   string `json:"one_time"`
}

// window is a billing period.
type window struct{ start, end time.Time }

// usageAt finds a quantity: a meter's usage of a subject over a window.
type usageAt struct {
	w       window
	meter   string
	subject string
}

type usageFact struct {
	qty    metering.Quantity
	events int64
}

// billed is what finalised documents have charged for one usage key.
type billed struct {
	accountID, key                                       string
	instanceID, serviceID, offeringID, planID, versionID string
	component, meter, description, costCentre            string
	w                                                    window
	qty                                                  *big.Rat
	amount                                               int64
}

// runData is everything a run reads once, whatever the number of accounts.
type runData struct {
	month    time.Time
	accounts []*Account
	owner    map[string]string // org unit ID → billing account ID
	now      time.Time
	segs     map[string][]*segment // by account
	instSegs map[string][]*segment // every segment of an instance, by instance, in order
	versions map[string]*rating.Version
	meters   map[string]*metering.Meter
	usage    map[usageAt]usageFact
	billed   map[string][]*billed // by account
	credits  map[string][]*Credit // waiting for an invoice, by account
}

// Execute runs a billing run to its end from where it stopped. It is the
// job's body and safe to call again: finalised documents are never
// touched, drafts are recomputed whole. A cancelled ctx stops it before
// the next account with ctx's error, keeping the chunks committed. A
// stored explanation, credit or add-on list that does not decode stops it
// with an internal error naming it, before anything is billed from it.
func (s *Service) Execute(ctx context.Context, runID string) error {
	r, err := scanRun(s.db.Read().QueryRowContext(ctx, `SELECT `+runColumns+` FROM billing_runs WHERE id = $1`, runID))
	if err != nil {
		return sqldb.Err(err, "billing run")
	}
	if r.State != RunRunning {
		return nil
	}
	month, _ := time.Parse("2006-01", r.Month)
	d, err := s.load(ctx, month)
	if err != nil {
		return err
	}
	todo := d.accounts
	if r.cursor != "" {
		i := sort.Search(len(todo), func(i int) bool { return todo[i].ID > r.cursor })
		todo = todo[i:]
	}
	// Each chunk first claims its place: it moves the cursor on from where
	// this execution found it. Another execution of the same run (a retry
	// beside a slow first attempt) waits for that row and then finds the
	// cursor moved, so it stops instead of billing the chunk twice.
	cursor := r.cursor
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return err // stopped (SIGTERM, shutdown): the next execution resumes at the cursor
		}
		chunk := todo[:min(max(s.ChunkSize, 1), len(todo))]
		todo = todo[len(chunk):]
		next := chunk[len(chunk)-1].ID
		overtaken := false
		if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE billing_runs SET cursor = $1, updated_at = $2 WHERE id = $3 AND cursor = $4 AND state = 'running'`,
				next, sqldb.Time(s.now()), runID, cursor)
			if err != nil {
				return sqldb.Err(err, "billing run")
			}
			if n, _ := res.RowsAffected(); n == 0 {
				overtaken = true
				return nil
			}
			docs, lines, err := s.billChunk(ctx, tx, d, runID, chunk)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE billing_runs SET accounts_done = accounts_done + $1, documents = documents + $2, lines = lines + $3,
				error = '' WHERE id = $4`, len(chunk), docs, lines, runID)
			return sqldb.Err(err, "billing run")
		}); err != nil {
			return err
		}
		if overtaken {
			return nil // another execution has this run in hand
		}
		cursor = next
	}
	now := sqldb.Time(s.now())
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE billing_runs SET state = 'completed', finished_at = $1, updated_at = $1 WHERE id = $2 AND state = 'running'`, now, runID)
		if err != nil {
			return sqldb.Err(err, "billing run")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // completed by another execution
		}
		return s.audit(ctx, tx, access.System(), audit.Entry{Action: "billing_run.complete", ObjectType: "billing_run", ObjectID: runID,
			After: map[string]any{"month": r.Month}})
	})
}

// load reads what the run needs in a fixed number of queries.
func (s *Service) load(ctx context.Context, month time.Time) (*runData, error) {
	db := s.db.Read()
	d := &runData{month: month, now: s.now().UTC(), owner: map[string]string{}, segs: map[string][]*segment{}, instSegs: map[string][]*segment{},
		usage: map[usageAt]usageFact{}, billed: map[string][]*billed{}}
	var err error
	if d.accounts, err = queryAccounts(ctx, db, ``); err != nil {
		return nil, err
	}
	if len(d.accounts) == 0 {
		return d, nil
	}
	// Each org unit is billed to the nearest account on its path.
	byUnit := map[string]*Account{}
	for _, a := range d.accounts {
		byUnit[a.OrgUnitID] = a
	}
	units, err := sqldb.QueryAll(ctx, db, "org units", func(row sqldb.Scanner) ([2]string, error) {
		var u [2]string
		return u, row.Scan(&u[0], &u[1])
	}, `SELECT id, path FROM org_units`)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		id, path := u[0], u[1]
		parts := strings.Split(strings.Trim(path, "/"), "/")
		for i := len(parts) - 1; i >= 0; i-- {
			if a := byUnit[parts[i]]; a != nil {
				d.owner[id] = a.ID
				break
			}
		}
	}
	credits, err := pendingCredits(ctx, db)
	if err != nil {
		return nil, err
	}
	d.credits = map[string][]*Credit{}
	for _, c := range credits {
		if acct := d.owner[c.OrgUnitID]; acct != "" {
			d.credits[acct] = append(d.credits[acct], c)
		}
	}
	from, to := d.accounts[0].Period(month)
	for _, a := range d.accounts {
		ps, pe := a.Period(month)
		from, to = minTime(from, ps), maxTime(to, pe)
	}
	// Segments overlapping any account's period.
	segs, err := sqldb.QueryAll(ctx, db, "instance segments", scanSegment, `SELECT g.instance_id, n.name, n.service_id, s.name, n.offering_id, f.name, g.plan_id, p.name, g.seq, g.price_version_id,
			g.cost_centre_id, g.quantity, g.addons, g.started_at, g.ended_at
		FROM instance_segments g JOIN instances n ON n.id = g.instance_id JOIN services s ON s.id = n.service_id
		JOIN offerings f ON f.id = n.offering_id JOIN plans p ON p.id = g.plan_id
		WHERE g.started_at < $2 AND (g.ended_at IS NULL OR g.ended_at > $1) ORDER BY g.instance_id, g.seq`, sqldb.Time(from), sqldb.Time(to))
	if err != nil {
		return nil, err
	}
	versionIDs := map[string]bool{}
	for _, g := range segs {
		g.account = d.owner[g.costCentre]
		d.instSegs[g.instanceID] = append(d.instSegs[g.instanceID], g)
		if g.account != "" {
			d.segs[g.account] = append(d.segs[g.account], g)
			versionIDs[g.versionID] = true
		}
	}
	// What finalised documents of the two periods before charged for usage:
	// late events since then are billed as the difference.
	type billedLine struct {
		*billed
		kind LineKind
	}
	billedLines, err := sqldb.QueryAll(ctx, db, "billed usage", func(row sqldb.Scanner) (billedLine, error) {
		b := billedLine{billed: &billed{}}
		var qty string
		if err := row.Scan(&b.accountID, &b.key, &b.instanceID, &b.serviceID, &b.offeringID, &b.planID, &b.versionID, &b.component, &b.meter, &b.description,
			&b.w.start, &b.w.end, &qty, &b.amount, &b.kind, &b.costCentre); err != nil {
			return b, err
		}
		b.w.start, b.w.end = b.w.start.UTC(), b.w.end.UTC()
		if b.qty, _ = new(big.Rat).SetString(qty); b.qty == nil {
			b.qty = new(big.Rat)
		}
		return b, nil
	}, `SELECT d.account_id, l.usage_key, COALESCE(l.instance_id, ''), COALESCE(l.service_id, ''), COALESCE(l.offering_id, ''),
			COALESCE(l.plan_id, ''), COALESCE(l.price_version_id, ''), l.component, l.meter, l.description, l.period_start, l.period_end, l.quantity, l.amount_minor, l.kind,
			COALESCE(l.cost_centre_id, '')
		FROM billing_lines l JOIN billing_documents d ON d.id = l.document_id
		WHERE l.usage_key <> '' AND d.state IN ('finalised', 'paid') AND d.kind <> 'credit_note' AND l.period_start >= $1 AND l.period_start < $2
		ORDER BY l.usage_key, d.period_start`, sqldb.Time(from.AddDate(0, -2, 0)), sqldb.Time(to))
	if err != nil {
		return nil, err
	}
	byKey := map[string]*billed{}
	for _, b := range billedLines {
		if prev := byKey[b.key]; prev != nil {
			prev.qty.Add(prev.qty, b.qty)
			prev.amount += b.amount
			continue
		}
		if b.kind != LineUsage {
			continue // a late line without its usage line is outside the look-back
		}
		byKey[b.key] = b.billed
		d.billed[b.accountID] = append(d.billed[b.accountID], b.billed)
		versionIDs[b.versionID] = true
	}
	ids := make([]string, 0, len(versionIDs))
	for id := range versionIDs {
		ids = append(ids, id)
	}
	if d.versions, err = rating.GetMany(ctx, db, ids); err != nil {
		return nil, err
	}
	meters, err := s.metering.Meters(ctx, access.System())
	if err != nil {
		return nil, err
	}
	d.meters = map[string]*metering.Meter{}
	for _, m := range meters {
		d.meters[m.Code] = m
	}
	// The usage to read: per billing window and meter, every subject at once.
	need := map[window]map[string]bool{}
	want := func(w window, meter string) {
		if need[w] == nil {
			need[w] = map[string]bool{}
		}
		need[w][meter] = true
	}
	for _, a := range d.accounts {
		for _, u := range accountUsage(d, a) {
			if v := d.versions[u.last.versionID]; v != nil && u.w.start.Before(u.w.end) {
				for _, c := range v.Components {
					if c.Kind.Usage() {
						want(u.w, c.Meter)
					}
				}
			}
		}
		for _, b := range d.billed[a.ID] {
			want(b.w, b.meter)
		}
	}
	for w, ms := range need {
		for code := range ms {
			if d.meters[code] == nil {
				continue
			}
			u, err := s.metering.Usage(ctx, access.System(), metering.UsageQuery{Meter: code, From: w.start, To: w.end, Granularity: metering.Total})
			if err != nil {
				return nil, err
			}
			for _, row := range u.Rows {
				k := usageAt{w, code, row.Subject}
				f := d.usage[k]
				f.qty += row.Quantity
				f.events += row.Events
				d.usage[k] = f
			}
		}
	}
	return d, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// billChunk writes the documents of a chunk of accounts in the caller's
// transaction: a constant number of statements per document.
func (s *Service) billChunk(ctx context.Context, tx *sqldb.Tx, d *runData, runID string, chunk []*Account) (docs, lines int, err error) {
	ids := make([]string, len(chunk))
	for i, a := range chunk {
		ids[i] = a.ID
	}
	args := make(sqldb.Args, 0, len(chunk))
	in := sqldb.List(&args, ids)
	byID := make(map[string]*Account, len(chunk))
	for _, a := range chunk {
		byID[a.ID] = a
	}
	type existing struct {
		id    string
		state DocState
		start time.Time
	}
	type docOf struct {
		existing
		acct string
	}
	found, err := sqldb.QueryAll(ctx, tx, "billing documents", func(row sqldb.Scanner) (docOf, error) {
		var e docOf
		err := row.Scan(&e.id, &e.acct, &e.state, &e.start)
		e.start = e.start.UTC()
		return e, err
	}, `SELECT id, account_id, state, period_start FROM billing_documents
		WHERE account_id IN `+in+` AND kind <> 'credit_note' AND state <> 'void'`, args...)
	if err != nil {
		return 0, 0, err
	}
	current := map[string]existing{}
	for _, e := range found {
		if ps, _ := byID[e.acct].Period(d.month); ps.Equal(e.start) {
			current[e.acct] = e.existing
		}
	}
	// Lines people added to drafts stay.
	type lineOf struct {
		Line
		acct string
	}
	kept, err := sqldb.QueryAll(ctx, tx, "billing lines", func(row sqldb.Scanner) (lineOf, error) {
		var l lineOf
		var cur, explain string
		if err := row.Scan(&l.acct, &cur, &l.Position, &l.Kind, &l.Description, &l.InstanceID, &l.ServiceID, &l.OfferingID, &l.PlanID, &l.PriceVersionID,
			&l.Component, &l.Meter, &l.Quantity, &l.Unit, &l.UnitPrice, &l.AmountMinor, &l.PeriodStart, &l.PeriodEnd, &l.usageKey, &explain, &l.costCentre); err != nil {
			return l, err
		}
		if err := json.Unmarshal([]byte(explain), &l.Explain); err != nil {
			return l, badExplain(err, fmt.Sprintf("billing line %d", l.Position))
		}
		return l, nil
	}, `SELECT d.account_id, d.currency, `+lineColumns+` FROM billing_lines l JOIN billing_documents d ON d.id = l.document_id
		WHERE d.account_id IN `+in+` AND d.state = 'draft' AND d.kind <> 'credit_note' AND l.kind IN ('adjustment', 'credit')
			AND l.usage_key NOT LIKE 'credit:%' AND l.usage_key <> '`+carryKey+`' ORDER BY l.position`, args...)
	if err != nil {
		return 0, 0, err
	}
	manual := map[string][]Line{}
	for _, l := range kept {
		delete(l.Explain, "to_date")
		l.toDate = l.AmountMinor
		manual[l.acct] = append(manual[l.acct], l.Line)
	}
	now := sqldb.Time(s.now())
	for _, a := range chunk {
		if err := ctx.Err(); err != nil {
			return 0, 0, err // the chunk's transaction rolls back whole
		}
		e, ok := current[a.ID]
		if ok && e.state != Draft {
			continue // finalised documents never change
		}
		ls, err := rateAccount(d, a)
		if err != nil {
			return 0, 0, err
		}
		ls = append(ls, manual[a.ID]...)
		ps, pe := a.Period(d.month)
		var claimed, released []any
		var taken []*Credit
		for _, c := range d.credits[a.ID] {
			switch {
			case !c.belongsTo(pe):
				if c.DocumentID != "" && c.DocumentID == e.id {
					released = append(released, c.ID) // earned after this period: for a later one
				}
				continue
			case c.DocumentID != "" && c.DocumentID != e.id && c.belongsTo(c.onEnd):
				continue // on another period's draft, where it belongs
			case c.Currency != a.Currency:
				continue // waiting for an account in its currency
			case c.DocumentID != "" && c.DocumentID != e.id:
				taken = append(taken, c) // from an earlier period's draft, where it does not belong
			}
			claimed = append(claimed, c.ID)
			ls = append(ls, Line{Kind: LineCredit, ServiceID: c.ServiceID, costCentre: c.OrgUnitID, Description: c.Description, Quantity: "1", Unit: "credit", UnitPrice: money.New(-c.AmountMinor, a.Currency).Decimal(),
				AmountMinor: -c.AmountMinor, PeriodStart: ps, PeriodEnd: pe, usageKey: "credit:" + c.ID, Explain: c.Explain, toDate: -c.AmountMinor})
		}
		var total, toDate int64
		for i := range ls {
			total += ls[i].AmountMinor
			toDate += ls[i].toDate
		}
		if total < 0 && kindOf(a.Mode) == Invoice {
			// Credits beyond the charges carry forward: never a negative invoice.
			ls = append(ls, carryLine(total, a.Currency, ps, pe))
			total = 0
		}
		// A period in progress is billed to its end (the projection); what
		// was incurred up to now is kept beside it, per line and in all.
		var toDateCol, asOf any
		inProgress := d.now.Before(pe)
		if inProgress {
			if toDate < 0 && kindOf(a.Mode) == Invoice {
				toDate = 0
			}
			toDateCol, asOf = toDate, sqldb.Time(d.now)
		}
		for i := range ls {
			ls[i].Position = i + 1
			if inProgress && ls[i].usageKey != carryKey {
				if ls[i].Explain == nil {
					ls[i].Explain = map[string]any{}
				}
				ls[i].Explain["to_date"] = money.New(ls[i].toDate, a.Currency).Decimal()
			}
		}
		id := e.id
		if ok {
			if _, err := tx.ExecContext(ctx, `DELETE FROM billing_lines WHERE document_id = $1`, id); err != nil {
				return 0, 0, sqldb.Err(err, "billing lines")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE billing_documents SET run_id = $1, kind = $2, currency = $3, total_minor = $4, to_date_minor = $5, as_of = $6,
				updated_at = $7 WHERE id = $8`, runID, kindOf(a.Mode), a.Currency, total, toDateCol, asOf, now, id); err != nil {
				return 0, 0, sqldb.Err(err, "billing document")
			}
		} else {
			id = sqldb.NewID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO billing_documents (id, account_id, run_id, kind, state, currency, period_start, period_end, total_minor,
				paid_minor, reason, to_date_minor, as_of, created_at, updated_at) VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, 0, '', $9, $10, $11, $11)`,
				id, a.ID, runID, kindOf(a.Mode), a.Currency, ps, pe, total, toDateCol, asOf, now); err != nil {
				return 0, 0, sqldb.Err(err, "billing document")
			}
		}
		if err := insertLines(ctx, tx, id, ls); err != nil {
			return 0, 0, err
		}
		for _, c := range claimed {
			if _, err := tx.ExecContext(ctx, `UPDATE billing_credits SET document_id = $1 WHERE id = $2`, id, c); err != nil {
				return 0, 0, sqldb.Err(err, "billing credit")
			}
		}
		for _, c := range released {
			if _, err := tx.ExecContext(ctx, `UPDATE billing_credits SET document_id = NULL WHERE id = $1 AND document_id = $2`, c, id); err != nil {
				return 0, 0, sqldb.Err(err, "billing credit")
			}
		}
		for _, c := range taken {
			if err := dropCreditLine(ctx, tx, c.DocumentID, c.ID, now); err != nil {
				return 0, 0, err
			}
		}
		docs++
		lines += len(ls)
	}
	return docs, lines, nil
}

// dropCreditLine takes a credit's line off the draft that held it and
// brings the draft's total back to the sum of its lines.
func dropCreditLine(ctx context.Context, tx *sqldb.Tx, docID, creditID string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM billing_lines WHERE document_id = $1 AND usage_key = $2`, docID, "credit:"+creditID); err != nil {
		return sqldb.Err(err, "billing lines")
	}
	return settleDraft(ctx, tx, docID, now)
}

// carryLine is the line that carries credits beyond a draft invoice's
// charges (−total, total < 0) forward, so that its total is 0.
func carryLine(total int64, currency string, ps, pe time.Time) Line {
	return Line{Kind: LineAdjustment, Description: "Credit carried forward to the next invoice", Quantity: "1", Unit: "credit",
		UnitPrice: money.New(-total, currency).Decimal(), AmountMinor: -total, PeriodStart: ps, PeriodEnd: pe, usageKey: carryKey,
		Explain: map[string]any{"charges_and_credits": money.New(total, currency).Decimal(), "carried_forward": money.New(-total, currency).Decimal(),
			"rule": "credits beyond the period's charges carry forward: finalising the invoice makes them a credit waiting for the next invoice"}}
}

// settleDraft brings a draft's total back to the sum of its lines after
// a line was added or taken off, with the carried-forward line of a draft
// invoice made again: an invoice is never negative.
func settleDraft(ctx context.Context, tx *sqldb.Tx, docID string, now time.Time) error {
	var kind DocKind
	var currency string
	var ps, pe time.Time
	var toDate sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT kind, currency, period_start, period_end, to_date_minor FROM billing_documents WHERE id = $1 AND state = 'draft'`, docID).
		Scan(&kind, &currency, &ps, &pe, &toDate)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return sqldb.Err(err, "billing document")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM billing_lines WHERE document_id = $1 AND usage_key = $2`, docID, carryKey); err != nil {
		return sqldb.Err(err, "billing lines")
	}
	type part struct {
		position int
		amount   int64
		explain  string
	}
	parts, err := sqldb.QueryAll(ctx, tx, "billing lines", func(row sqldb.Scanner) (part, error) {
		var p part
		return p, row.Scan(&p.position, &p.amount, &p.explain)
	}, `SELECT position, amount_minor, explain FROM billing_lines WHERE document_id = $1`, docID)
	if err != nil {
		return err
	}
	// The total, and the costs to date of a period in progress: each line's
	// to_date (a hand-made line counts whole).
	var total, soFar int64
	var last int
	for _, p := range parts {
		total += p.amount
		last = max(last, p.position)
		var x struct {
			ToDate string `json:"to_date"`
		}
		if err := json.Unmarshal([]byte(p.explain), &x); err != nil {
			return badExplain(err, fmt.Sprintf("billing line %d", p.position))
		}
		if amt, err := money.Parse(x.ToDate, currency); x.ToDate != "" && err == nil {
			soFar += amt.Minor
		} else {
			soFar += p.amount
		}
	}
	if toDate.Valid {
		if soFar < 0 && kind == Invoice {
			soFar = 0
		}
		toDate.Int64 = soFar
	}
	if total < 0 && kind == Invoice {
		l := carryLine(total, currency, ps.UTC(), pe.UTC())
		l.Position = last + 1
		if err := insertLines(ctx, tx, docID, []Line{l}); err != nil {
			return err
		}
		total = 0
	}
	_, err = tx.ExecContext(ctx, `UPDATE billing_documents SET total_minor = $1, to_date_minor = $2, updated_at = $3 WHERE id = $4`, total, toDate, now, docID)
	return sqldb.Err(err, "billing document")
}

// insertLines writes lines with multi-row INSERTs.
func insertLines(ctx context.Context, tx *sqldb.Tx, docID string, ls []Line) error {
	return sqldb.Bulk{
		Object: "billing lines",
		Head: `INSERT INTO billing_lines (document_id, position, kind, description, instance_id, service_id, offering_id, plan_id, price_version_id,
			component, meter, quantity, unit, unit_price, amount_minor, period_start, period_end, usage_key, explain, cost_centre_id)`,
		Cols: 20, Rows: len(ls),
		Args: func(i int, args []any) []any {
			l := &ls[i]
			explain, _ := json.Marshal(l.Explain)
			if l.Explain == nil {
				explain = []byte("{}")
			}
			return append(args, docID, l.Position, l.Kind, l.Description, null(l.InstanceID), null(l.ServiceID), null(l.OfferingID), null(l.PlanID),
				null(l.PriceVersionID), l.Component, l.Meter, l.Quantity, l.Unit, l.UnitPrice, l.AmountMinor, sqldb.Time(l.PeriodStart), sqldb.Time(l.PeriodEnd),
				l.usageKey, string(explain), null(l.costCentre))
		},
	}.Insert(ctx, tx)
}

func null(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// rateAccount computes an account's lines for its period: flat fees per
// segment by their interval and timing, one-time fees when an instance
// starts, usage rated per group of consecutive segments at one price
// version (split by the hour at the boundaries), minimum top-ups per
// group, then late usage of earlier periods. Each line also says what of
// it was incurred up to the run's now (toDate), for drafts to date.
func rateAccount(d *runData, a *Account) ([]Line, error) {
	ps, pe := a.Period(d.month)
	var out []Line
	for _, g := range d.segs[a.ID] {
		ls, err := segmentFees(d, a, g)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	for _, u := range accountUsage(d, a) {
		ls, err := usageLines(d, a, u, micros(pe.Sub(ps)), d.now)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	late, err := lateUsage(d, a)
	if err != nil {
		return nil, err
	}
	for i := range late {
		late[i].toDate = late[i].AmountMinor
	}
	return append(out, late...), nil
}

// segmentFees computes a segment's fees on the account's document of the
// period: its flat fees (and add-ons') by their interval and timing, and
// its one-time fees if the instance starts in the period.
func segmentFees(d *runData, a *Account, g *segment) ([]Line, error) {
	ps, pe := a.Period(d.month)
	now := d.now
	round := func(r *big.Rat) (int64, error) {
		amt, err := rating.Round(r, a.Currency)
		return amt.Minor, err
	}
	var out []Line
	end := g.end
	if end.IsZero() || end.After(pe) {
		end = pe
	}
	start := maxTime(g.start, ps)
	if !start.Before(end) {
		return nil, nil
	}
	v, err := segmentVersion(d, a, g)
	if err != nil {
		return nil, err
	}
	base := Line{costCentre: g.costCentre, InstanceID: g.instanceID, ServiceID: g.serviceID, OfferingID: g.offeringID, PlanID: g.planID, PriceVersionID: v.ID,
		PeriodStart: start, PeriodEnd: end}
	label := fmt.Sprintf("%s %s · %s", g.offeringName, g.planName, g.instanceName)
	priceRef := map[string]any{"plan": g.planName, "offering": g.offeringName, "price_version": v.Version, "price_version_id": v.ID}
	recurring := func(c rating.Component, code, name string) error {
		parts, err := intervalFee(a, c, g.quantity, g.start, g.end, ps, pe, now, round)
		if err != nil {
			return err
		}
		for _, f := range parts {
			l := base
			l.Kind, l.Component, l.Description = LineRecurring, code, label+": "+name
			l.Quantity, l.Unit, l.UnitPrice, l.AmountMinor, l.toDate = fmt.Sprint(g.quantity), c.Interval.Unit(), c.Price, f.minor, f.toDate
			l.PeriodStart, l.PeriodEnd = f.from, f.to
			l.Explain = feeExplain(f, c, code, g.quantity, priceRef)
			if f.credit {
				l.Description += fmt.Sprintf(" (unused from %s, billed in advance)", f.from.Format("2 Jan 2006"))
			}
			out = append(out, l)
		}
		return nil
	}
	oneTime := func(code, name, price string) error {
		amt, err := round(rating.Prorate(price, g.quantity, 1, 1))
		if err != nil {
			return err
		}
		l := base
		l.Kind, l.Component, l.Description = LineOneTime, code, label+": "+name
		l.Quantity, l.Unit, l.UnitPrice, l.AmountMinor, l.toDate = fmt.Sprint(g.quantity), "unit", price, amt, amt
		l.Explain = map[string]any{"price": priceRef, "component": code, "units": g.quantity, "unit_price": price}
		out = append(out, l)
		return nil
	}
	starts := g.seq == 1 && !g.start.Before(ps) && g.start.Before(pe)
	for _, c := range v.Components {
		var err error
		switch {
		case c.Kind == rating.Flat:
			err = recurring(c, c.Code, c.Name)
		case c.Kind == rating.OneTime && starts:
			err = oneTime(c.Code, c.Name, c.Price)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, ad := range g.addons {
		if ad.Recurring != "" && ad.Recurring != "0" {
			if err := recurring(rating.Component{Price: ad.Recurring}, "addon:"+ad.Code, ad.Name+" (add-on)"); err != nil {
				return nil, err
			}
		}
		if starts && ad.OneTime != "" && ad.OneTime != "0" {
			if err := oneTime("addon:"+ad.Code, ad.Name+" (add-on)", ad.OneTime); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// feeExplain says how a flat fee's line was reached: the price, the
// interval and timing, and the proration.
func feeExplain(f feePart, c rating.Component, code string, units int64, priceRef map[string]any) map[string]any {
	interval, timing := c.Interval, c.Timing
	if interval == "" {
		interval = rating.Month
	}
	if timing == "" {
		timing = rating.Arrears
	}
	proration := map[string]any{"from": f.from, "to": f.to, "held_seconds": ratSeconds(f.held), "period_seconds": ratSeconds(f.length),
		"fraction": big.NewRat(f.held, f.length).RatString(), "interval": interval, "interval_from": f.ivFrom, "interval_to": f.ivTo, "timing": timing}
	rule := "unit price × units × time held / length of the " + string(interval) + ", rounded once to the minor unit; billed in " + string(timing)
	if f.credit {
		rule = "billed in advance to the end of the " + string(interval) + "; the instance's segment ended sooner: the charge less the fee for the time held, each rounded once"
	}
	return map[string]any{"price": priceRef, "component": code, "units": units, "unit_price": c.Price, "proration": proration, "rule": rule}
}

// segmentVersion is a segment's price version, in the account's currency.
func segmentVersion(d *runData, a *Account, g *segment) (*rating.Version, error) {
	v := d.versions[g.versionID]
	if v == nil {
		return nil, fmt.Errorf("instance %s: price version %s is missing", g.instanceID, g.versionID)
	}
	if v.Currency != a.Currency {
		return nil, errs.Invalid("account %s bills in %s but instance %s (%s %s) is priced in %s; bill it to an account in %s or re-price the plan",
			a.Name, a.Currency, g.instanceName, g.offeringName, g.planName, v.Currency, v.Currency)
	}
	return v, nil
}

// usageGroup is the usage of an instance rated at one price version:
// consecutive segments at that version billed to one account, with the
// window of hours that is theirs and the time they held in the period.
type usageGroup struct {
	first, last *segment
	w           window
	held        int64 // microseconds held in the period, for minimums
}

// accountUsage splits the period's usage of the account's instances among
// their segments' price versions. Usage is metered by the hour: an hour
// is rated at the version in effect when it starts, so the boundary
// between two versions is the segment boundary rounded up to the whole
// hour. An instance's first group starts at the period's start and its
// last ends at the period's end (usage in the hour an instance starts or
// after it ends is still its own). Consecutive segments at one version
// (a quantity change) share one group, so tiers are not restarted.
func accountUsage(d *runData, a *Account) []usageGroup {
	ps, pe := a.Period(d.month)
	var out []usageGroup
	seen := map[string]bool{}
	for _, s := range d.segs[a.ID] {
		if seen[s.instanceID] {
			continue
		}
		seen[s.instanceID] = true
		var groups []usageGroup
		for _, g := range d.instSegs[s.instanceID] {
			end := g.end
			if end.IsZero() || end.After(pe) {
				end = pe
			}
			start := maxTime(g.start, ps)
			if !start.Before(end) {
				continue
			}
			held := micros(end.Sub(start))
			if n := len(groups); n > 0 && groups[n-1].last.versionID == g.versionID && groups[n-1].last.account == g.account {
				groups[n-1].last = g
				groups[n-1].held += held
				continue
			}
			groups = append(groups, usageGroup{first: g, last: g, held: held})
		}
		for i := range groups {
			groups[i].w = window{ps, pe}
			if i > 0 {
				groups[i].w.start = ceilHour(groups[i].first.start)
			}
			if i+1 < len(groups) {
				groups[i].w.end = ceilHour(groups[i+1].first.start)
			}
			if groups[i].last.account == a.ID {
				out = append(out, groups[i])
			}
		}
	}
	return out
}

func ceilHour(t time.Time) time.Time {
	if h := t.Truncate(time.Hour); h.Before(t) {
		return h.Add(time.Hour)
	}
	return t
}

// usageLines rates a usage group: its usage components over its window
// at its version, and the minimum, prorated over the time the group held,
// topped up when the usage charges fall short.
func usageLines(d *runData, a *Account, u usageGroup, periodLen int64, now time.Time) ([]Line, error) {
	g := u.last
	v, err := segmentVersion(d, a, g)
	if err != nil {
		return nil, err
	}
	var out []Line
	ps, _ := a.Period(d.month)
	base := Line{costCentre: g.costCentre, InstanceID: g.instanceID, ServiceID: g.serviceID, OfferingID: g.offeringID, PlanID: g.planID, PriceVersionID: v.ID,
		PeriodStart: u.w.start, PeriodEnd: u.w.end}
	label := fmt.Sprintf("%s %s · %s", g.offeringName, g.planName, g.instanceName)
	priceRef := map[string]any{"plan": g.planName, "offering": g.offeringName, "price_version": v.Version, "price_version_id": v.ID}
	var usageTotal int64
	if u.w.start.Before(u.w.end) {
		for _, c := range v.Components {
			if !c.Kind.Usage() {
				continue
			}
			f := d.usage[usageAt{u.w, c.Meter, g.instanceID}]
			if f.qty == 0 {
				continue
			}
			l, err := usageLine(d, base, c, f, u.w, label, priceRef, a.Currency)
			if err != nil {
				return nil, err
			}
			l.usageKey = g.instanceID + "|" + c.Code + "|" + u.w.start.Format(time.RFC3339)
			l.toDate = l.AmountMinor // the usage so far
			usageTotal += l.AmountMinor
			out = append(out, l)
		}
	}
	for _, c := range v.Components {
		if c.Kind != rating.Minimum {
			continue
		}
		floor, err := rating.Round(rating.Prorate(c.Price, 1, u.held, periodLen), a.Currency)
		if err != nil {
			return nil, err
		}
		if usageTotal >= floor.Minor {
			continue
		}
		from := maxTime(u.first.start, ps)
		to := from.Add(time.Duration(u.held) * time.Microsecond)
		l := base
		l.PeriodStart, l.PeriodEnd = from, to
		l.Kind, l.Component, l.Description = LineMinimum, c.Code, label+": "+c.Name+" (minimum commitment top-up)"
		l.Quantity, l.Unit, l.UnitPrice, l.AmountMinor = "1", "commitment", c.Price, floor.Minor-usageTotal
		if cut := minTime(to, now); cut.After(from) {
			soFar, err := rating.Round(rating.Prorate(c.Price, 1, min(micros(cut.Sub(from)), u.held), periodLen), a.Currency)
			if err != nil {
				return nil, err
			}
			l.toDate = max(soFar.Minor-usageTotal, 0)
		}
		l.Explain = map[string]any{"price": priceRef, "component": c.Code, "minimum": floor.Decimal(), "usage_charged": money.New(usageTotal, a.Currency).Decimal(),
			"proration": map[string]any{"from": from, "to": to, "held_seconds": ratSeconds(u.held), "period_seconds": ratSeconds(periodLen),
				"fraction": big.NewRat(u.held, periodLen).RatString()},
			"rule": "minimum (prorated over the time held at this price version) less the usage charges of that time"}
		out = append(out, l)
	}
	return out, nil
}

func ratSeconds(micros int64) string {
	return big.NewRat(micros, 1_000_000).FloatString(0)
}

// usageLine rates one usage component's quantity.
func usageLine(d *runData, base Line, c rating.Component, f usageFact, w window, label string, priceRef map[string]any, currency string) (Line, error) {
	qty := f.qty.Rat()
	ch := rating.RateUsage(c, qty)
	amt, err := rating.Round(ch.Exact, currency)
	if err != nil {
		return Line{}, err
	}
	unit := ""
	if m := d.meters[c.Meter]; m != nil {
		unit = m.Unit
	}
	l := base
	l.PeriodStart, l.PeriodEnd = w.start, w.end
	l.Kind, l.Component, l.Meter, l.Description = LineUsage, c.Code, c.Meter, label+": "+c.Name
	l.Quantity, l.Unit, l.UnitPrice, l.AmountMinor = f.qty.String(), unit, c.Describe(unit), amt.Minor
	explain := map[string]any{"price": priceRef, "component": c.Code, "kind": c.Kind, "rate": c.Describe(unit),
		"exact": ch.Exact.FloatString(9), "rule": "rated exactly, rounded once to the minor unit",
		"usage": map[string]any{"meter": c.Meter, "subject": base.InstanceID, "from": w.start, "to": w.end, "quantity": f.qty.String(), "events": f.events,
			"source": "hourly rollups of meter " + c.Meter + " for the subject over the period",
			"query":  fmt.Sprintf("/api/v1/usage?meter=%s&subject=%s&from=%s&to=%s&granularity=day", c.Meter, base.InstanceID, w.start.Format(time.RFC3339), w.end.Format(time.RFC3339))}}
	if len(ch.Tiers) > 0 {
		explain["tiers"] = ch.Tiers
	}
	if ch.Packages > 0 {
		explain["packages"] = ch.Packages
	}
	l.Explain = explain
	return l, nil
}

// lateUsage finds usage that arrived after its period's document was
// finalised and bills the difference it makes, once.
func lateUsage(d *runData, a *Account) ([]Line, error) {
	ps, _ := a.Period(d.month)
	var out []Line
	for _, b := range d.billed[a.ID] {
		if !b.w.start.Before(ps) {
			continue
		}
		v := d.versions[b.versionID]
		if v == nil {
			continue
		}
		c := v.Component(b.component)
		if c == nil {
			continue
		}
		now := d.usage[usageAt{b.w, b.meter, b.instanceID}]
		qty := now.qty.Rat()
		if qty.Cmp(b.qty) == 0 {
			continue
		}
		rated, err := rating.Round(rating.RateUsage(*c, qty).Exact, a.Currency)
		if err != nil {
			return nil, err
		}
		delta := new(big.Rat).Sub(qty, b.qty)
		unit := ""
		if m := d.meters[b.meter]; m != nil {
			unit = m.Unit
		}
		out = append(out, Line{Kind: LineLateUsage, costCentre: b.costCentre, InstanceID: b.instanceID, ServiceID: b.serviceID, OfferingID: b.offeringID, PlanID: b.planID,
			PriceVersionID: b.versionID, Component: b.component, Meter: b.meter, PeriodStart: b.w.start, PeriodEnd: b.w.end,
			Description: fmt.Sprintf("Late usage for %s to %s: %s", b.w.start.Format("2 Jan 2006"), b.w.end.Format("2 Jan 2006"), b.description),
			Quantity:    delta.FloatString(6), Unit: unit, UnitPrice: c.Describe(unit), AmountMinor: rated.Minor - b.amount, usageKey: b.key,
			Explain: map[string]any{"billed_quantity": b.qty.FloatString(6), "quantity_now": qty.FloatString(6), "billed_amount": money.New(b.amount, a.Currency).Decimal(),
				"rated_now": rated.Decimal(), "events_now": now.events, "price": map[string]any{"price_version": v.Version, "price_version_id": v.ID},
				"rule": "usage that arrived after the period's document was finalised: the period re-rated, less what was billed"}})
	}
	return out, nil
}
