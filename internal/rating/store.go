package rating

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Version is one price version of a catalog plan.
type Version struct {
	ID            string      `json:"id"`
	PlanID        string      `json:"plan_id"`
	Version       int         `json:"version"`
	EffectiveFrom time.Time   `json:"effective_from"`
	Currency      string      `json:"currency"`
	Components    []Component `json:"components"`
	Note          string      `json:"note,omitempty"`
	CreatedBy     string      `json:"created_by"`
	CreatedAt     time.Time   `json:"created_at"`
}

// Component returns the version's component with the code, or nil.
func (v *Version) Component(code string) *Component {
	for i := range v.Components {
		if v.Components[i].Code == code {
			return &v.Components[i]
		}
	}
	return nil
}

// ListPrice is the version's base fee (per its interval: RecurringInterval)
// and setup fee per unit: the catalog plan's recurring and one-time price.
// Every other component is among the plan's prices, never in these:
// counting it here too would make a catalog save bill it twice.
func (v *Version) ListPrice() (recurring, oneTime money.Amount) {
	fee := func(code string, kind Kind) money.Amount {
		if c := v.Component(code); c != nil && c.Kind == kind {
			if a, err := Round(Prorate(c.Price, 1, 1, 1), v.Currency); err == nil { // validated when written
				return a
			}
		}
		return money.New(0, v.Currency)
	}
	return fee(BaseCode, Flat), fee(SetupCode, OneTime)
}

// RecurringInterval is the billing interval and timing of the version's
// base fee (the catalog plan's recurring price): month in arrears unless
// the version says otherwise.
func (v *Version) RecurringInterval() (Interval, Timing) {
	iv, tm := Month, Arrears
	if c := v.Component(BaseCode); c != nil {
		if c.Interval != "" {
			iv = c.Interval
		}
		if c.Timing != "" {
			tm = c.Timing
		}
	}
	return iv, tm
}

// Service keeps price versions.
type Service struct {
	db  *sqldb.DB
	now func() time.Time
}

// New returns the rating service.
func New(db *sqldb.DB, now func() time.Time) *Service { return &Service{db: db, now: now} }

const versionColumns = `id, plan_id, version, effective_from, currency, components, note, created_by, created_at`

func scanVersion(row sqldb.Scanner) (*Version, error) {
	var v Version
	var comps string
	if err := row.Scan(&v.ID, &v.PlanID, &v.Version, &v.EffectiveFrom, &v.Currency, &comps, &v.Note, &v.CreatedBy, &v.CreatedAt); err != nil {
		return nil, err
	}
	v.EffectiveFrom, v.CreatedAt = v.EffectiveFrom.UTC(), v.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(comps), &v.Components); err != nil {
		return nil, err
	}
	return &v, nil
}

// Current returns the plan's version in effect at t: the highest version
// whose effective_from is not after t.
func Current(ctx context.Context, q sqldb.Querier, planID string, at time.Time) (*Version, error) {
	v, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM price_versions
		WHERE plan_id = $1 AND effective_from <= $2 ORDER BY version DESC LIMIT 1`, planID, sqldb.Time(at)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("the plan has no price in effect at %s; ask its service owner to price it", at.UTC().Format(time.RFC3339))
	}
	return v, sqldb.Err(err, "price version")
}

// Get returns a version by ID.
func Get(ctx context.Context, q sqldb.Querier, id string) (*Version, error) {
	v, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM price_versions WHERE id = $1`, id))
	return v, sqldb.Err(err, "price version")
}

// GetMany returns versions by ID in one query.
func GetMany(ctx context.Context, q sqldb.Querier, ids []string) (map[string]*Version, error) {
	out := map[string]*Version{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		var args sqldb.Args
		vs, err := sqldb.QueryAll(ctx, q, "price versions", scanVersion, `SELECT `+versionColumns+` FROM price_versions WHERE `+sqldb.In(&args, "id", chunk), args...)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			out[v.ID] = v
		}
	}
	return out, nil
}

// planRef is a plan with what pricing it needs.
type planRef struct {
	ID, Code, OfferingCode, ServiceID, Currency string
}

// plan finds a plan by ID or "offering-code/plan-code".
func plan(ctx context.Context, q sqldb.Querier, ref string) (*planRef, error) {
	var p planRef
	err := q.QueryRowContext(ctx, `SELECT p.id, p.code, o.code, o.service_id, p.currency FROM plans p JOIN offerings o ON o.id = p.offering_id
		WHERE p.id = $1 OR (o.code || '/' || p.code) = $1`, ref).Scan(&p.ID, &p.Code, &p.OfferingCode, &p.ServiceID, &p.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("there is no plan %q; name it by ID or as offering-code/plan-code", ref)
	}
	return &p, sqldb.Err(err, "plan")
}

