package sla

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TargetStatus is a target with its latest figures.
type TargetStatus struct {
	Target      Target  `json:"target"`
	Description string  `json:"description"`
	Current     *Result `json:"current,omitempty"`
	Previous    *Result `json:"previous,omitempty"`
}

// Breach is a target breached in a window, with its rebate.
type Breach struct {
	ID                string     `json:"id"`
	Agreement         Ref        `json:"agreement"`
	AgreementKind     Kind       `json:"agreement_kind"`
	Target            string     `json:"target"`
	TargetDescription string     `json:"target_description"`
	WindowStart       time.Time  `json:"window_start"`
	WindowEnd         time.Time  `json:"window_end"`
	State             string     `json:"state"` // open, closed, withdrawn
	Measured          string     `json:"measured"`
	ExcessMicros      int64      `json:"excess_us"`
	Excess            string     `json:"excess_hours"`
	RebateKind        string     `json:"rebate_kind,omitempty"` // credit, claim
	RebateMinor       int64      `json:"rebate_minor"`
	Rebate            string     `json:"rebate"`
	Currency          string     `json:"currency"`
	RebateDetail      string     `json:"rebate_detail,omitempty"`
	OpenedAt          time.Time  `json:"opened_at"`
	ClosedAt          *time.Time `json:"closed_at,omitempty"`
	// Credits are the rebate as it reaches invoices (SLA breaches).
	Credits []*billing.Credit `json:"credits,omitempty"`
	// Chain is who else failed under it: the OLAs and UCs beneath.
	Chain []Link `json:"chain,omitempty"`
}

// Link is one agreement under a breached one and what it breached in the
// same stretch of time: who owes whom.
type Link struct {
	Agreement Ref       `json:"agreement"`
	Kind      Kind      `json:"kind"`
	Provider  string    `json:"provider"`
	Customer  string    `json:"customer"`
	Breaches  []*Breach `json:"breaches"`
	// Owes says it in words: "Network team owes Desktop team (OLA)".
	Owes string `json:"owes"`
	// Under is the next level down (a UC under an OLA).
	Under []Link `json:"under,omitempty"`
}

