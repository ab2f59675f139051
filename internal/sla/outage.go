package sla

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Source is where an outage record came from.
type Source string

// The sources.
const (
	Manual       Source = "manual"
	FromIncident Source = "incident"
	Alertmanager Source = "alertmanager"
)

// Outage is a stretch of time a service or configuration item was out
// (full), partly out (partial: a share of its users or units) or slow
// (degraded). Ended is nil while it lasts. A planned outage announced
// with its calendar's notice, inside a maintenance window, is excused.
type Outage struct {
	ID          string     `json:"id"`
	Service     *Ref       `json:"service,omitempty"`
	ConfigItem  *Ref       `json:"config_item,omitempty"`
	Started     time.Time  `json:"started_at"`
	Ended       *time.Time `json:"ended_at,omitempty"`
	Impact      Impact     `json:"impact"`
	Share       int        `json:"share_percent"`
	Planned     bool       `json:"planned"`
	AnnouncedAt *time.Time `json:"announced_at,omitempty"`
	Source      Source     `json:"source"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	IncidentID  string     `json:"incident_id,omitempty"`
	Summary     string     `json:"summary"`
	RecordedBy  string     `json:"recorded_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	permille    int64
}

// Node is the outage's key on the service map.
func (o *Outage) node() string {
	if o.Service != nil {
		return "service:" + o.Service.ID
	}
	return "ci:" + o.ConfigItem.ID
}

// OutageInput records or corrects an outage. Times are RFC 3339.
type OutageInput struct {
	Service     string `json:"service"`     // code or ID
	ConfigItem  string `json:"config_item"` // code or ID, instead of a service
	Started     string `json:"started_at"`
	Ended       string `json:"ended_at"` // empty while it lasts
	Impact      Impact `json:"impact"`
	Share       int    `json:"share_percent"` // of users or units, for partial and degraded (full is 100)
	Planned     bool   `json:"planned"`
	AnnouncedAt string `json:"announced_at"` // when a planned outage was announced
	Summary     string `json:"summary"`
}

type checkedOutage struct {
	started     time.Time
	ended       *time.Time
	announcedAt *time.Time
	permille    int64
}

func parseTime(v *errs.Validator, field, s string, required bool) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		v.Check(!required, field, "required", field+" is required, RFC 3339 such as 2026-11-02T09:30:00Z")
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if !v.Check(err == nil, field, "format", field+" must be RFC 3339 with a zone, such as 2026-11-02T09:30:00Z") {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}

func (in *OutageInput) validate(now time.Time) (checkedOutage, error) {
	var c checkedOutage
	var v errs.Validator
	in.Summary = strings.TrimSpace(in.Summary)
	v.Check((in.Service == "") != (in.ConfigItem == ""), "service", "one_of", "name what was out: a service or a config_item (code or ID)")
	if in.Impact == "" {
		in.Impact = Full
	}
	v.Check(slices.Contains(Impacts, in.Impact), "impact", "enum", "impact is full, partial or degraded")
	if in.Impact == Full {
		in.Share = 100
	}
	v.Check(in.Share >= 1 && in.Share <= 100, "share_percent", "range", "share_percent is the share of users or units affected, 1–100")
	c.permille = int64(in.Share) * 10
	if s := parseTime(&v, "started_at", in.Started, true); s != nil {
		c.started = *s
		v.Check(!s.After(now.Add(time.Minute)), "started_at", "future", "started_at is in the future; record an outage once it has begun")
	}
	c.ended = parseTime(&v, "ended_at", in.Ended, false)
	if c.ended != nil {
		v.Check(c.ended.After(c.started), "ended_at", "order", "ended_at must be after started_at")
	}
	c.announcedAt = parseTime(&v, "announced_at", in.AnnouncedAt, false)
	v.Check(c.announcedAt == nil || in.Planned, "announced_at", "planned", "only a planned outage is announced: set planned or clear announced_at")
	v.Check(len(in.Summary) <= 500, "summary", "length", "summary is at most 500 characters")
	return c, v.Err("the outage is not valid")
}

