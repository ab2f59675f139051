package desk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// A service's tickets go to its assignment group, except where the
// service has its own support for an org unit (issue 20: "routed to the
// service's assignment group, per org unit where the service has
// managers"): a route sends the tickets of that org unit, and of the org
// units under it, to another group (the plant's own IT, a country's
// desk). The deepest org unit with a route wins; without one, the
// service's group. Routes decide where a ticket goes when it is raised
// and when it is reclassified to the service; tickets already in a queue
// stay there.

// MaxRoutes bounds a service's routes.
const MaxRoutes = 500

// Route sends a service's tickets of an org unit (and those under it) to
// an assignment group.
type Route struct {
	Service   Ref       `json:"service"`
	OrgUnit   Ref       `json:"org_unit"`
	Group     Ref       `json:"group"`
	CreatedAt time.Time `json:"created_at"`

	orgUnitPath string
}

// RouteInput sends a service's tickets of an org unit to a group.
type RouteInput struct {
	// Group is the assignment group (ID or name).
	Group string `json:"group"`
}

// mayRoute reports whether p manages the service's routes: service.manage
// on it (its owner, portfolio managers).
func mayRoute(p *access.Principal, serviceID string) bool {
	return p != nil && p.Can(access.ServiceManage, access.Resource{ServiceID: serviceID})
}

// routes reads a service's routes, by org unit path (each parent before
// the org units under it).
func routes(ctx context.Context, q sqldb.Querier, serviceID string) ([]*Route, error) {
	return sqldb.QueryAll(ctx, q, "ticket routes", func(row sqldb.Scanner) (*Route, error) {
		var r Route
		err := row.Scan(&r.Service.ID, &r.Service.Code, &r.Service.Name, &r.OrgUnit.ID, &r.OrgUnit.Code, &r.OrgUnit.Name, &r.orgUnitPath,
			&r.Group.ID, &r.Group.Name, &r.CreatedAt)
		r.CreatedAt = r.CreatedAt.UTC()
		return &r, err
	}, `SELECT s.id, s.code, s.name, ou.id, ou.code, ou.name, ou.path, g.id, g.name, r.created_at
		FROM ticket_routes r JOIN services s ON s.id = r.service_id JOIN org_units ou ON ou.id = r.org_unit_id
		JOIN assignment_groups g ON g.id = r.group_id
		WHERE r.service_id = $1 ORDER BY ou.path LIMIT `+fmt.Sprint(MaxRoutes), serviceID)
}

// routeOf is the group a service's ticket of the org unit at ouPath goes
// to: the route of the deepest org unit above it (or itself), else the
// service's group ("" for none).
func routeOf(ctx context.Context, q sqldb.Querier, svc *serviceRow, ouPath string) (string, error) {
	rs, err := routes(ctx, q, svc.ID)
	if err != nil {
		return "", err
	}
	group, depth := svc.GroupID, 0
	for _, r := range rs {
		if ouPath != "" && strings.HasPrefix(ouPath, r.orgUnitPath) && len(r.orgUnitPath) > depth {
			group, depth = r.Group.ID, len(r.orgUnitPath)
		}
	}
	return group, nil
}

// inServiceGroup reports whether p is a member (or the manager) of a
// group the service's tickets go to: its own, or one of its routes'.
func inServiceGroup(ctx context.Context, q sqldb.Querier, p *access.Principal, svc *serviceRow) bool {
	if !worksTickets(p) {
		return false
	}
	var one int
	return q.QueryRowContext(ctx, `SELECT 1 FROM assignment_groups g WHERE g.id IN `+groupsOf("$1")+`
		AND (g.id = $2 OR g.id IN (SELECT group_id FROM ticket_routes WHERE service_id = $3))`, p.UserID, svc.GroupID, svc.ID).Scan(&one) == nil
}