// versionOrder is the order of Versions: newest first.
var versionOrder = sqldb.Order{Name: "version", Columns: []string{"version"}, Desc: true}

// Versions lists one page of a plan's price versions, newest first.
// Anyone who may read the catalog may read prices. Returns not_found if
// there is no such plan, invalid for a cursor not of this list.
func (s *Service) Versions(ctx context.Context, p *access.Principal, planRef string, page sqldb.Page) (sqldb.Paged[*Version], error) {
	if err := p.RequireAnywhere(access.CatalogRead); err != nil {
		return sqldb.Paged[*Version]{}, err
	}
	pl, err := plan(ctx, s.db.Read(), planRef)
	if err != nil {
		return sqldb.Paged[*Version]{}, err
	}
	args := sqldb.Args{pl.ID}
	var after int
	seek, err := versionOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*Version]{}, err
	}
	vs, err := sqldb.QueryAll(ctx, s.db.Read(), "price versions", scanVersion, `SELECT `+versionColumns+` FROM price_versions WHERE plan_id = $1 AND `+seek+
		versionOrder.By()+versionOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Version]{}, err
	}
	return sqldb.PageOf(vs, page, versionOrder, func(v *Version) []any { return []any{v.Version} }), nil
}

// VersionInput is a new price version.
type VersionInput struct {
	// EffectiveFrom is when the version starts to apply to new orders;
	// zero means now. It may not be in the past.
	EffectiveFrom time.Time   `json:"effective_from"`
	Components    []Component `json:"components"`
	Note          string      `json:"note"`
}

// MeterCodes lists the meters that exist.
func MeterCodes(ctx context.Context, q sqldb.Querier) (map[string]bool, error) {
	codes, err := sqldb.QueryAll(ctx, q, "meters", func(row sqldb.Scanner) (string, error) {
		var c string
		return c, row.Scan(&c)
	}, `SELECT code FROM meters`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(codes))
	for _, c := range codes {
		out[c] = true
	}
	return out, nil
}

// AddVersion writes a new price version of a plan. Callers need
// price.manage on the plan's service (its owner) or globally (a financial
// manager). Instances keep the version they were quoted at; the new one
// applies to orders quoted from its effective time.
func (s *Service) AddVersion(ctx context.Context, p *access.Principal, planRef string, in VersionInput) (*Version, error) {
	var out *Version
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		pl, err := plan(ctx, tx, planRef)
		if err != nil {
			return err
		}
		if err := p.Require(access.PriceManage, access.Resource{ServiceID: pl.ServiceID}); err != nil {
			return err
		}
		now := sqldb.Time(s.now())
		if in.EffectiveFrom.IsZero() {
			in.EffectiveFrom = now
		}
		var v errs.Validator
		v.Check(!in.EffectiveFrom.Before(now.Add(-time.Minute)), "effective_from", "range", "effective_from may not be in the past: a price that was in effect cannot change")
		v.Check(len(in.Note) <= 500, "note", "length", "note must be at most 500 characters")
		meters, err := MeterCodes(ctx, tx)
		if err != nil {
			return err
		}
		Validate(&v, "components", pl.Currency, in.Components, meters)
		if err := v.Err("the price version is not valid"); err != nil {
			return err
		}
		out, err = Write(ctx, tx, p, pl.ID, pl.Currency, in.Components, in.EffectiveFrom, in.Note, now)
		return err
	})
	return out, err
}