const outageColumns = `o.id, COALESCE(s.id, ''), COALESCE(s.code, ''), COALESCE(s.name, ''), COALESCE(c.id, ''), COALESCE(c.code, ''), COALESCE(c.name, ''),
	o.started_at, o.ended_at, o.impact, o.share_permille, o.planned, o.announced_at, o.source, o.fingerprint, COALESCE(o.incident_id, ''), o.summary,
	o.recorded_by, o.created_at, o.updated_at`

const outageFrom = ` FROM outages o LEFT JOIN services s ON s.id = o.service_id LEFT JOIN config_items c ON c.id = o.ci_id`

func scanOutage(row sqldb.Scanner) (*Outage, error) {
	var o Outage
	var svc, ci Ref
	var ended, announced sql.NullTime
	if err := row.Scan(&o.ID, &svc.ID, &svc.Code, &svc.Name, &ci.ID, &ci.Code, &ci.Name, &o.Started, &ended, &o.Impact, &o.permille, &o.Planned, &announced,
		&o.Source, &o.Fingerprint, &o.IncidentID, &o.Summary, &o.RecordedBy, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return nil, err
	}
	if svc.ID != "" {
		o.Service = &svc
	} else {
		o.ConfigItem = &ci
	}
	o.Started, o.Ended, o.AnnouncedAt = o.Started.UTC(), sqldb.TimePtr(ended), sqldb.TimePtr(announced)
	o.Share = int(o.permille / 10)
	return &o, nil
}

// Outage returns one outage.
func (s *Service) Outage(ctx context.Context, p *access.Principal, id string) (*Outage, error) {
	if !MayReadOutages(p) {
		return nil, access.Forbidden(access.AgreementRead)
	}
	return getOutage(ctx, s.db.Read(), id)
}

func getOutage(ctx context.Context, q sqldb.Querier, id string) (*Outage, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("outage %q", id), scanOutage, `SELECT `+outageColumns+outageFrom+` WHERE o.id = $1`, id)
}

// node resolves the input's service or configuration item.
func node(ctx context.Context, q sqldb.Querier, in *OutageInput) (svc, ci sql.NullString, err error) {
	if in.Service != "" {
		var id string
		if q.QueryRowContext(ctx, `SELECT id FROM services WHERE id = $1 OR code = $1`, strings.TrimSpace(in.Service)).Scan(&id) != nil {
			return svc, ci, errs.Invalid("no service %q: name a service of the portfolio by code or ID", in.Service)
		}
		return sql.NullString{String: id, Valid: true}, ci, nil
	}
	var id string
	if q.QueryRowContext(ctx, `SELECT id FROM config_items WHERE id = $1 OR code = $1`, strings.TrimSpace(in.ConfigItem)).Scan(&id) != nil {
		return svc, ci, errs.Invalid("no configuration item %q: name one of the service map by code or ID", in.ConfigItem)
	}
	return svc, sql.NullString{String: id, Valid: true}, nil
}

// RecordOutage records an outage by hand. Callers need outage.record
// covering the outage (mayRecord): forbidden otherwise; invalid input is
// invalid.
func (s *Service) RecordOutage(ctx context.Context, p *access.Principal, in OutageInput) (*Outage, error) {
	if err := p.RequireAnywhere(access.OutageRecord); err != nil {
		return nil, err
	}
	var out *Outage
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = s.insertOutage(ctx, tx, p, in, Manual, "", "")
		return err
	})
	return out, err
}