// Notice is a warning raised when a target turned at risk or breached.
type Notice struct {
	ID        string    `json:"id"`
	Agreement Ref       `json:"agreement"`
	Target    string    `json:"target"`
	Status    Status    `json:"status"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// Compliance is an agreement with its targets' standing, breaches and
// notices.
type Compliance struct {
	Agreement *Agreement      `json:"agreement"`
	Status    Status          `json:"status"` // the worst current status
	ReviewDue bool            `json:"review_due"`
	Targets   []TargetStatus  `json:"targets"`
	Breaches  []*Breach       `json:"breaches"`
	Notices   []*Notice       `json:"notices"`
	Under     []*Agreement    `json:"underpinned_by"`
	Rebates   []RebateSummary `json:"rebates"`
}

// RebateSummary is a rebate rule in words.
type RebateSummary struct {
	Rule        Rebate `json:"rule"`
	Description string `json:"description"`
}

func worse(a, b Status) Status {
	order := []Status{NoData, Met, AtRisk, Breached}
	if slices.Index(order, b) > slices.Index(order, a) {
		return b
	}
	return a
}

const breachColumns = `b.id, a.id, a.code, a.name, a.kind, a.targets, b.target, b.window_start, b.window_end, b.state, b.measured, b.excess_us, b.rebate_kind,
	b.rebate_minor, b.currency, b.rebate_detail, b.opened_at, b.closed_at`

func scanBreach(row sqldb.Scanner) (*Breach, error) {
	var b Breach
	var targets sqldb.JSON[[]Target]
	var closed sql.NullTime
	if err := row.Scan(&b.ID, &b.Agreement.ID, &b.Agreement.Code, &b.Agreement.Name, &b.AgreementKind, &targets, &b.Target, &b.WindowStart, &b.WindowEnd,
		&b.State, &b.Measured, &b.ExcessMicros, &b.RebateKind, &b.RebateMinor, &b.Currency, &b.RebateDetail, &b.OpenedAt, &closed); err != nil {
		return nil, err
	}
	if t := findTarget(targets.V, b.Target); t != nil {
		b.TargetDescription = t.Describe()
	}
	b.WindowStart, b.WindowEnd, b.OpenedAt, b.ClosedAt = b.WindowStart.UTC(), b.WindowEnd.UTC(), b.OpenedAt.UTC(), sqldb.TimePtr(closed)
	b.Excess = new(big.Rat).SetFrac64(b.ExcessMicros, int64(time.Hour/time.Microsecond)).FloatString(2)
	b.Rebate = money.New(b.RebateMinor, b.Currency).Decimal()
	return &b, nil
}

// Breach returns one breach with its credits and responsibility chain.
// Callers need agreement.read on its agreement; returns not_found, the
// same for a breach they may not read as for one that does not exist.
func (s *Service) Breach(ctx context.Context, p *access.Principal, id string) (*Breach, error) {
	if err := p.RequireAnywhere(access.AgreementRead); err != nil {
		return nil, err
	}
	notFound := errs.NotFound("breach %q not found", id)
	b, err := sqldb.QueryOne(ctx, s.db.Read(), fmt.Sprintf("breach %q", id), scanBreach,
		`SELECT `+breachColumns+` FROM sla_breaches b JOIN agreements a ON a.id = b.agreement_id WHERE b.id = $1`, id)
	if err != nil {
		return nil, err
	}
	a, err := getAgreement(ctx, s.db.Read(), b.Agreement.ID)
	if errs.Is(err, errs.CodeNotFound) || err == nil && !a.visible(p) {
		return nil, notFound // naming the agreement would tell what the caller may not read
	}
	if err != nil {
		return nil, err
	}
	return b, s.fillBreach(ctx, a, b)
}

func (s *Service) fillBreach(ctx context.Context, a *Agreement, b *Breach) error {
	credits, err := billing.CreditsFor(ctx, s.db.Read(), "sla_breach", b.ID)
	if err != nil {
		return err
	}
	b.Credits = credits
	b.Chain, err = s.chain(ctx, a, b.WindowStart, b.WindowEnd, 0)
	return err
}

// chain follows an agreement's underpinning agreements and what they
// breached in windows overlapping [from, to).
func (s *Service) chain(ctx context.Context, a *Agreement, from, to time.Time, depth int) ([]Link, error) {
	if depth > 3 {
		return nil, nil
	}
	var out []Link
	for _, code := range a.UnderpinnedBy {
		u, err := getAgreement(ctx, s.db.Read(), code)
		if err != nil {
			continue // removed since: nothing to follow
		}
		l := Link{Agreement: Ref{ID: u.ID, Code: u.Code, Name: u.Name}, Kind: u.Kind, Provider: u.Provider, Customer: u.Customer, Breaches: []*Breach{}}
		l.Breaches, err = sqldb.QueryAll(ctx, s.db.Read(), "sla breaches", scanBreach, `SELECT `+breachColumns+` FROM sla_breaches b JOIN agreements a ON a.id = b.agreement_id
			WHERE b.agreement_id = $1 AND b.state <> 'withdrawn' AND b.window_start < $2 AND b.window_end > $3 ORDER BY b.window_start`, u.ID, sqldb.Time(to), sqldb.Time(from))
		if err != nil {
			return nil, err
		}
		if len(l.Breaches) > 0 {
			l.Owes = fmt.Sprintf("%s owes %s (%s)", u.Provider, u.Customer, upper(u.Kind))
			var claims int64
			for _, b := range l.Breaches {
				if b.RebateKind == "claim" {
					claims += b.RebateMinor
				}
			}
			if claims > 0 {
				l.Owes += fmt.Sprintf(": claims of %s %s", money.New(claims, u.Currency).Decimal(), u.Currency)
			}
		} else {
			l.Owes = fmt.Sprintf("%s met its targets", u.Provider)
		}
		if l.Under, err = s.chain(ctx, u, from, to, depth+1); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func upper(k Kind) string {
	return map[Kind]string{SLA: "SLA", OLA: "OLA", UC: "UC"}[k]
}

// Label names the kind for people.
func (k Kind) Label() string { return upper(k) }

func scanResult(row sqldb.Scanner) (agreement, target string, current bool, r Result, err error) {
	var cur int
	err = row.Scan(&agreement, &target, &cur, &r.WindowStart, &r.WindowEnd, &r.Final, &r.Status, &r.Measured, &r.AgreedMicros, &r.DowntimeMicros, &r.BudgetMicros,
		&r.ExcessMicros, &r.BudgetUsed, &r.Breaks, &r.Counted, &r.Within, &r.Late, &r.Running)
	r.WindowStart, r.WindowEnd = r.WindowStart.UTC(), r.WindowEnd.UTC()
	return agreement, target, cur == 1, r, err
}

const resultColumns = `target, current, window_start, window_end, final, status, measured, agreed_us, downtime_us, budget_us, excess_us, budget_used,
	breaks, counted, within_count, late_count, running_count`

// Compliance returns an agreement's standing: each target's figures in its
// current and previous window, its breaches (with credits and chain) and
// recent notices.
func (s *Service) Compliance(ctx context.Context, p *access.Principal, ref string) (*Compliance, error) {
	a, err := s.Agreement(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	return s.compliance(ctx, a)
}

func (s *Service) compliance(ctx context.Context, a *Agreement) (*Compliance, error) {
	cs, err := s.complianceOf(ctx, []*Agreement{a})
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// complianceOf builds the agreements' standing with one query each for
// their figures, breaches and notices, however many agreements there are.
func (s *Service) complianceOf(ctx context.Context, as []*Agreement) ([]*Compliance, error) {
	if len(as) == 0 {
		return []*Compliance{}, nil
	}
	db := s.db.Read()
	out := make([]*Compliance, len(as))
	byID := map[string]*Compliance{}
	byTarget := map[[2]string]*TargetStatus{}
	var ids []string
	for i, a := range as {
		c := &Compliance{Agreement: a, Status: NoData, ReviewDue: a.ReviewDue(s.now()), Targets: []TargetStatus{}, Breaches: []*Breach{},
			Notices: []*Notice{}, Under: []*Agreement{}, Rebates: []RebateSummary{}}
		for _, t := range a.Targets {
			c.Targets = append(c.Targets, TargetStatus{Target: t, Description: t.Describe()})
		}
		for j := range c.Targets {
			byTarget[[2]string{a.ID, c.Targets[j].Target.Code}] = &c.Targets[j]
		}
		for _, r := range a.Rebates {
			c.Rebates = append(c.Rebates, RebateSummary{Rule: r, Description: r.Describe(a.Currency)})
		}
		out[i], byID[a.ID] = c, c
		ids = append(ids, a.ID)
	}
	// A few agreements are named in the query; many are filtered here.
	filter := func(column string) (string, sqldb.Args) {
		if len(ids) > 500 {
			return "1 = 1", nil
		}
		var args sqldb.Args
		return sqldb.In(&args, column, ids), args
	}
	cond, args := filter("agreement_id")
	type result struct {
		agreement, target string
		current           bool
		r                 Result
	}
	results, err := sqldb.QueryAll(ctx, db, "sla results", func(row sqldb.Scanner) (result, error) {
		var x result
		var err error
		x.agreement, x.target, x.current, x.r, err = scanResult(row)
		return x, err
	}, `SELECT agreement_id, `+resultColumns+` FROM sla_results WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	for _, x := range results {
		if ts := byTarget[[2]string{x.agreement, x.target}]; ts != nil {
			if x.current {
				ts.Current = &x.r
				byID[x.agreement].Status = worse(byID[x.agreement].Status, x.r.Status)
			} else {
				ts.Previous = &x.r
			}
		}
	}
	cond, args = filter("b.agreement_id")
	breaches, err := sqldb.QueryAll(ctx, db, "sla breaches", scanBreach, `SELECT `+breachColumns+` FROM sla_breaches b JOIN agreements a ON a.id = b.agreement_id
		WHERE `+cond+` ORDER BY b.window_start DESC, b.opened_at DESC`, args...)
	if err != nil {
		return nil, err
	}
	for _, b := range breaches {
		if c := byID[b.Agreement.ID]; c != nil {
			if err := s.fillBreach(ctx, c.Agreement, b); err != nil {
				return nil, err
			}
			c.Breaches = append(c.Breaches, b)
		}
	}
	cond, args = filter("n.agreement_id")
	notices, err := sqldb.QueryAll(ctx, db, "sla notices", scanNotice, `SELECT n.id, a.id, a.code, a.name, n.target, n.status, n.message, n.created_at
		FROM sla_notices n JOIN agreements a ON a.id = n.agreement_id WHERE `+cond+` ORDER BY n.created_at DESC`, args...)
	if err != nil {
		return nil, err
	}
	for _, n := range notices {
		if c := byID[n.Agreement.ID]; c != nil && len(c.Notices) < 50 {
			c.Notices = append(c.Notices, n)
		}
	}
	under := map[string]*Agreement{}
	for _, c := range out {
		for _, code := range c.Agreement.UnderpinnedBy {
			u, ok := under[code]
			if !ok {
				u, _ = getAgreement(ctx, db, code) // removed since: nothing to show
				under[code] = u
			}
			if u != nil {
				c.Under = append(c.Under, u)
			}
		}
	}
	return out, nil
}

