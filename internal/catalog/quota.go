package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Quota caps what one org unit may hold of one offering: instances (active
// or on order) and their summed quantity. Zero means no cap on that count.
// Used counts what is active or on order; orders reserve when submitted and
// give back when rejected, cancelled, failed or deprovisioned.
type Quota struct {
	OrgUnitID     string    `json:"org_unit_id"`
	OfferingID    string    `json:"offering_id"`
	MaxInstances  int       `json:"max_instances"`
	MaxQuantity   int       `json:"max_quantity"`
	UsedInstances int       `json:"used_instances"`
	UsedQuantity  int       `json:"used_quantity"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// QuotaInput sets a quota.
type QuotaInput struct {
	OrgUnitID    string `json:"org_unit_id"`
	OfferingID   string `json:"offering_id"`
	MaxInstances int    `json:"max_instances"`
	MaxQuantity  int    `json:"max_quantity"`
}

// inFlight is the SQL of an org unit's holdings of an offering: active
// instances and provision items of orders still on their way.
const inFlight = `SELECT COUNT(*), COALESCE(SUM(q), 0) FROM (
	SELECT quantity AS q FROM instances WHERE org_unit_id = $1 AND offering_id = $2 AND state <> 'deprovisioned'
	UNION ALL
	SELECT i.quantity AS q FROM order_items i JOIN orders o ON o.id = i.order_id
	WHERE o.org_unit_id = $1 AND i.offering_id = $2 AND o.kind = 'provision' AND i.state = 'pending'
	  AND o.state IN ('submitted', 'awaiting_approval', 'approved', 'fulfilling')
) held`

// SetQuota creates or replaces a quota; its use is counted afresh from what
// the org unit holds and has on order. Callers need quota.manage on the org unit.
func (c *Catalog) SetQuota(ctx context.Context, p *access.Principal, in QuotaInput) (*Quota, error) {
	var v errs.Validator
	v.Check(in.MaxInstances >= 0, "max_instances", "range", "max_instances is 0 (no cap) or more")
	v.Check(in.MaxQuantity >= 0, "max_quantity", "range", "max_quantity is 0 (no cap) or more")
	if err := v.Err("the quota is not valid"); err != nil {
		return nil, err
	}
	var out *Quota
	err := c.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var path string
		if !sqldb.ValidID(in.OrgUnitID) || tx.QueryRowContext(ctx, `SELECT path FROM org_units WHERE id = $1`, in.OrgUnitID).Scan(&path) != nil {
			return errs.Invalid("org_unit_id must name an existing org unit")
		}
		if err := p.Require(access.QuotaManage, access.InOrgUnit(path)); err != nil {
			return err
		}
		if !exists(ctx, tx, "offerings", in.OfferingID) {
			return errs.Invalid("offering_id must name an existing offering")
		}
		q := &Quota{OrgUnitID: in.OrgUnitID, OfferingID: in.OfferingID, MaxInstances: in.MaxInstances, MaxQuantity: in.MaxQuantity, UpdatedAt: sqldb.Time(c.now())}
		if err := tx.QueryRowContext(ctx, inFlight, in.OrgUnitID, in.OfferingID).Scan(&q.UsedInstances, &q.UsedQuantity); err != nil {
			return sqldb.Err(err, "quota use")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM quotas WHERE org_unit_id = $1 AND offering_id = $2`, in.OrgUnitID, in.OfferingID); err != nil {
			return sqldb.Err(err, "quota")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO quotas (org_unit_id, offering_id, max_instances, max_quantity, used_instances, used_quantity, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, q.OrgUnitID, q.OfferingID, q.MaxInstances, q.MaxQuantity, q.UsedInstances, q.UsedQuantity, q.UpdatedAt); err != nil {
			return sqldb.Err(err, "quota")
		}
		out = q
		return c.audit(ctx, tx, p, audit.Entry{Action: "quota.set", ObjectType: "quota", ObjectID: in.OrgUnitID + "/" + in.OfferingID, After: q})
	})
	return out, err
}

// Quotas lists all the quotas of the org units the caller may read, or of
// one offering, by org unit path: for the portfolio's export; the API
// pages them with QuotaPage.
func (c *Catalog) Quotas(ctx context.Context, p *access.Principal, offeringID string) ([]*Quota, error) {
	all, paths := p.OrgUnitScope(access.OrgUnitRead)
	where, scopeArgs := sqldb.PathScope(all, paths, "ou.path", nil)
	args := sqldb.Args(scopeArgs)
	if offeringID != "" {
		where += " AND q.offering_id = " + args.Add(offeringID)
	}
	return sqldb.QueryAll(ctx, c.db.Read(), "quotas", func(row sqldb.Scanner) (*Quota, error) {
		var q Quota
		err := row.Scan(&q.OrgUnitID, &q.OfferingID, &q.MaxInstances, &q.MaxQuantity, &q.UsedInstances, &q.UsedQuantity, &q.UpdatedAt)
		q.UpdatedAt = q.UpdatedAt.UTC()
		return &q, err
	}, `SELECT q.org_unit_id, q.offering_id, q.max_instances, q.max_quantity, q.used_instances, q.used_quantity, q.updated_at
		FROM quotas q JOIN org_units ou ON ou.id = q.org_unit_id WHERE `+where+` ORDER BY ou.path, q.offering_id`, args...)
}