func (s *Service) insertOutage(ctx context.Context, tx *sqldb.Tx, p *access.Principal, in OutageInput, source Source, fingerprint, incidentID string) (*Outage, error) {
	c, err := in.validate(s.now())
	if err != nil {
		return nil, err
	}
	svc, ci, err := node(ctx, tx, &in)
	if err != nil {
		return nil, err
	}
	if err := mayRecord(ctx, tx, p, svc.String, ci.String); err != nil {
		return nil, err
	}
	id, now := sqldb.NewID(), sqldb.Time(s.now())
	if _, err := tx.ExecContext(ctx, `INSERT INTO outages (id, service_id, ci_id, started_at, ended_at, impact, share_permille, planned, announced_at, source,
		fingerprint, incident_id, summary, recorded_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
		id, svc, ci, sqldb.Time(c.started), sqldb.NullTime(c.ended), in.Impact, c.permille, in.Planned, sqldb.NullTime(c.announcedAt), source, fingerprint,
		nullID(incidentID), in.Summary, p.UserID, now); err != nil {
		return nil, sqldb.Err(err, "outage")
	}
	o, err := getOutage(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, p, audit.Entry{Action: "outage.record", ObjectType: "outage", ObjectID: id, After: o}); err != nil {
		return nil, err
	}
	return o, s.changed(ctx, tx)
}

// UpdateOutage corrects an outage or ends it. Callers need outage.record
// covering the outage before and after the change (mayRecord); monitoring
// changes only the outages it recorded itself. Returns not_found for an
// unknown outage, forbidden, or invalid.
func (s *Service) UpdateOutage(ctx context.Context, p *access.Principal, id string, in OutageInput) (*Outage, error) {
	if err := p.RequireAnywhere(access.OutageRecord); err != nil {
		return nil, err
	}
	var out *Outage
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = s.updateOutageTx(ctx, tx, p, id, in)
		return err
	})
	return out, err
}

func (s *Service) updateOutageTx(ctx context.Context, tx *sqldb.Tx, p *access.Principal, id string, in OutageInput) (*Outage, error) {
	c, err := in.validate(s.now())
	if err != nil {
		return nil, err
	}
	before, err := getOutage(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if before.RecordedBy != p.UserID || (p.Limited() && before.Source != Alertmanager) {
		// Monitoring changes only what it reported itself; a token limited
		// to some roles (Alertmanager's) only what came from Alertmanager,
		// not what its owner recorded by hand.
		p = byHand(p)
		if err := p.RequireAnywhere(access.OutageRecord); err != nil {
			return nil, err
		}
	}
	if err := mayRecord(ctx, tx, p, refID(before.Service), refID(before.ConfigItem)); err != nil {
		return nil, err
	}
	svc, ci, err := node(ctx, tx, &in)
	if err != nil {
		return nil, err
	}
	if err := mayRecord(ctx, tx, p, svc.String, ci.String); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outages SET service_id = $1, ci_id = $2, started_at = $3, ended_at = $4, impact = $5, share_permille = $6,
		planned = $7, announced_at = $8, summary = $9, updated_at = $10 WHERE id = $11`, svc, ci, sqldb.Time(c.started), sqldb.NullTime(c.ended), in.Impact,
		c.permille, in.Planned, sqldb.NullTime(c.announcedAt), in.Summary, sqldb.Time(s.now()), id); err != nil {
		return nil, sqldb.Err(err, "outage")
	}
	out, err := getOutage(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, p, audit.Entry{Action: "outage.update", ObjectType: "outage", ObjectID: id, Before: before, After: out}); err != nil {
		return nil, err
	}
	return out, s.changed(ctx, tx)
}

// Input returns the outage as input, for editing.
func (o *Outage) Input() OutageInput {
	in := OutageInput{Impact: o.Impact, Share: o.Share, Planned: o.Planned, Summary: o.Summary, Started: o.Started.Format(time.RFC3339Nano)}
	if o.Service != nil {
		in.Service = o.Service.Code
	} else {
		in.ConfigItem = o.ConfigItem.Code
	}
	if o.Ended != nil {
		in.Ended = o.Ended.Format(time.RFC3339Nano)
	}
	if o.AnnouncedAt != nil {
		in.AnnouncedAt = o.AnnouncedAt.Format(time.RFC3339Nano)
	}
	return in
}

func refID(r *Ref) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// byHand is p without its monitoring grants: what it may do as a person.
// Monitoring reports outages (and ends the ones it reported); it does not
// correct outages people recorded, nor record incidents.
func byHand(p *access.Principal) *access.Principal {
	if p == nil || p.IsSystem() || !p.HasRole(access.RoleMonitoring) {
		return p
	}
	q := *p
	q.Grants = slices.DeleteFunc(slices.Clone(p.Grants), func(g access.Grant) bool { return g.Role == access.RoleMonitoring })
	return &q
}

