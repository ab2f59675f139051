package identity

import (
	"context"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Group is an assignment group: a team that does work (fulfils requests,
// works incidents). Services route their work to one.
type Group struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Email       string `json:"email,omitempty"`
	// ManagerID is the group's manager: they work its tickets and are told
	// when one is about to miss its resolution time.
	ManagerID string    `json:"manager_id,omitempty"`
	MemberIDs []string  `json:"member_ids"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupInput creates or replaces a group's details.
type GroupInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Email       string `json:"email"`
	// ManagerID names the group's manager (an active user's ID); "" has
	// none. Left out (null), an update keeps the manager the group has.
	ManagerID *string `json:"manager_id"`
}

// Validate checks the input's fields.
func (in *GroupInput) Validate() error {
	in.Name, in.Description, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description), normalizeEmail(in.Email)
	var v errs.Validator
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(len(in.Description) <= 2000, "description", "length", "description must be at most 2000 characters")
	if in.Email != "" {
		validateEmail(&v, in.Email)
	}
	if in.ManagerID != nil {
		m := strings.TrimSpace(*in.ManagerID)
		in.ManagerID = &m
		v.Check(m == "" || sqldb.ValidID(m), "manager_id", "format", "manager_id is a user's ID")
	}
	return v.Err("the group is not valid")
}

// checkManager refuses a manager who is not an active person.
func checkManager(ctx context.Context, q sqldb.Querier, in GroupInput) error {
	if in.ManagerID == nil || *in.ManagerID == "" {
		return nil
	}
	var one int
	if q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1 AND disabled = FALSE AND machine = FALSE`, *in.ManagerID).Scan(&one) != nil {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the group is not valid",
			Fields: []errs.FieldError{{Field: "manager_id", Rule: "exists", Message: "the manager must be an active person's user ID"}}}
	}
	return nil
}

func getGroup(ctx context.Context, q sqldb.Querier, id string) (*Group, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("group %q not found", id)
	}
	var g Group
	err := q.QueryRowContext(ctx, `SELECT id, name, description, email, COALESCE(manager_id, ''), created_at, updated_at FROM assignment_groups WHERE id = $1`, id).
		Scan(&g.ID, &g.Name, &g.Description, &g.Email, &g.ManagerID, &g.CreatedAt, &g.UpdatedAt)
	if err != nil {
		return nil, sqldb.Err(err, "group")
	}
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	if g.MemberIDs, err = sqldb.QueryAll(ctx, q, "group members", func(row sqldb.Scanner) (string, error) {
		var uid string
		return uid, row.Scan(&uid)
	}, `SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, id); err != nil {
		return nil, err
	}
	return &g, nil
}

// Group returns one group. Callers need group.read on any scope: groups are
// the provider's team directory.
func (s *Service) Group(ctx context.Context, p *access.Principal, id string) (*Group, error) {
	if err := p.RequireAnywhere(access.GroupRead); err != nil {
		return nil, err
	}
	return getGroup(ctx, s.db.Read(), id)
}

// Groups lists every group by name. Callers need group.read on any scope.
func (s *Service) Groups(ctx context.Context, p *access.Principal) ([]*Group, error) {
	var all []*Group
	pg := sqldb.Page{Limit: sqldb.MaxLimit}
	for {
		l, err := s.GroupPage(ctx, p, pg)
		if err != nil {
			return nil, err
		}
		all = append(all, l.Items...)
		if l.Next == "" {
			return all, nil
		}
		pg.Cursor = l.Next
	}
}

// groupOrder lists groups by name.
var groupOrder = sqldb.Order{Name: "groups", Columns: []string{"name", "id"}}

// GroupPage lists one page of the groups by name, with their members.
// Callers need group.read somewhere.
func (s *Service) GroupPage(ctx context.Context, p *access.Principal, pg sqldb.Page) (sqldb.Paged[*Group], error) {
	var none sqldb.Paged[*Group]
	if err := p.RequireAnywhere(access.GroupRead); err != nil {
		return none, err
	}
	var args sqldb.Args
	var name, id string
	seek, err := groupOrder.Seek(&args, pg, &name, &id)
	if err != nil {
		return none, err
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "groups", func(row sqldb.Scanner) (*Group, error) {
		g := &Group{MemberIDs: []string{}}
		err := row.Scan(&g.ID, &g.Name, &g.Description, &g.Email, &g.ManagerID, &g.CreatedAt, &g.UpdatedAt)
		g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
		return g, err
	}, `SELECT id, name, description, email, COALESCE(manager_id, ''), created_at, updated_at FROM assignment_groups WHERE `+seek+groupOrder.By()+groupOrder.Limit(&args, pg), args...)
	if err != nil {
		return none, err
	}
	out := sqldb.PageOf(rows, pg, groupOrder, func(g *Group) []any { return []any{g.Name, g.ID} })
	if len(out.Items) == 0 {
		return out, nil
	}
	byID := make(map[string]*Group, len(out.Items))
	ids := make([]string, 0, len(out.Items))
	for _, g := range out.Items {
		byID[g.ID] = g
		ids = append(ids, g.ID)
	}
	margs := sqldb.Args{}
	members, err := sqldb.QueryAll(ctx, s.db.Read(), "group members", func(row sqldb.Scanner) ([2]string, error) {
		var m [2]string
		return m, row.Scan(&m[0], &m[1])
	}, `SELECT group_id, user_id FROM group_members WHERE `+sqldb.In(&margs, "group_id", ids)+` ORDER BY group_id, user_id`, margs...)
	if err != nil {
		return none, err
	}
	for _, m := range members {
		if g := byID[m[0]]; g != nil {
			g.MemberIDs = append(g.MemberIDs, m[1])
		}
	}
	return out, nil
}

// CreateGroup adds a group. Callers need group.manage.
func (s *Service) CreateGroup(ctx context.Context, p *access.Principal, in GroupInput) (*Group, error) {
	if err := p.Require(access.GroupManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := checkManager(ctx, s.db.Read(), in); err != nil {
		return nil, err
	}
	now := sqldb.Time(s.now())
	g := &Group{ID: sqldb.NewID(), Name: in.Name, Description: in.Description, Email: in.Email, MemberIDs: []string{}, CreatedAt: now, UpdatedAt: now}
	if in.ManagerID != nil {
		g.ManagerID = *in.ManagerID
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO assignment_groups (id, name, description, email, manager_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			g.ID, g.Name, g.Description, g.Email, nullable(g.ManagerID), g.CreatedAt, g.UpdatedAt)
		if err != nil {
			if errs.Is(sqldb.Err(err, "group"), errs.CodeConflict) {
				return errs.Conflict("a group named %q already exists", g.Name)
			}
			return sqldb.Err(err, "group")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "group.create", ObjectType: "group", ObjectID: g.ID, After: g})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// UpdateGroup replaces a group's details. Callers need group.manage.
func (s *Service) UpdateGroup(ctx context.Context, p *access.Principal, id string, in GroupInput) (*Group, error) {
	if err := p.Require(access.GroupManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := checkManager(ctx, s.db.Read(), in); err != nil {
		return nil, err
	}
	var out *Group
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		g := *before
		g.Name, g.Description, g.Email, g.UpdatedAt = in.Name, in.Description, in.Email, sqldb.Time(s.now())
		if in.ManagerID != nil {
			g.ManagerID = *in.ManagerID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignment_groups SET name = $1, description = $2, email = $3, manager_id = $4, updated_at = $5 WHERE id = $6`,
			g.Name, g.Description, g.Email, nullable(g.ManagerID), g.UpdatedAt, id); err != nil {
			if errs.Is(sqldb.Err(err, "group"), errs.CodeConflict) {
				return errs.Conflict("a group named %q already exists", g.Name)
			}
			return sqldb.Err(err, "group")
		}
		out = &g
		return s.audit(ctx, tx, p, audit.Entry{Action: "group.update", ObjectType: "group", ObjectID: id, Before: before, After: g})
	})
	return out, err
}

