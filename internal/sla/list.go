package sla

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The lists of service level management page by keyset (issue 18):
// agreements by code; breaches by window, newest first; outages and
// incidents newest first. Each filter and the caller's scope are part of
// the query, never applied after its limit.

// visibleAgreements is the condition that the agreement (its ID in col)
// is one p may read: every agreement for provider-wide readers, otherwise
// the SLAs made with an org unit under one of p's grants.
func visibleAgreements(p *access.Principal, args *sqldb.Args, col string) string {
	all, paths := p.OrgUnitScope(access.AgreementRead)
	if all {
		return "1 = 1"
	}
	cond, a := sqldb.PathScope(false, paths, "x.path", *args)
	*args = a
	return "EXISTS (SELECT 1 FROM agreement_scope x WHERE x.agreement_id = " + col + " AND x.kind = 'org_unit' AND " + cond + ")"
}

// coversService is the condition that the agreement (its ID in col)
// covers the service named by code or ID.
func coversService(args *sqldb.Args, col, service string) string {
	ref := args.Add(strings.TrimSpace(service))
	return "EXISTS (SELECT 1 FROM agreement_scope x JOIN services sv ON sv.id = x.ref_id WHERE x.agreement_id = " + col +
		" AND x.kind = 'service' AND (sv.id = " + ref + " OR sv.code = " + ref + "))"
}

// madeWith is the condition that the agreement (its ID in col) is made
// with the org unit named by code or ID, or with one under it.
func madeWith(args *sqldb.Args, col, orgUnit string) string {
	ref := args.Add(strings.TrimSpace(orgUnit))
	return "EXISTS (SELECT 1 FROM agreement_scope x JOIN org_units ou ON x.path LIKE ou.path || '%' WHERE x.agreement_id = " + col +
		" AND x.kind = 'org_unit' AND (ou.id = " + ref + " OR ou.code = " + ref + "))"
}

// AgreementFilter narrows the agreement list and asks for one page of it.
type AgreementFilter struct {
	State   State  // draft, active or retired; "" for all
	Kind    Kind   // sla, ola or uc; "" for all
	Service string // code or ID: the agreements that cover it
	OrgUnit string // code or ID: the agreements made with it or an org unit under it
	Page    sqldb.Page
}

// Validate checks the filter's state and kind.
func (f *AgreementFilter) Validate() error {
	var v errs.Validator
	v.Check(f.State == "" || slices.Contains(States, f.State), "state", "enum", "state is one of draft, active and retired")
	v.Check(f.Kind == "" || slices.Contains(Kinds, f.Kind), "kind", "enum", "kind is one of sla, ola and uc")
	return v.Err("the agreement filter is not valid")
}

var agreementOrder = sqldb.Order{Name: "agreements", Columns: []string{"a.code"}}

// ListAgreements returns a page of the agreements the caller may read, by
// code, with each one's standing. Callers need agreement.read somewhere
// (forbidden otherwise); a filter that is not valid is invalid.
func (s *Service) ListAgreements(ctx context.Context, p *access.Principal, f AgreementFilter) (sqldb.Paged[*Compliance], error) {
	var none sqldb.Paged[*Compliance]
	if err := p.RequireAnywhere(access.AgreementRead); err != nil {
		return none, err
	}
	if err := f.Validate(); err != nil {
		return none, err
	}
	var args sqldb.Args
	var code string
	seek, err := agreementOrder.Seek(&args, f.Page, &code)
	if err != nil {
		return none, err
	}
	where := []string{seek, visibleAgreements(p, &args, "a.id")}
	if f.State != "" {
		where = append(where, "a.state = "+args.Add(f.State))
	}
	if f.Kind != "" {
		where = append(where, "a.kind = "+args.Add(f.Kind))
	}
	if f.Service != "" {
		where = append(where, coversService(&args, "a.id", f.Service))
	}
	if f.OrgUnit != "" {
		where = append(where, madeWith(&args, "a.id", f.OrgUnit))
	}
	as, err := sqldb.QueryAll(ctx, s.db.Read(), "agreements", scanAgreement, `SELECT `+qualified("a.", agreementColumns)+` FROM agreements a WHERE `+
		strings.Join(where, " AND ")+agreementOrder.By()+agreementOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return none, err
	}
	pg := sqldb.PageOf(as, f.Page, agreementOrder, func(a *Agreement) []any { return []any{a.Code} })
	cs, err := s.complianceOf(ctx, pg.Items)
	return sqldb.Paged[*Compliance]{Items: cs, Next: pg.Next}, err
}