// outOfScope is the answer to an outage or incident beyond the caller's
// scope. It names no agreement or org unit: the caller may not read them.
func outOfScope() error {
	return errs.Forbidden("you may not record or change outages and incidents here: they count against agreements beyond your scope. " +
		"It needs outage.record provider-wide, on the service, or on the org units of every agreement it counts against")
}

// mayRecord decides whether p may record or change an outage or incident
// on a service (svcID) or configuration item (ciID). Outages and incidents
// move money (breaches, rebates), and that money is the agreements' they
// count against: those covering the node's service or anything that stands
// on the node on the service map. A grant provider-wide or on the node's
// service covers them. Org-unit grants cover them when at least one
// agreement counts them and every one that does is an SLA made only with
// org units under those grants; an OLA or UC (made with no org unit) or
// another org unit's SLA needs one of the grants above.
func mayRecord(ctx context.Context, q sqldb.Querier, p *access.Principal, svcID, ciID string) error {
	if p.Can(access.OutageRecord, access.Resource{ServiceID: svcID}) {
		return nil
	}
	if all, paths := p.OrgUnitScope(access.OutageRecord); !all && len(paths) == 0 {
		return outOfScope()
	}
	m, err := catalog.LoadMap(ctx, q)
	if err != nil {
		return err
	}
	affected := map[string]bool{}
	key := "ci:" + ciID
	if svcID != "" {
		affected[svcID], key = true, "service:"+svcID
	}
	for _, d := range m.Dependents(key) {
		if d.From.Type == "service" {
			affected[d.From.ID] = true
		}
	}
	agreements, err := sqldb.QueryAll(ctx, q, "agreements", scanAgreement, `SELECT `+agreementColumns+` FROM agreements`)
	if err != nil {
		return err
	}
	counted := false
	for _, a := range agreements {
		if !slices.ContainsFunc(a.Scope.Services, func(r Ref) bool { return affected[r.ID] }) {
			continue
		}
		counted = true
		if len(a.Scope.OrgUnits) == 0 {
			return outOfScope()
		}
		for _, o := range a.Scope.OrgUnits {
			if !p.Can(access.OutageRecord, access.InOrgUnit(o.path)) {
				return outOfScope()
			}
		}
	}
	if !counted {
		return outOfScope()
	}
	return nil
}