// DeleteGroup removes a group, its memberships and the roles granted to
// it. Callers need group.manage.
func (s *Service) DeleteGroup(ctx context.Context, p *access.Principal, id string) error {
	defer s.tokens.forget() // its members lose the roles it granted
	if err := p.Require(access.GroupManage, access.Resource{}); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM assignment_groups WHERE id = $1`, id); err != nil {
			return sqldb.Err(err, "group")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "group.delete", ObjectType: "group", ObjectID: id, Before: before})
	})
}

// SetMember adds (member true) or removes a user from a group; doing what
// is already so is not an error. Callers need group.manage.
func (s *Service) SetMember(ctx context.Context, p *access.Principal, groupID, userID string, member bool) (*Group, error) {
	defer s.tokens.forget() // the member gains or loses the roles granted to the group
	if err := p.Require(access.GroupManage, access.Resource{}); err != nil {
		return nil, err
	}
	var out *Group
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		before, err := getGroup(ctx, tx, groupID)
		if err != nil {
			return err
		}
		if _, err := getUser(ctx, tx, userID); err != nil {
			return err
		}
		// Membership gives or takes the group's roles: whoever changes it
		// must be able to grant each of them.
		grants, err := sqldb.QueryAll(ctx, tx, "group grants", scanGroupGrant, `SELECT `+groupGrantColumns+groupGrantFrom+` WHERE g.group_id = $1`, groupID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if err := p.Require(access.GrantManage, g.resource()); err != nil {
				return err
			}
		}
		action := "group.member_remove"
		if member {
			action = "group.member_add"
			_, err = tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				groupID, userID, sqldb.Time(s.now()))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID)
		}
		if err != nil {
			return sqldb.Err(err, "group member")
		}
		if out, err = getGroup(ctx, tx, groupID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: action, ObjectType: "group", ObjectID: groupID, Before: before, After: out})
	})
	return out, err
}

// nullable is NULL for "", for optional references.
func nullable(id string) any {
	if id == "" {
		return nil
	}
	return id
}
