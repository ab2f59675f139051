package identity

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// OrgUnitKind is what an org unit is in the customer organisation.
type OrgUnitKind string

// The org unit kinds.
const (
	OrgUnitBusinessUnit     OrgUnitKind = "business_unit"
	OrgUnitDepartment       OrgUnitKind = "department"
	OrgUnitCostCentre       OrgUnitKind = "cost_centre"
	OrgUnitGeography        OrgUnitKind = "geography"
	OrgUnitExternalCustomer OrgUnitKind = "external_customer"
)

// OrgUnitKinds lists every kind.
var OrgUnitKinds = []OrgUnitKind{OrgUnitBusinessUnit, OrgUnitDepartment, OrgUnitCostCentre, OrgUnitGeography, OrgUnitExternalCustomer}

// Valid reports whether k is a known kind.
func (k OrgUnitKind) Valid() bool {
	for _, x := range OrgUnitKinds {
		if k == x {
			return true
		}
	}
	return false
}

// OrgUnit is a node of the customer tree.
type OrgUnit struct {
	ID       string      `json:"id"`
	ParentID string      `json:"parent_id,omitempty"`
	Kind     OrgUnitKind `json:"kind"`
	// Code is a short stable identifier, such as a cost centre number.
	Code string `json:"code"`
	Name string `json:"name"`
	// Path is the materialised path of IDs from the root: "/a/b/".
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Resource is the org unit as an access resource.
func (o *OrgUnit) Resource() access.Resource { return access.InOrgUnit(o.Path) }

// Depth is the number of ancestors.
func (o *OrgUnit) Depth() int { return strings.Count(o.Path, "/") - 2 }

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateOrgUnitInput is a new org unit.
type CreateOrgUnitInput struct {
	ParentID string      `json:"parent_id"`
	Kind     OrgUnitKind `json:"kind"`
	Code     string      `json:"code"`
	Name     string      `json:"name"`
}

// Validate checks the input's fields.
func (in *CreateOrgUnitInput) Validate() error {
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	var v errs.Validator
	validateOrgUnitFields(&v, in.Kind, in.Code, in.Name)
	v.Check(in.ParentID == "" || sqldb.ValidID(in.ParentID), "parent_id", "format", "parent_id must be an org unit ID")
	return v.Err("the org unit is not valid")
}

func validateOrgUnitFields(v *errs.Validator, kind OrgUnitKind, code, name string) {
	v.Check(kind.Valid(), "kind", "enum", "kind must be one of business_unit, department, cost_centre, geography, external_customer")
	v.Check(codePattern.MatchString(code), "code", "pattern", "code must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	v.Check(name != "" && len(name) <= 200, "name", "length", "name is required and must be at most 200 characters")
}

// UpdateOrgUnitInput changes an org unit; nil fields stay as they are.
// Changing ParentID moves the unit with its whole subtree.
type UpdateOrgUnitInput struct {
	ParentID *string      `json:"parent_id"`
	Kind     *OrgUnitKind `json:"kind"`
	Code     *string      `json:"code"`
	Name     *string      `json:"name"`
}

const orgUnitColumns = `id, COALESCE(parent_id, ''), kind, code, name, path, created_at, updated_at`

func scanOrgUnit(row sqldb.Scanner) (*OrgUnit, error) {
	var o OrgUnit
	if err := row.Scan(&o.ID, &o.ParentID, &o.Kind, &o.Code, &o.Name, &o.Path, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return &o, nil
}

func getOrgUnit(ctx context.Context, q sqldb.Querier, id string) (*OrgUnit, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("org unit %q not found", id)
	}
	o, err := scanOrgUnit(q.QueryRowContext(ctx, `SELECT `+orgUnitColumns+` FROM org_units WHERE id = $1`, id))
	if err != nil {
		return nil, sqldb.Err(err, "org unit")
	}
	return o, nil
}

// OrgUnit returns one org unit. Callers need org_unit.read on it.
func (s *Service) OrgUnit(ctx context.Context, p *access.Principal, id string) (*OrgUnit, error) {
	o, err := getOrgUnit(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	if !p.Can(access.OrgUnitRead, o.Resource()) {
		// Not found rather than forbidden: do not confirm that it exists.
		return nil, errs.NotFound("org unit %q not found", id)
	}
	return o, nil
}

// OrgUnits returns the org units the caller may read, in tree order (parents
// before children, siblings by name).
func (s *Service) OrgUnits(ctx context.Context, p *access.Principal) ([]*OrgUnit, error) {
	if p == nil {
		return nil, access.Forbidden(access.OrgUnitRead)
	}
	where, args := scopeWhere(p, access.OrgUnitRead, "path", nil)
	all, err := sqldb.QueryAll(ctx, s.db.Read(), "org units", scanOrgUnit, `SELECT `+orgUnitColumns+` FROM org_units WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return treeOrder(all), nil
}

// orgUnitOrder lists org units by path: each parent before its children.
var orgUnitOrder = sqldb.Order{Name: "org_units", Columns: []string{"path"}}

// OrgUnitFilter narrows a page of org units.
type OrgUnitFilter struct {
	// Under lists only this org unit and those below it.
	Under string
	// Query matches the code or name, case-insensitively.
	Query string
	Page  sqldb.Page
}

// OrgUnitPage lists one page of the org units the caller may read, each
// parent before its children (siblings in the order they were made).
func (s *Service) OrgUnitPage(ctx context.Context, p *access.Principal, f OrgUnitFilter) (sqldb.Paged[*OrgUnit], error) {
	var none sqldb.Paged[*OrgUnit]
	if p == nil {
		return none, access.Forbidden(access.OrgUnitRead)
	}
	where, scopeArgs := scopeWhere(p, access.OrgUnitRead, "path", nil)
	args := sqldb.Args(scopeArgs)
	if f.Under != "" {
		where += " AND path LIKE " + args.Add("%/"+f.Under+"/%")
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		like := args.Add("%" + q + "%")
		where += " AND (LOWER(name) LIKE " + like + " OR LOWER(code) LIKE " + like + ")"
	}
	var path string
	seek, err := orgUnitOrder.Seek(&args, f.Page, &path)
	if err != nil {
		return none, err
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "org units", scanOrgUnit, `SELECT `+orgUnitColumns+` FROM org_units WHERE `+where+
		` AND `+seek+orgUnitOrder.By()+orgUnitOrder.Limit(&args, f.Page), args...)
	return sqldb.PageOf(rows, f.Page, orgUnitOrder, func(o *OrgUnit) []any { return []any{o.Path} }), err
}

// scopeWhere builds the SQL condition restricting pathCol to the org units
// the principal reaches with the action. It appends to args and returns them.
func scopeWhere(p *access.Principal, a access.Action, pathCol string, args []any) (string, []any) {
	all, paths := p.OrgUnitScope(a)
	return sqldb.PathScope(all, paths, pathCol, args)
}

// treeOrder sorts units depth-first with siblings by name. Units whose parent
// is not in the list (the caller sees a subtree) are roots.
func treeOrder(units []*OrgUnit) []*OrgUnit {
	byParent := map[string][]*OrgUnit{}
	present := map[string]bool{}
	for _, o := range units {
		present[o.ID] = true
	}
	var roots []*OrgUnit
	for _, o := range units {
		if o.ParentID == "" || !present[o.ParentID] {
			roots = append(roots, o)
		} else {
			byParent[o.ParentID] = append(byParent[o.ParentID], o)
		}
	}
	out := make([]*OrgUnit, 0, len(units))
	var walk func([]*OrgUnit)
	walk = func(level []*OrgUnit) {
		sortByName(level)
		for _, o := range level {
			out = append(out, o)
			walk(byParent[o.ID])
		}
	}
	walk(roots)
	return out
}

func sortByName(units []*OrgUnit) {
	slices.SortFunc(units, func(a, b *OrgUnit) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
}

// CreateOrgUnit adds an org unit. Callers need org_unit.manage on the
// parent, or globally for a root unit. Returns invalid for bad input and
// conflict when the code is taken.
func (s *Service) CreateOrgUnit(ctx context.Context, p *access.Principal, in CreateOrgUnitInput) (*OrgUnit, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *OrgUnit
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Time(s.now())
		o := &OrgUnit{ID: sqldb.NewID(), ParentID: in.ParentID, Kind: in.Kind, Code: in.Code, Name: in.Name, CreatedAt: now, UpdatedAt: now}
		o.Path = "/" + o.ID + "/"
		scope := access.Resource{}
		if in.ParentID != "" {
			parent, err := getOrgUnit(ctx, tx, in.ParentID)
			if err != nil {
				return errs.Invalid("parent_id %q is not an existing org unit", in.ParentID)
			}
			o.Path = parent.Path + o.ID + "/"
			scope = parent.Resource()
		}
		if err := p.Require(access.OrgUnitManage, scope); err != nil {
			return err
		}
		if err := codeFree(ctx, tx, o.Code, ""); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			o.ID, nullString(o.ParentID), o.Kind, o.Code, o.Name, o.Path, o.CreatedAt, o.UpdatedAt)
		if err != nil {
			return sqldb.Err(err, "org unit")
		}
		out = o
		return s.audit(ctx, tx, p, audit.Entry{Action: "org_unit.create", ObjectType: "org_unit", ObjectID: o.ID, After: o})
	})
	return out, err
}

func codeFree(ctx context.Context, tx *sqldb.Tx, code, exceptID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM org_units WHERE code = $1 AND id <> $2`, code, exceptID).Scan(&n); err != nil {
		return sqldb.Err(err, "org unit")
	}
	if n > 0 {
		return &errs.Error{Code: errs.CodeConflict, Message: fmt.Sprintf("the code %q is already used by another org unit; choose another", code),
			Fields: []errs.FieldError{{Field: "code", Rule: "unique", Message: "code is already in use"}}}
	}
	return nil
}

// UpdateOrgUnit changes an org unit. Callers need org_unit.manage on it and,
// when moving it, on the new parent. Moving a unit under itself is invalid.
func (s *Service) UpdateOrgUnit(ctx context.Context, p *access.Principal, id string, in UpdateOrgUnitInput) (*OrgUnit, error) {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	var out *OrgUnit
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getOrgUnit(ctx, tx, id)
		if err != nil {
			return err
		}
		if !p.Can(access.OrgUnitRead, before.Resource()) {
			return errs.NotFound("org unit %q not found", id)
		}
		if err := p.Require(access.OrgUnitManage, before.Resource()); err != nil {
			return err
		}
		o := *before
		if in.Kind != nil {
			o.Kind = *in.Kind
		}
		if in.Code != nil {
			o.Code = strings.TrimSpace(*in.Code)
		}
		if in.Name != nil {
			o.Name = strings.TrimSpace(*in.Name)
		}
		var v errs.Validator
		validateOrgUnitFields(&v, o.Kind, o.Code, o.Name)
		if err := v.Err("the org unit is not valid"); err != nil {
			return err
		}
		if err := codeFree(ctx, tx, o.Code, o.ID); err != nil {
			return err
		}
		o.UpdatedAt = sqldb.Time(s.now())
		if in.ParentID != nil && *in.ParentID != before.ParentID {
			if err := s.move(ctx, tx, p, &o, *in.ParentID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE org_units SET kind = $1, code = $2, name = $3, parent_id = $4, updated_at = $5 WHERE id = $6`,
			o.Kind, o.Code, o.Name, nullString(o.ParentID), o.UpdatedAt, o.ID)
		if err != nil {
			return sqldb.Err(err, "org unit")
		}
		out = &o
		return s.audit(ctx, tx, p, audit.Entry{Action: "org_unit.update", ObjectType: "org_unit", ObjectID: o.ID, Before: before, After: o})
	})
	return out, err
}

// move re-parents o and rewrites the paths of its subtree.
func (s *Service) move(ctx context.Context, tx *sqldb.Tx, p *access.Principal, o *OrgUnit, parentID string) error {
	newPath := "/" + o.ID + "/"
	scope := access.Resource{}
	if parentID != "" {
		parent, err := getOrgUnit(ctx, tx, parentID)
		if err != nil {
			return errs.Invalid("parent_id %q is not an existing org unit", parentID)
		}
		if strings.HasPrefix(parent.Path, o.Path) {
			return &errs.Error{Code: errs.CodeInvalid, Message: "an org unit cannot move under itself or one of its descendants",
				Fields: []errs.FieldError{{Field: "parent_id", Rule: "acyclic", Message: "choose a parent outside this unit's subtree"}}}
		}
		newPath = parent.Path + o.ID + "/"
		scope = parent.Resource()
	}
	if err := p.Require(access.OrgUnitManage, scope); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE org_units SET path = $1 || substr(path, $2) WHERE path LIKE $3`,
		newPath, len(o.Path)+1, o.Path+"%")
	if err != nil {
		return sqldb.Err(err, "org unit")
	}
	o.ParentID, o.Path = parentID, newPath
	return nil
}

// DeleteOrgUnit removes an org unit that has no children, users or grants.
// Callers need org_unit.manage on it.
func (s *Service) DeleteOrgUnit(ctx context.Context, p *access.Principal, id string) error {
	defer s.tokens.forget() // the change reaches cached tokens once it is made
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		o, err := getOrgUnit(ctx, tx, id)
		if err != nil {
			return err
		}
		if !p.Can(access.OrgUnitRead, o.Resource()) {
			return errs.NotFound("org unit %q not found", id)
		}
		if err := p.Require(access.OrgUnitManage, o.Resource()); err != nil {
			return err
		}
		var children, users, grants int
		err = tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM org_units WHERE parent_id = $1),
			(SELECT COUNT(*) FROM users WHERE org_unit_id = $1),
			(SELECT COUNT(*) FROM grants WHERE scope_kind = 'org_unit' AND scope_id = $1) +
			(SELECT COUNT(*) FROM group_grants WHERE scope_kind = 'org_unit' AND scope_id = $1)`, id).Scan(&children, &users, &grants)
		if err != nil {
			return sqldb.Err(err, "org unit")
		}
		if children+users+grants > 0 {
			return errs.Conflict("org unit %q still has %d child units, %d users and %d role grants; move or remove them first", o.Name, children, users, grants)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM org_units WHERE id = $1`, id); err != nil {
			return sqldb.Err(err, "org unit")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "org_unit.delete", ObjectType: "org_unit", ObjectID: id, Before: o})
	})
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