// Write stores the next version of a plan and, when it is in effect now,
// the plan's list price. The caller has checked authorisation and input.
func Write(ctx context.Context, tx *sqldb.Tx, p *access.Principal, planID, currency string, cs []Component, from time.Time, note string, now time.Time) (*Version, error) {
	if cs == nil {
		cs = []Component{}
	}
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM price_versions WHERE plan_id = $1`, planID).Scan(&next); err != nil {
		return nil, sqldb.Err(err, "price version")
	}
	v := &Version{ID: sqldb.NewID(), PlanID: planID, Version: next, EffectiveFrom: sqldb.Time(from), Currency: currency, Components: cs,
		Note: note, CreatedBy: p.Name, CreatedAt: sqldb.Time(now)}
	b, _ := json.Marshal(cs)
	if _, err := tx.ExecContext(ctx, `INSERT INTO price_versions (`+versionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		v.ID, v.PlanID, v.Version, v.EffectiveFrom, v.Currency, string(b), v.Note, v.CreatedBy, v.CreatedAt); err != nil {
		return nil, sqldb.Err(err, "price version")
	}
	if !v.EffectiveFrom.After(now) {
		rec, one := v.ListPrice()
		if _, err := tx.ExecContext(ctx, `UPDATE plans SET recurring_minor = $1, one_time_minor = $2, price_version_id = $3 WHERE id = $4`, rec.Minor, one.Minor, v.ID, planID); err != nil {
			return nil, sqldb.Err(err, "plan")
		}
	}
	return v, audit.Write(ctx, tx, p, now, audit.Entry{Action: "price_version.create", ObjectType: "plan", ObjectID: planID, After: v})
}

// SyncCatalog makes the plan's price follow what the catalog says of it:
// the base flat fee and setup fee from the plan's recurring and one-time
// prices, and, when extra is not nil, every other component. A new
// version is written, in effect now, only when something changed.
func SyncCatalog(ctx context.Context, tx *sqldb.Tx, p *access.Principal, planID, currency string, recurring, oneTime money.Amount, extra []Component, now time.Time) error {
	cur, err := Current(ctx, tx, planID, now)
	if err != nil && !errs.Is(err, errs.CodeNotFound) {
		return err
	}
	var cs []Component
	if recurring.Minor > 0 {
		base := Component{Code: BaseCode, Name: "Monthly fee", Kind: Flat, Price: recurring.Decimal()}
		if cur != nil {
			if c := cur.Component(BaseCode); c != nil && c.Kind == Flat {
				// The catalog says the fee; its interval stays the version's.
				base.Name, base.Interval, base.Timing = c.Name, c.Interval, c.Timing
			}
		}
		cs = append(cs, base)
	}
	if oneTime.Minor > 0 {
		cs = append(cs, Component{Code: SetupCode, Name: "Setup fee", Kind: OneTime, Price: oneTime.Decimal()})
	}
	if extra == nil && cur != nil {
		for _, c := range cur.Components {
			if c.Code != BaseCode && c.Code != SetupCode {
				cs = append(cs, c)
			}
		}
	}
	for _, c := range extra {
		if c.Code != BaseCode && c.Code != SetupCode {
			cs = append(cs, c)
		}
	}
	if cs == nil {
		cs = []Component{}
	}
	if cur != nil && cur.Currency == currency && reflect.DeepEqual(cur.Components, cs) {
		return nil
	}
	_, err = Write(ctx, tx, p, planID, currency, cs, now, "from the catalog", now)
	return err
}

// ActivateListPrices sets each plan's list price from the version in
// effect now: versions written for the future become the catalog's price
// when their time comes. It returns how many plans changed, and an
// internal error if a version's stored components do not decode.
func (s *Service) ActivateListPrices(ctx context.Context) (int, error) {
	now := sqldb.Time(s.now())
	type change struct {
		id, version string
		rec, once   int64
	}
	// A version whose stored components do not decode is an error: its
	// plan would otherwise keep an old list price without a word.
	all, err := sqldb.QueryAll(ctx, s.db.Read(), "plans", func(row sqldb.Scanner) (*change, error) {
		var id, was, vid, cur string
		var comps sqldb.JSON[[]Component]
		if err := row.Scan(&id, &was, &vid, &comps, &cur); err != nil {
			return nil, fmt.Errorf("price version %s of plan %s: %w", vid, id, err)
		}
		if was == vid {
			return nil, nil
		}
		r, o := (&Version{Currency: cur, Components: comps.V}).ListPrice()
		return &change{id, vid, r.Minor, o.Minor}, nil
	}, `SELECT p.id, COALESCE(p.price_version_id, ''), v.id, v.components, v.currency FROM plans p
		JOIN price_versions v ON v.plan_id = p.id AND v.version = (SELECT MAX(w.version) FROM price_versions w WHERE w.plan_id = p.id AND w.effective_from <= $1)`, now)
	if err != nil {
		return 0, err
	}
	var changes []change
	for _, c := range all {
		if c != nil {
			changes = append(changes, *c)
		}
	}
	if len(changes) == 0 {
		return 0, nil
	}
	return len(changes), s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `UPDATE plans SET recurring_minor = $1, one_time_minor = $2, price_version_id = $3 WHERE id = $4`, c.rec, c.once, c.version, c.id); err != nil {
				return sqldb.Err(err, "plan")
			}
		}
		return nil
	})
}

// Backfill gives every plan without a price version its first one, from
// its list price (for databases created before price versions).
func (s *Service) Backfill(ctx context.Context) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		type pl struct {
			id, cur   string
			rec, once int64
			at        time.Time
		}
		todo, err := sqldb.QueryAll(ctx, tx, "plans", func(row sqldb.Scanner) (pl, error) {
			var x pl
			return x, row.Scan(&x.id, &x.cur, &x.rec, &x.once, &x.at)
		}, `SELECT id, currency, recurring_minor, one_time_minor, created_at FROM plans p
			WHERE NOT EXISTS (SELECT 1 FROM price_versions v WHERE v.plan_id = p.id)`)
		if err != nil {
			return err
		}
		for _, x := range todo {
			if err := SyncCatalog(ctx, tx, access.System(), x.id, x.cur, money.New(x.rec, x.cur), money.New(x.once, x.cur), nil, x.at); err != nil {
				return err
			}
		}
		return nil
	})
}