// qualified prefixes each of the comma-separated columns.
func qualified(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// BreachFilter narrows the breach list and asks for one page of it.
type BreachFilter struct {
	Agreement string // ID or code
	State     string // open, closed or withdrawn; "" for all
	Service   string // code or ID: breaches of agreements that cover it
	OrgUnit   string // code or ID: breaches of agreements made with it or under it
	// From and To keep the breaches whose window overlaps [From, To)
	// (zero: unbounded).
	From, To time.Time
	Page     sqldb.Page
}

// Validate checks the filter's state and period.
func (f *BreachFilter) Validate() error {
	var v errs.Validator
	v.Check(f.State == "" || slices.Contains([]string{"open", "closed", "withdrawn"}, f.State), "state", "enum", "state is one of open, closed and withdrawn")
	v.Check(f.From.IsZero() || f.To.IsZero() || f.From.Before(f.To), "to", "range", "to must be after from")
	return v.Err("the breach filter is not valid")
}

var breachOrder = sqldb.Order{Name: "breaches", Columns: []string{"b.window_start", "b.id"}, Desc: true}

// Breaches returns a page of the breaches of agreements the caller may
// read, the latest window first. Callers need agreement.read somewhere
// (forbidden otherwise); a filter that is not valid is invalid.
func (s *Service) Breaches(ctx context.Context, p *access.Principal, f BreachFilter) (sqldb.Paged[*Breach], error) {
	var none sqldb.Paged[*Breach]
	if err := p.RequireAnywhere(access.AgreementRead); err != nil {
		return none, err
	}
	if err := f.Validate(); err != nil {
		return none, err
	}
	var args sqldb.Args
	var start time.Time
	var id string
	seek, err := breachOrder.Seek(&args, f.Page, &start, &id)
	if err != nil {
		return none, err
	}
	where := []string{seek, visibleAgreements(p, &args, "b.agreement_id")}
	if f.Agreement != "" {
		ref := args.Add(strings.TrimSpace(f.Agreement))
		where = append(where, "(a.id = "+ref+" OR a.code = "+ref+")")
	}
	if f.State != "" {
		where = append(where, "b.state = "+args.Add(f.State))
	}
	if f.Service != "" {
		where = append(where, coversService(&args, "b.agreement_id", f.Service))
	}
	if f.OrgUnit != "" {
		where = append(where, madeWith(&args, "b.agreement_id", f.OrgUnit))
	}
	if !f.From.IsZero() {
		where = append(where, "b.window_end > "+args.Add(sqldb.Time(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "b.window_start < "+args.Add(sqldb.Time(f.To)))
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "sla breaches", scanBreach, `SELECT `+breachColumns+` FROM sla_breaches b JOIN agreements a ON a.id = b.agreement_id
		WHERE `+strings.Join(where, " AND ")+breachOrder.By()+breachOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, f.Page, breachOrder, func(b *Breach) []any { return []any{b.WindowStart, b.ID} }), nil
}

// OutageFilter narrows the outage list and asks for one page of it.
type OutageFilter struct {
	Service string // code or ID
	// From and To keep the outages overlapping [From, To) (zero: unbounded).
	From, To time.Time
	// State is ongoing (not ended) or ended; "" for both.
	State string
	Page  sqldb.Page
}

// Validate checks the filter's state and period.
func (f *OutageFilter) Validate() error {
	var v errs.Validator
	v.Check(f.State == "" || f.State == "ongoing" || f.State == "ended", "state", "enum", "state is ongoing or ended")
	v.Check(f.From.IsZero() || f.To.IsZero() || f.From.Before(f.To), "to", "range", "to must be after from")
	return v.Err("the outage filter is not valid")
}

var outageOrder = sqldb.Order{Name: "outages", Columns: []string{"o.started_at", "o.id"}, Desc: true}

// Outages returns a page of outages, the latest start first. Callers need
// agreement.read provider-wide or outage.record (forbidden otherwise); a
// filter that is not valid is invalid.
func (s *Service) Outages(ctx context.Context, p *access.Principal, f OutageFilter) (sqldb.Paged[*Outage], error) {
	var none sqldb.Paged[*Outage]
	if !MayReadOutages(p) {
		return none, access.Forbidden(access.AgreementRead)
	}
	if err := f.Validate(); err != nil {
		return none, err
	}
	var args sqldb.Args
	var start time.Time
	var id string
	seek, err := outageOrder.Seek(&args, f.Page, &start, &id)
	if err != nil {
		return none, err
	}
	where := []string{seek}
	if f.Service != "" {
		svc := args.Add(strings.TrimSpace(f.Service))
		where = append(where, "(s.id = "+svc+" OR s.code = "+svc+")")
	}
	if !f.From.IsZero() {
		where = append(where, "(o.ended_at IS NULL OR o.ended_at > "+args.Add(sqldb.Time(f.From))+")")
	}
	if !f.To.IsZero() {
		where = append(where, "o.started_at < "+args.Add(sqldb.Time(f.To)))
	}
	switch f.State {
	case "ongoing":
		where = append(where, "o.ended_at IS NULL")
	case "ended":
		where = append(where, "o.ended_at IS NOT NULL")
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "outages", scanOutage, `SELECT `+outageColumns+outageFrom+` WHERE `+strings.Join(where, " AND ")+
		outageOrder.By()+outageOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, f.Page, outageOrder, func(o *Outage) []any { return []any{o.Started, o.ID} }), nil
}

// IncidentFilter narrows the incident list and asks for one page of it.
type IncidentFilter struct {
	Service  string // code or ID
	Priority int    // 1 to 4; 0 for all
	// State is open (not resolved) or resolved; "" for both.
	State string
	// From and To keep the incidents opened in [From, To) (zero: unbounded).
	From, To time.Time
	Page     sqldb.Page
}

// Validate checks the filter's priority, state and period.
func (f *IncidentFilter) Validate() error {
	var v errs.Validator
	v.Check(f.Priority >= 0 && f.Priority <= 4, "priority", "range", "priority is 1 to 4")
	v.Check(f.State == "" || f.State == "open" || f.State == "resolved", "state", "enum", "state is open or resolved")
	v.Check(f.From.IsZero() || f.To.IsZero() || f.From.Before(f.To), "to", "range", "to must be after from")
	return v.Err("the incident filter is not valid")
}

var incidentOrder = sqldb.Order{Name: "incidents", Columns: []string{"i.opened_at", "i.id"}, Desc: true}

// Incidents returns a page of incidents, the latest opened first. Callers
// need agreement.read provider-wide or outage.record (forbidden
// otherwise); a filter that is not valid is invalid.
func (s *Service) Incidents(ctx context.Context, p *access.Principal, f IncidentFilter) (sqldb.Paged[*Incident], error) {
	var none sqldb.Paged[*Incident]
	if !MayReadOutages(p) {
		return none, access.Forbidden(access.AgreementRead)
	}
	if err := f.Validate(); err != nil {
		return none, err
	}
	var args sqldb.Args
	var opened time.Time
	var id string
	seek, err := incidentOrder.Seek(&args, f.Page, &opened, &id)
	if err != nil {
		return none, err
	}
	where := []string{seek}
	if f.Service != "" {
		svc := args.Add(strings.TrimSpace(f.Service))
		where = append(where, "(s.id = "+svc+" OR s.code = "+svc+")")
	}
	if f.Priority != 0 {
		where = append(where, "i.priority = "+args.Add(f.Priority))
	}
	switch f.State {
	case "open":
		where = append(where, "i.resolved_at IS NULL")
	case "resolved":
		where = append(where, "i.resolved_at IS NOT NULL")
	}
	if !f.From.IsZero() {
		where = append(where, "i.opened_at >= "+args.Add(sqldb.Time(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "i.opened_at < "+args.Add(sqldb.Time(f.To)))
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "incidents", scanIncident, `SELECT `+incidentColumns+incidentFrom+` AND i.requester_id IS NULL AND `+strings.Join(where, " AND ")+incidentOrder.By()+incidentOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, f.Page, incidentOrder, func(i *Incident) []any { return []any{i.OpenedAt, i.ID} }), nil
}

// storeScopeRows writes the rows of agreement_scope for the agreement:
// its services and its org units with their paths.
func storeScopeRows(ctx context.Context, tx *sqldb.Tx, id string, sc Scope) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM agreement_scope WHERE agreement_id = $1`, id); err != nil {
		return sqldb.Err(err, "agreement scope")
	}
	type row struct{ kind, ref, path string }
	var rows []row
	seen := map[[2]string]bool{}
	add := func(kind string, refs []Ref) {
		for _, r := range refs {
			if r.ID == "" || seen[[2]string{kind, r.ID}] {
				continue
			}
			seen[[2]string{kind, r.ID}] = true
			rows = append(rows, row{kind, r.ID, r.path})
		}
	}
	add("service", sc.Services)
	add("org_unit", sc.OrgUnits)
	return sqldb.Bulk{Object: "agreement scope", Head: `INSERT INTO agreement_scope (agreement_id, kind, ref_id, path)`, Cols: 4, Rows: len(rows),
		Args: func(i int, args []any) []any { return append(args, id, rows[i].kind, rows[i].ref, rows[i].path) }}.Insert(ctx, tx)
}