// Routes lists a service's routes. Callers manage the service, or work
// its tickets. Errors: invalid (no such service), forbidden.
func (s *Service) Routes(ctx context.Context, p *access.Principal, service string) ([]*Route, error) {
	svc, err := s.service(ctx, service)
	if err != nil {
		return nil, err
	}
	if !mayRoute(p, svc.ID) && !p.Can(access.TicketWork, access.Resource{ServiceID: svc.ID}) {
		return nil, errs.Forbidden("a service's routes are for those who manage it (service.manage) or work its tickets")
	}
	return routes(ctx, s.db.Read(), svc.ID)
}

// SetRoute sends the service's tickets of an org unit (and those under
// it) to a group, replacing the org unit's route if it had one. Callers
// need service.manage on the service. Errors: invalid (field service,
// org_unit or group: none such; too many routes), forbidden.
func (s *Service) SetRoute(ctx context.Context, p *access.Principal, service, orgUnit string, in RouteInput) (*Route, error) {
	svc, err := s.service(ctx, service)
	if err != nil {
		return nil, err
	}
	if !mayRoute(p, svc.ID) {
		return nil, errs.Forbidden("a service's routes are set by those who manage it (service.manage on %s)", svc.Name)
	}
	q := s.db.Read()
	var ouID, groupID string
	var v errs.Validator
	v.Check(q.QueryRowContext(ctx, `SELECT id FROM org_units WHERE id = $1 OR code = $1`, strings.TrimSpace(orgUnit)).Scan(&ouID) == nil,
		"org_unit", "exists", fmt.Sprintf("no org unit %q", orgUnit))
	in.Group = strings.TrimSpace(in.Group)
	if v.Check(in.Group != "", "group", "required", "name the assignment group the org unit's tickets go to") {
		v.Check(q.QueryRowContext(ctx, `SELECT id FROM assignment_groups WHERE id = $1 OR name = $1`, in.Group).Scan(&groupID) == nil,
			"group", "exists", fmt.Sprintf("no assignment group %q", in.Group))
	}
	if err := v.Err("the route is not valid"); err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var before *Route
		rs, err := routes(ctx, tx, svc.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.OrgUnit.ID == ouID {
				before = r
			}
		}
		if before == nil && len(rs) >= MaxRoutes {
			return &errs.Error{Code: errs.CodeInvalid, Message: "the route is not valid",
				Fields: []errs.FieldError{{Field: "org_unit", Rule: "max", Message: fmt.Sprintf("a service has at most %d routes", MaxRoutes)}}}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_routes WHERE service_id = $1 AND org_unit_id = $2`, svc.ID, ouID); err != nil {
			return sqldb.Err(err, "ticket route")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_routes (service_id, org_unit_id, group_id, created_at) VALUES ($1, $2, $3, $4)`,
			svc.ID, ouID, groupID, sqldb.Time(s.now())); err != nil {
			return sqldb.Err(err, "ticket route")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "ticket_route.set", ObjectType: "service", ObjectID: svc.ID, Before: before,
			After: map[string]any{"org_unit_id": ouID, "group_id": groupID}})
	})
	if err != nil {
		return nil, err
	}
	rs, err := routes(ctx, q, svc.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.OrgUnit.ID == ouID {
			return r, nil
		}
	}
	return nil, errs.Conflict("the route was removed meanwhile")
}

// RemoveRoute removes the service's route of an org unit: its tickets go
// to the service's group (or a route above it) again. Callers need
// service.manage on the service. Errors: not_found, forbidden.
func (s *Service) RemoveRoute(ctx context.Context, p *access.Principal, service, orgUnit string) error {
	svc, err := s.service(ctx, service)
	if err != nil {
		return err
	}
	if !mayRoute(p, svc.ID) {
		return errs.Forbidden("a service's routes are set by those who manage it (service.manage on %s)", svc.Name)
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ticket_routes WHERE service_id = $1
			AND org_unit_id IN (SELECT id FROM org_units WHERE id = $2 OR code = $2)`, svc.ID, strings.TrimSpace(orgUnit))
		if err != nil {
			return sqldb.Err(err, "ticket route")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("%s has no route for org unit %q", svc.Name, orgUnit)
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "ticket_route.remove", ObjectType: "service", ObjectID: svc.ID,
			Before: map[string]any{"org_unit": orgUnit}})
	})
}