func scanNotice(row sqldb.Scanner) (*Notice, error) {
	var n Notice
	err := row.Scan(&n.ID, &n.Agreement.ID, &n.Agreement.Code, &n.Agreement.Name, &n.Target, &n.Status, &n.Message, &n.CreatedAt)
	return &n, err
}

// Notices are the latest warnings of the agreements the caller may read,
// newest first: targets that turned at risk or breached. The caller's
// scope is part of the query. Callers need agreement.read somewhere;
// returns forbidden otherwise.
func (s *Service) Notices(ctx context.Context, p *access.Principal, limit int) ([]*Notice, error) {
	if err := p.RequireAnywhere(access.AgreementRead); err != nil {
		return nil, err
	}
	var args sqldb.Args
	cond := visibleAgreements(p, &args, "n.agreement_id")
	return sqldb.QueryAll(ctx, s.db.Read(), "sla notices", scanNotice, `SELECT n.id, a.id, a.code, a.name, n.target, n.status, n.message, n.created_at
		FROM sla_notices n JOIN agreements a ON a.id = n.agreement_id WHERE `+cond+` ORDER BY n.created_at DESC, n.id DESC LIMIT `+args.Add(max(limit, 0)), args...)
}

// Dashboard is a page of agreements with their standing and the latest
// notices: the portal's service levels page.
type Dashboard struct {
	Agreements []*Compliance `json:"agreements"`
	Notices    []*Notice     `json:"notices"`
}