func nullID(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Incident is the minimal incident record service levels need: which
// service, what priority, and when it was opened, first responded to and
// resolved. (The service desk grows it.)
type Incident struct {
	ID          string     `json:"id"`
	Number      int64      `json:"number"`
	Service     Ref        `json:"service"`
	Priority    int        `json:"priority"`
	Summary     string     `json:"summary"`
	OpenedAt    time.Time  `json:"opened_at"`
	RespondedAt *time.Time `json:"responded_at,omitempty"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	OutageID    string     `json:"outage_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`

	orgUnitPath string // the org unit it was raised for ("" when recorded without one)
	raised      bool   // raised on the service desk (someone's ticket), not recorded here
}

// IncidentInput records or updates an incident. With Outage set, the
// incident records the outage it caused (source incident), from when it
// was opened until it was resolved.
type IncidentInput struct {
	Service     string  `json:"service"`
	Priority    int     `json:"priority"`
	Summary     string  `json:"summary"`
	OpenedAt    string  `json:"opened_at"`
	RespondedAt string  `json:"responded_at"`
	ResolvedAt  string  `json:"resolved_at"`
	Outage      *Impact `json:"outage,omitempty"`
	Share       int     `json:"share_percent,omitempty"`
}

const incidentColumns = `i.id, i.number, s.id, s.code, s.name, i.priority, i.summary, i.opened_at, i.responded_at, i.resolved_at, COALESCE(i.outage_id, ''),
	i.created_at, i.updated_at, COALESCE(iou.path, ''), i.requester_id IS NOT NULL`

// incidentFrom reads the incidents among the tickets (the service desk's
// other kinds are not incidents): follow it with AND conditions.
const incidentFrom = ` FROM tickets i JOIN services s ON s.id = i.service_id LEFT JOIN org_units iou ON iou.id = i.org_unit_id WHERE i.kind = 'incident'`

// recordedState is the ticket state of an incident recorded with its
// times (by hand or from another service desk): resolved, in progress once
// responded to, new before.
func recordedState(responded, resolved *time.Time) string {
	switch {
	case resolved != nil:
		return "resolved"
	case responded != nil:
		return "in_progress"
	}
	return "new"
}

// InScope reports whether an incident counts for an agreement: one of its
// services, and one of its org units (or an agreement made with none, or
// an incident recorded without an org unit).
func (i *Incident) inScope(a *Agreement) bool {
	if !slices.ContainsFunc(a.Scope.Services, func(r Ref) bool { return r.ID == i.Service.ID }) {
		return false
	}
	return forOrgUnits(a, i.orgUnitPath)
}

// forOrgUnits reports whether something of the org unit at path (""
// for none) counts for the agreement: every org unit when it is made with
// none, else those under its org units.
func forOrgUnits(a *Agreement, path string) bool {
	if path == "" || len(a.Scope.OrgUnits) == 0 {
		return true
	}
	return slices.ContainsFunc(a.Scope.OrgUnits, func(r Ref) bool { return r.path != "" && strings.HasPrefix(path, r.path) })
}

func scanIncident(row sqldb.Scanner) (*Incident, error) {
	var i Incident
	var responded, resolved sql.NullTime
	if err := row.Scan(&i.ID, &i.Number, &i.Service.ID, &i.Service.Code, &i.Service.Name, &i.Priority, &i.Summary, &i.OpenedAt, &responded, &resolved,
		&i.OutageID, &i.CreatedAt, &i.UpdatedAt, &i.orgUnitPath, &i.raised); err != nil {
		return nil, err
	}
	i.OpenedAt, i.RespondedAt, i.ResolvedAt = i.OpenedAt.UTC(), sqldb.TimePtr(responded), sqldb.TimePtr(resolved)
	return &i, nil
}

// getIncident reads an incident recorded here as SLA input (by hand or
// from another service desk). The service desk's own incidents are the
// desk's to change, with its rights and its state machine: not found here.
func getIncident(ctx context.Context, q sqldb.Querier, ref string) (*Incident, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("incident %q", ref), scanIncident, `SELECT `+incidentColumns+incidentFrom+`
		AND i.requester_id IS NULL AND (i.id = $1 OR CAST(i.number AS TEXT) = $1)`, ref)
}