// QuotaFilter narrows QuotaPage and asks for one page.
type QuotaFilter struct {
	// OfferingID limits the list to one offering's quotas.
	OfferingID string
	Page       sqldb.Page
}

// quotaOrder is the quotas list's order: by org unit, then offering (the
// table's primary key).
var quotaOrder = sqldb.Order{Name: "quota", Columns: []string{"q.org_unit_id", "q.offering_id"}}

// QuotaPage lists one page of the quotas of the org units where the caller
// has org_unit.read, by org unit and offering; the scope is in the query.
// Errors: invalid for a bad cursor.
func (c *Catalog) QuotaPage(ctx context.Context, p *access.Principal, f QuotaFilter) (sqldb.Paged[*Quota], error) {
	all, paths := p.OrgUnitScope(access.OrgUnitRead)
	where, scopeArgs := sqldb.PathScope(all, paths, "ou.path", nil)
	args := sqldb.Args(scopeArgs)
	if f.OfferingID != "" {
		where += " AND q.offering_id = " + args.Add(f.OfferingID)
	}
	var unit, offering string
	seek, err := quotaOrder.Seek(&args, f.Page, &unit, &offering)
	if err != nil {
		return sqldb.Paged[*Quota]{}, err
	}
	rows, err := sqldb.QueryAll(ctx, c.db.Read(), "quotas", scanQuota, `SELECT q.org_unit_id, q.offering_id, q.max_instances, q.max_quantity, q.used_instances, q.used_quantity, q.updated_at
		FROM quotas q JOIN org_units ou ON ou.id = q.org_unit_id WHERE `+where+` AND `+seek+quotaOrder.By()+quotaOrder.Limit(&args, f.Page), args...)
	if err != nil {
		return sqldb.Paged[*Quota]{}, err
	}
	return sqldb.PageOf(rows, f.Page, quotaOrder, func(q *Quota) []any { return []any{q.OrgUnitID, q.OfferingID} }), nil
}

func scanQuota(row sqldb.Scanner) (*Quota, error) {
	var q Quota
	err := row.Scan(&q.OrgUnitID, &q.OfferingID, &q.MaxInstances, &q.MaxQuantity, &q.UsedInstances, &q.UsedQuantity, &q.UpdatedAt)
	q.UpdatedAt = q.UpdatedAt.UTC()
	return &q, err
}

// Reserve takes instances and quantity of an offering for an org unit
// against its quota, inside the caller's transaction. One conditional
// UPDATE does it, so concurrent orders on either database never exceed the
// quota. Without a quota it does nothing. Errors: conflict when the quota
// would be exceeded.
func Reserve(ctx context.Context, tx *sqldb.Tx, orgUnitID, offeringID string, instances, quantity int) error {
	res, err := tx.ExecContext(ctx, `UPDATE quotas SET used_instances = used_instances + $1, used_quantity = used_quantity + $2
		WHERE org_unit_id = $3 AND offering_id = $4
		  AND (max_instances = 0 OR used_instances + $1 <= max_instances)
		  AND (max_quantity = 0 OR used_quantity + $2 <= max_quantity)`, instances, quantity, orgUnitID, offeringID)
	if err != nil {
		return sqldb.Err(err, "quota")
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var q Quota
	err = tx.QueryRowContext(ctx, `SELECT max_instances, max_quantity, used_instances, used_quantity FROM quotas WHERE org_unit_id = $1 AND offering_id = $2`,
		orgUnitID, offeringID).Scan(&q.MaxInstances, &q.MaxQuantity, &q.UsedInstances, &q.UsedQuantity)
	if errors.Is(err, sql.ErrNoRows) { // no quota: nothing to exceed
		return nil
	}
	if err != nil {
		return sqldb.Err(err, "quota")
	}
	return errs.Conflict("this would exceed the org unit's quota for the offering: at most %s; %d instances (quantity %d) are already held or on order. Ask a portfolio or financial manager to raise the quota",
		quotaLimits(q), q.UsedInstances, q.UsedQuantity)
}

func quotaLimits(q Quota) string {
	switch {
	case q.MaxInstances > 0 && q.MaxQuantity > 0:
		return fmt.Sprintf("%d instances and a total quantity of %d", q.MaxInstances, q.MaxQuantity)
	case q.MaxInstances > 0:
		return fmt.Sprintf("%d instances", q.MaxInstances)
	}
	return fmt.Sprintf("a total quantity of %d", q.MaxQuantity)
}

// Release gives back what Reserve took, inside the caller's transaction.
func Release(ctx context.Context, tx *sqldb.Tx, orgUnitID, offeringID string, instances, quantity int) error {
	_, err := tx.ExecContext(ctx, `UPDATE quotas SET used_instances = used_instances - $1, used_quantity = used_quantity - $2
		WHERE org_unit_id = $3 AND offering_id = $4`, instances, quantity, orgUnitID, offeringID)
	return sqldb.Err(err, "quota")
}

// OfferingForOrder returns an offering as the orders domain needs it,
// in its transaction (or on the read pool), checking that the principal may see it.
func (c *Catalog) OfferingForOrder(ctx context.Context, q sqldb.Querier, p *access.Principal, ref string) (*Offering, error) {
	return visibleOffering(ctx, q, p, ref)
}