// SaveIncident records an incident (id empty) or updates one. Callers
// need outage.record, other than through the monitoring role, covering the
// incident's service before and after the change (mayRecord). Returns
// forbidden, not_found for an unknown incident, or invalid.
func (s *Service) SaveIncident(ctx context.Context, p *access.Principal, id string, in IncidentInput) (*Incident, error) {
	p = byHand(p)
	if err := p.RequireAnywhere(access.OutageRecord); err != nil {
		return nil, err
	}
	var v errs.Validator
	in.Summary = strings.TrimSpace(in.Summary)
	v.Check(in.Priority >= 1 && in.Priority <= 4, "priority", "range", "priority is 1 (highest) to 4")
	v.Check(in.Summary != "" && len(in.Summary) <= 500, "summary", "length", "summary is required, at most 500 characters")
	opened := parseTime(&v, "opened_at", in.OpenedAt, true)
	responded := parseTime(&v, "responded_at", in.RespondedAt, false)
	resolved := parseTime(&v, "resolved_at", in.ResolvedAt, false)
	if opened != nil {
		v.Check(responded == nil || !responded.Before(*opened), "responded_at", "order", "responded_at cannot be before opened_at")
		v.Check(resolved == nil || !resolved.Before(*opened), "resolved_at", "order", "resolved_at cannot be before opened_at")
	}
	v.Check(in.Outage == nil || slices.Contains(Impacts, *in.Outage), "outage", "enum", "outage is the impact the incident had: full, partial or degraded")
	if err := v.Err("the incident is not valid"); err != nil {
		return nil, err
	}
	if responded == nil && resolved != nil {
		responded = resolved // resolving is the first response when none was recorded
	}
	var out *Incident
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var svcID string
		if tx.QueryRowContext(ctx, `SELECT id FROM services WHERE id = $1 OR code = $1`, strings.TrimSpace(in.Service)).Scan(&svcID) != nil {
			return errs.Invalid("no service %q: name the service the incident is about by code or ID", in.Service)
		}
		if err := mayRecord(ctx, tx, p, svcID, ""); err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		var before *Incident
		if id == "" {
			var number int64
			var err error
			if number, err = tx.Next(ctx, "ticket"); err != nil {
				return err
			}
			id = sqldb.NewID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, number, kind, state, service_id, priority, summary, opened_at, responded_at, resolved_at, recorded_by,
				created_at, updated_at) VALUES ($1, $2, 'incident', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`, id, number, recordedState(responded, resolved), svcID, in.Priority, in.Summary, sqldb.Time(*opened),
				sqldb.NullTime(responded), sqldb.NullTime(resolved), p.UserID, now); err != nil {
				return sqldb.Err(err, "incident")
			}
		} else {
			var err error
			if before, err = getIncident(ctx, tx, id); err != nil {
				return err
			}
			if err := mayRecord(ctx, tx, p, before.Service.ID, ""); err != nil {
				return err
			}
			id = before.ID
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET service_id = $1, priority = $2, summary = $3, opened_at = $4, responded_at = $5, resolved_at = $6,
				updated_at = $7, state = $8 WHERE id = $9`, svcID, in.Priority, in.Summary, sqldb.Time(*opened), sqldb.NullTime(responded), sqldb.NullTime(resolved), now,
				recordedState(responded, resolved), id); err != nil {
				return sqldb.Err(err, "incident")
			}
		}
		// The outage the incident caused follows the incident's times.
		if in.Outage != nil {
			oin := OutageInput{Service: svcID, Started: opened.Format(time.RFC3339Nano), Impact: *in.Outage, Share: in.Share,
				Summary: fmt.Sprintf("Incident: %s", in.Summary)}
			if resolved != nil {
				oin.Ended = resolved.Format(time.RFC3339Nano)
			}
			var o *Outage
			var err error
			if before != nil && before.OutageID != "" {
				o, err = s.updateOutageTx(ctx, tx, p, before.OutageID, oin)
			} else {
				o, err = s.insertOutage(ctx, tx, p, oin, FromIncident, "", id)
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET outage_id = $1 WHERE id = $2`, o.ID, id); err != nil {
				return sqldb.Err(err, "incident")
			}
		}
		var err error
		if out, err = getIncident(ctx, tx, id); err != nil {
			return err
		}
		e := audit.Entry{Action: "incident.record", ObjectType: "incident", ObjectID: id, After: out}
		if before != nil {
			e.Action, e.Before = "incident.update", before
		}
		if err := s.audit(ctx, tx, p, e); err != nil {
			return err
		}
		return s.changed(ctx, tx)
	})
	return out, err
}

// IncidentOutage records the outage an incident of the service desk
// declares (source incident), or changes the one it declared (outageID),
// in the incident's transaction. Callers need outage.record covering the
// service (mayRecord).
func (s *Service) IncidentOutage(ctx context.Context, tx *sqldb.Tx, p *access.Principal, incidentID, outageID string, in OutageInput) (*Outage, error) {
	if err := p.RequireAnywhere(access.OutageRecord); err != nil {
		return nil, err
	}
	if outageID != "" {
		return s.updateOutageTx(ctx, tx, p, outageID, in)
	}
	return s.insertOutage(ctx, tx, p, in, FromIncident, "", incidentID)
}

// EndIncidentOutage ends the outage an incident declared when the incident
// is resolved, in its transaction (as the platform: resolving the incident
// is what ends it, whoever resolves it). An outage already ended stays as
// it is.
func (s *Service) EndIncidentOutage(ctx context.Context, tx *sqldb.Tx, outageID string, ended time.Time) error {
	o, err := getOutage(ctx, tx, outageID)
	if err != nil {
		return err
	}
	if o.Ended != nil {
		return nil
	}
	in := o.Input()
	in.Ended = ended.Format(time.RFC3339Nano)
	_, err = s.updateOutageTx(ctx, tx, access.System(), outageID, in)
	return err
}
