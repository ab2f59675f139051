package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Directory sync: what an identity provider pushing people and groups over
// SCIM (internal/scim) may do, as the directory.sync action allows (the
// directory_sync role, held by the provider's token). The directory sees
// the people who sign in (never machine users, the directory's own sync
// accounts, nor administrators granted the role directly) and the groups
// it created; it creates, renames, deactivates and deletes them, and sets
// its groups' members. It never grants a role: which roles a group carries
// is an administrator's decision (grants to groups), so a role follows
// membership of a directory group.

// DirectoryUser is a person as the directory sees them.
type DirectoryUser struct {
	User
	// ExternalID is the directory's identifier for the person.
	ExternalID string
}

// DirectoryUserInput is a person as the directory says they are.
type DirectoryUserInput struct {
	Email      string
	Name       string
	ExternalID string
	Active     bool
}

func (in *DirectoryUserInput) validate() error {
	in.Email, in.Name, in.ExternalID = normalizeEmail(in.Email), strings.TrimSpace(in.Name), strings.TrimSpace(in.ExternalID)
	if in.Name == "" {
		in.Name = in.Email
	}
	var v errs.Validator
	validateEmail(&v, in.Email)
	v.Check(!strings.HasSuffix(in.Email, "@"+SyncDomain), "email", "reserved", "emails at "+SyncDomain+" are Steward's directory sync accounts'")
	v.Check(len(in.Name) <= 200, "name", "length", "name must be at most 200 characters")
	v.Check(len(in.ExternalID) <= 200, "external_id", "length", "externalId must be at most 200 characters")
	return v.Err("the user is not valid")
}

// DirectoryGroup is a group as the directory sees it.
type DirectoryGroup struct {
	Group
	ExternalID string
	// Members are the members the directory may see, with their names.
	Members []DirectoryMember
}

// DirectoryMember is a member of a group.
type DirectoryMember struct {
	ID, Name string
}

// DirectoryGroupInput is a group as the directory says it is.
type DirectoryGroupInput struct {
	Name       string
	ExternalID string
	MemberIDs  []string
}

// MaxDirectoryMembers bounds the members of one group set in one request.
const MaxDirectoryMembers = 10000

func (in *DirectoryGroupInput) validate() error {
	in.Name, in.ExternalID = strings.TrimSpace(in.Name), strings.TrimSpace(in.ExternalID)
	var v errs.Validator
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "displayName is required and must be at most 200 characters")
	v.Check(len(in.ExternalID) <= 200, "external_id", "length", "externalId must be at most 200 characters")
	v.Check(len(in.MemberIDs) <= MaxDirectoryMembers, "members", "count", fmt.Sprintf("a group has at most %d members set at once", MaxDirectoryMembers))
	for _, id := range in.MemberIDs {
		if !sqldb.ValidID(id) {
			v.Add("members", "format", fmt.Sprintf("member %q is not a user ID", id))
			break
		}
	}
	in.MemberIDs = slices.Compact(slices.Sorted(slices.Values(in.MemberIDs)))
	return v.Err("the group is not valid")
}

// directoryWrite runs write in one transaction for a caller who may
// directory.sync, once valid (if given) passes; cached API tokens see the
// change at once.
func directoryWrite[T any](ctx context.Context, s *Service, p *access.Principal, valid func() error, write func(tx *sqldb.Tx) (T, error)) (T, error) {
	var out T
	if err := p.Require(access.DirectorySync, access.Resource{}); err != nil {
		return out, err
	}
	if valid != nil {
		if err := valid(); err != nil {
			return out, err
		}
	}
	defer s.tokens.forget()
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = write(tx)
		return err
	})
	return out, err
}

// inUse is the conflict of a unique name the directory sent again.
func inUse(field, attribute, what string) error {
	return &errs.Error{Code: errs.CodeConflict, Message: what + " already exists",
		Fields: []errs.FieldError{{Field: field, Rule: "unique", Message: attribute + " is already in use"}}}
}

// DirectoryQuery narrows and pages a directory list: every condition
// holds (none: everything); Offset from 0.
type DirectoryQuery struct {
	Where         []DirectoryCond
	Offset, Limit int
}

// DirectoryCond is a field equal to a value: "id", "external_id", and
// "email" (users) or "name" and "member" (groups: the user is a member).
type DirectoryCond struct {
	Field, Value string
}

// DirectoryUserFields and DirectoryGroupFields are the fields a directory
// list narrows on.
var (
	DirectoryUserFields  = []string{"email", "external_id", "id"}
	DirectoryGroupFields = []string{"external_id", "id", "member", "name"}
)

// SyncDomain is the email domain of directory sync accounts; no person of
// the directory may have it.
const SyncDomain = "directory-sync.invalid"

// directoryPeople are the users a directory sees: people, not deleted by
// the directory, not a directory's own sync account, and not an
// administrator granted the role directly (Steward's own accounts, its way
// in when the identity provider fails: the directory may neither rename
// nor deactivate them).
const directoryPeople = ` FROM users u LEFT JOIN org_units ou ON ou.id = u.org_unit_id
	LEFT JOIN directory_links l ON l.kind = 'user' AND l.id = u.id
	WHERE NOT u.machine AND NOT COALESCE(l.deleted, FALSE)
	AND NOT EXISTS (SELECT 1 FROM grants sg WHERE sg.user_id = u.id AND (sg.role = 'directory_sync' OR sg.role = 'admin' AND sg.scope_kind = 'global'))`

func scanDirectoryUser(row sqldb.Scanner) (*DirectoryUser, error) {
	var u DirectoryUser
	var last sql.NullTime
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.OrgUnitID, &u.orgUnitPath, &u.Disabled, &u.HasPassword,
		&u.Machine, &u.CreatedAt, &u.UpdatedAt, &last, &u.ExternalID); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), sqldb.TimePtr(last)
	return &u, nil
}

// where is the query's conditions in SQL: fields name each field's
// condition, with ? for the value.
func (q *DirectoryQuery) where(args *sqldb.Args, fields map[string]string) (string, error) {
	if q.Limit <= 0 || q.Limit > sqldb.MaxLimit {
		q.Limit = sqldb.MaxLimit
	}
	q.Offset = max(q.Offset, 0)
	var b strings.Builder
	for _, c := range q.Where {
		cond, ok := fields[c.Field]
		if !ok {
			return "", errs.Invalid("the directory filters on %s only", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		}
		if c.Field == "email" {
			c.Value = normalizeEmail(c.Value)
		}
		b.WriteString(` AND ` + strings.Replace(cond, "?", args.Add(c.Value), 1))
	}
	return b.String(), nil
}

// DirectoryUsers lists the people the directory sees, oldest first, and
// how many there are in all. Callers need directory.sync.
func (s *Service) DirectoryUsers(ctx context.Context, p *access.Principal, q DirectoryQuery) ([]*DirectoryUser, int, error) {
	if err := p.Require(access.DirectorySync, access.Resource{}); err != nil {
		return nil, 0, err
	}
	var args sqldb.Args
	where, err := q.where(&args, map[string]string{"email": "u.email = ?", "external_id": "l.external_id = ?", "id": "u.id = ?"})
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*)`+directoryPeople+where, args...).Scan(&total); err != nil {
		return nil, 0, sqldb.Err(err, "users")
	}
	list, err := sqldb.QueryAll(ctx, s.db.Read(), "users", scanDirectoryUser, `SELECT `+userColumns+`, COALESCE(l.external_id, '')`+directoryPeople+where+
		` ORDER BY u.created_at, u.id LIMIT `+args.Add(q.Limit)+` OFFSET `+args.Add(q.Offset), args...)
	return list, total, err
}

// DirectoryUser returns one person the directory sees; anyone else is not
// found. Callers need directory.sync.
func (s *Service) DirectoryUser(ctx context.Context, p *access.Principal, id string) (*DirectoryUser, error) {
	if err := p.Require(access.DirectorySync, access.Resource{}); err != nil {
		return nil, err
	}
	return directoryUser(ctx, s.db.Read(), id)
}

func directoryUser(ctx context.Context, q sqldb.Querier, id string) (*DirectoryUser, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("user %q not found", id)
	}
	u, err := scanDirectoryUser(q.QueryRowContext(ctx, `SELECT `+userColumns+`, COALESCE(l.external_id, '')`+directoryPeople+` AND u.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("user %q not found", id)
	}
	return u, sqldb.Err(err, "user")
}

// DirectoryCreateUser adds a person (without a password: they sign in
// through the identity provider). A person the directory deleted before
// comes back with the same ID; anyone else with the email is a conflict.
// Callers need directory.sync.
func (s *Service) DirectoryCreateUser(ctx context.Context, p *access.Principal, in DirectoryUserInput) (*DirectoryUser, error) {
	return directoryWrite(ctx, s, p, in.validate, func(tx *sqldb.Tx) (*DirectoryUser, error) {
		var id string
		var deleted sql.NullBool
		err := tx.QueryRowContext(ctx, `SELECT u.id, l.deleted FROM users u LEFT JOIN directory_links l ON l.kind = 'user' AND l.id = u.id WHERE u.email = $1`, in.Email).Scan(&id, &deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			now := sqldb.Time(s.now())
			u := &User{ID: sqldb.NewID(), Email: in.Email, Name: in.Name, Disabled: !in.Active, CreatedAt: now, UpdatedAt: now}
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, org_unit_id, password_hash, disabled, machine, created_at, updated_at)
				VALUES ($1, $2, $3, NULL, NULL, $4, FALSE, $5, $6)`, u.ID, u.Email, u.Name, u.Disabled, now, now); err != nil {
				return nil, sqldb.Err(err, "user")
			}
			if err := s.link(ctx, tx, "user", u.ID, in.ExternalID, false); err != nil {
				return nil, err
			}
			if err := s.audit(ctx, tx, p, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: u.ID, After: u}); err != nil {
				return nil, err
			}
			return directoryUser(ctx, tx, u.ID)
		case err != nil:
			return nil, sqldb.Err(err, "user")
		case deleted.Valid && deleted.Bool:
			return s.directoryUpdateUser(ctx, tx, p, id, in, true)
		}
		return nil, inUse("email", "userName", "a user with email "+in.Email)
	})
}

// DirectoryUpdateUser sets a person's email, name, externalId and whether
// they are active. Deactivating ends their sessions, and their API tokens
// stop working. The last administrator is never deactivated. Callers need
// directory.sync.
func (s *Service) DirectoryUpdateUser(ctx context.Context, p *access.Principal, id string, in DirectoryUserInput) (*DirectoryUser, error) {
	return directoryWrite(ctx, s, p, in.validate, func(tx *sqldb.Tx) (*DirectoryUser, error) {
		return s.directoryUpdateUser(ctx, tx, p, id, in, false)
	})
}

// DirectoryChangeUser changes a person as change says, given them as they
// are, in one transaction with the person locked (a PATCH: two at once
// never lose each other's change). Callers need directory.sync.
func (s *Service) DirectoryChangeUser(ctx context.Context, p *access.Principal, id string, change func(*DirectoryUserInput) error) (*DirectoryUser, error) {
	return directoryWrite(ctx, s, p, nil, func(tx *sqldb.Tx) (*DirectoryUser, error) {
		if err := lockRow(ctx, tx, "users", id); err != nil {
			return nil, err
		}
		u, err := directoryUser(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		in := DirectoryUserInput{Email: u.Email, Name: u.Name, ExternalID: u.ExternalID, Active: !u.Disabled}
		if err := change(&in); err != nil {
			return nil, err
		}
		if err := in.validate(); err != nil {
			return nil, err
		}
		return s.directoryUpdateUser(ctx, tx, p, id, in, false)
	})
}

// lockRow locks a row for the rest of the transaction (PostgreSQL; SQLite's
// writer is one at a time already).
func lockRow(ctx context.Context, tx *sqldb.Tx, table, id string) error {
	lock := tx.Dialect.ForUpdate()
	if lock == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`+lock, id)
	return sqldb.Err(err, table)
}

// directoryUpdateUser sets a person the directory sees (or, reviving, one
// it deleted).
func (s *Service) directoryUpdateUser(ctx context.Context, tx *sqldb.Tx, p *access.Principal, id string, in DirectoryUserInput, revive bool) (*DirectoryUser, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("user %q not found", id)
	}
	var deleted bool
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(l.deleted, FALSE)`+strings.Replace(directoryPeople, "AND NOT COALESCE(l.deleted, FALSE)", "", 1)+` AND u.id = $1`, id).Scan(&deleted)
	if errors.Is(err, sql.ErrNoRows) || err == nil && deleted && !revive {
		return nil, errs.NotFound("user %q not found", id)
	}
	if err != nil {
		return nil, sqldb.Err(err, "user")
	}
	before, err := getUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if in.Email != before.Email {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2`, in.Email, id).Scan(&n); err != nil {
			return nil, sqldb.Err(err, "user")
		}
		if n > 0 {
			return nil, inUse("email", "userName", "a user with email "+in.Email)
		}
	}
	if !in.Active && !before.Disabled {
		if err := lastAdminStays(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	u := *before
	u.Email, u.Name, u.Disabled, u.UpdatedAt = in.Email, in.Name, !in.Active, sqldb.Time(s.now())
	// A new address takes the Steward password away: whoever controls the
	// address could otherwise reset it. The person signs in through the
	// identity provider (or an administrator sets a password).
	moved := u.Email != before.Email && before.HasPassword
	if moved {
		u.HasPassword = false
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = $1, name = $2, disabled = $3, updated_at = $4,
		password_hash = CASE WHEN $5 THEN NULL ELSE password_hash END WHERE id = $6`,
		u.Email, u.Name, u.Disabled, u.UpdatedAt, moved, id); err != nil {
		return nil, sqldb.Err(err, "user")
	}
	if u.Disabled || moved {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return nil, sqldb.Err(err, "session")
		}
	}
	if err := s.link(ctx, tx, "user", id, in.ExternalID, false); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, tx, p, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: id, Before: before, After: u}); err != nil {
		return nil, err
	}
	return directoryUser(ctx, tx, id)
}

// lastAdminStays refuses to take the last global administrator given the
// role directly out of service.
func lastAdminStays(ctx context.Context, tx *sqldb.Tx, userID string) error {
	var mine, all int
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM grants WHERE user_id = $1 AND role = 'admin' AND scope_kind = 'global'),
		(SELECT COUNT(DISTINCT g.user_id) FROM grants g JOIN users u ON u.id = g.user_id WHERE g.role = 'admin' AND g.scope_kind = 'global' AND NOT u.disabled)`,
		userID).Scan(&mine, &all); err != nil {
		return sqldb.Err(err, "grant")
	}
	if mine > 0 && all <= 1 {
		return errs.Conflict("this is the last active global administrator; grant admin to someone else first")
	}
	return nil
}

// DirectoryDeleteUser takes a person out of the directory: deactivated
// (their orders, services and audit trail stay) and no longer seen by it;
// creating them again brings them back. Callers need directory.sync.
func (s *Service) DirectoryDeleteUser(ctx context.Context, p *access.Principal, id string) error {
	_, err := directoryWrite(ctx, s, p, nil, func(tx *sqldb.Tx) (*DirectoryUser, error) {
		u, err := directoryUser(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if _, err := s.directoryUpdateUser(ctx, tx, p, id, DirectoryUserInput{Email: u.Email, Name: u.Name, ExternalID: u.ExternalID}, false); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = $1`, id); err != nil {
			return nil, sqldb.Err(err, "group member")
		}
		// Nor do they manage a group any more.
		if _, err := tx.ExecContext(ctx, `UPDATE assignment_groups SET manager_id = NULL WHERE manager_id = $1`, id); err != nil {
			return nil, sqldb.Err(err, "group")
		}
		return u, s.link(ctx, tx, "user", id, u.ExternalID, true)
	})
	return err
}

// link records the directory's externalId of a user or group, and whether
// the directory deleted it.
func (s *Service) link(ctx context.Context, tx *sqldb.Tx, kind, id, externalID string, deleted bool) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO directory_links (kind, id, external_id, deleted, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind, id) DO UPDATE SET external_id = excluded.external_id, deleted = excluded.deleted, updated_at = excluded.updated_at`,
		kind, id, externalID, deleted, sqldb.Time(s.now()))
	return sqldb.Err(err, "directory link")
}

const directoryGroupColumns = `g.id, g.name, g.description, g.email, g.created_at, g.updated_at, COALESCE(l.external_id, '')`

// directoryGroupFrom: the directory sees (and writes) the groups it
// created, never those made in Steward: membership of a group made here
// is decided here (by those who may grant its roles).
const directoryGroupFrom = ` FROM assignment_groups g JOIN directory_links l ON l.kind = 'group' AND l.id = g.id WHERE TRUE`

// DirectoryGroups lists the groups, oldest first, with their members, and
// how many there are in all. Callers need directory.sync.
func (s *Service) DirectoryGroups(ctx context.Context, p *access.Principal, q DirectoryQuery) ([]*DirectoryGroup, int, error) {
	if err := p.Require(access.DirectorySync, access.Resource{}); err != nil {
		return nil, 0, err
	}
	var args sqldb.Args
	where, err := q.where(&args, map[string]string{"name": "g.name = ?", "external_id": "l.external_id = ?", "id": "g.id = ?",
		"member": "EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = ?)"})
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*)`+directoryGroupFrom+where, args...).Scan(&total); err != nil {
		return nil, 0, sqldb.Err(err, "groups")
	}
	list, err := sqldb.QueryAll(ctx, s.db.Read(), "groups", scanDirectoryGroup, `SELECT `+directoryGroupColumns+directoryGroupFrom+where+
		` ORDER BY g.created_at, g.id LIMIT `+args.Add(q.Limit)+` OFFSET `+args.Add(q.Offset), args...)
	if err != nil {
		return nil, 0, err
	}
	for _, g := range list {
		if err := directoryMembers(ctx, s.db.Read(), g); err != nil {
			return nil, 0, err
		}
	}
	return list, total, nil
}

func scanDirectoryGroup(row sqldb.Scanner) (*DirectoryGroup, error) {
	g := &DirectoryGroup{}
	err := row.Scan(&g.ID, &g.Name, &g.Description, &g.Email, &g.CreatedAt, &g.UpdatedAt, &g.ExternalID)
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	return g, err
}

// directoryMembers fills a group's members the directory sees.
func directoryMembers(ctx context.Context, q sqldb.Querier, g *DirectoryGroup) error {
	members, err := sqldb.QueryAll(ctx, q, "group members", func(row sqldb.Scanner) (DirectoryMember, error) {
		var m DirectoryMember
		return m, row.Scan(&m.ID, &m.Name)
	}, `SELECT u.id, u.name`+directoryPeople+` AND u.id IN (SELECT user_id FROM group_members WHERE group_id = $1) ORDER BY u.id`, g.ID)
	g.Members, g.MemberIDs = members, make([]string, len(members))
	for i, m := range members {
		g.MemberIDs[i] = m.ID
	}
	return err
}

// DirectoryGroup returns one group. Callers need directory.sync.
func (s *Service) DirectoryGroup(ctx context.Context, p *access.Principal, id string) (*DirectoryGroup, error) {
	if err := p.Require(access.DirectorySync, access.Resource{}); err != nil {
		return nil, err
	}
	return directoryGroup(ctx, s.db.Read(), id)
}

func directoryGroup(ctx context.Context, q sqldb.Querier, id string) (*DirectoryGroup, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("group %q not found", id)
	}
	g, err := scanDirectoryGroup(q.QueryRowContext(ctx, `SELECT `+directoryGroupColumns+directoryGroupFrom+` AND g.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("group %q not found", id)
	}
	if err != nil {
		return nil, sqldb.Err(err, "group")
	}
	return g, directoryMembers(ctx, q, g)
}

// DirectoryCreateGroup adds a group with its members. A group's name is
// unique: a taken one is a conflict. Callers need directory.sync.
func (s *Service) DirectoryCreateGroup(ctx context.Context, p *access.Principal, in DirectoryGroupInput) (*DirectoryGroup, error) {
	return directoryWrite(ctx, s, p, in.validate, func(tx *sqldb.Tx) (*DirectoryGroup, error) {
		now := sqldb.Time(s.now())
		g := &Group{ID: sqldb.NewID(), Name: in.Name, Description: "From the company directory.", MemberIDs: []string{}, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assignment_groups (id, name, description, email, created_at, updated_at) VALUES ($1, $2, $3, '', $4, $5)`,
			g.ID, g.Name, g.Description, now, now); err != nil {
			if errs.Is(sqldb.Err(err, "group"), errs.CodeConflict) {
				return nil, inUse("name", "displayName", fmt.Sprintf("a group named %q", g.Name))
			}
			return nil, sqldb.Err(err, "group")
		}
		if err := s.link(ctx, tx, "group", g.ID, in.ExternalID, false); err != nil {
			return nil, err
		}
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "group.create", ObjectType: "group", ObjectID: g.ID, After: g}); err != nil {
			return nil, err
		}
		return s.directorySetGroup(ctx, tx, p, g.ID, in)
	})
}

// DirectoryUpdateGroup sets a group's name, externalId and members (the
// members the directory sees; others stay). Callers need directory.sync.
func (s *Service) DirectoryUpdateGroup(ctx context.Context, p *access.Principal, id string, in DirectoryGroupInput) (*DirectoryGroup, error) {
	return directoryWrite(ctx, s, p, in.validate, func(tx *sqldb.Tx) (*DirectoryGroup, error) {
		return s.directorySetGroup(ctx, tx, p, id, in)
	})
}

// DirectoryChangeGroup changes a group as change says, given it as it is,
// in one transaction with the group locked (a PATCH: two at once never
// lose each other's members). Callers need directory.sync.
func (s *Service) DirectoryChangeGroup(ctx context.Context, p *access.Principal, id string, change func(*DirectoryGroupInput) error) (*DirectoryGroup, error) {
	return directoryWrite(ctx, s, p, nil, func(tx *sqldb.Tx) (*DirectoryGroup, error) {
		if err := lockRow(ctx, tx, "assignment_groups", id); err != nil {
			return nil, err
		}
		g, err := directoryGroup(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		in := DirectoryGroupInput{Name: g.Name, ExternalID: g.ExternalID, MemberIDs: slices.Clone(g.MemberIDs)}
		if err := change(&in); err != nil {
			return nil, err
		}
		if err := in.validate(); err != nil {
			return nil, err
		}
		return s.directorySetGroup(ctx, tx, p, id, in)
	})
}

func (s *Service) directorySetGroup(ctx context.Context, tx *sqldb.Tx, p *access.Principal, id string, in DirectoryGroupInput) (*DirectoryGroup, error) {
	before, err := directoryGroup(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if in.Name != before.Name {
		if _, err := tx.ExecContext(ctx, `UPDATE assignment_groups SET name = $1, updated_at = $2 WHERE id = $3`, in.Name, sqldb.Time(s.now()), id); err != nil {
			if errs.Is(sqldb.Err(err, "group"), errs.CodeConflict) {
				return nil, inUse("name", "displayName", fmt.Sprintf("a group named %q", in.Name))
			}
			return nil, sqldb.Err(err, "group")
		}
	}
	if err := s.link(ctx, tx, "group", id, in.ExternalID, false); err != nil {
		return nil, err
	}
	// Members: every one named must be a person the directory sees.
	if len(in.MemberIDs) > 0 {
		var args sqldb.Args
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+directoryPeople+` AND `+sqldb.In(&args, "u.id", in.MemberIDs), args...).Scan(&n); err != nil {
			return nil, sqldb.Err(err, "users")
		}
		if n != len(in.MemberIDs) {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the group is not valid",
				Fields: []errs.FieldError{{Field: "members", Rule: "exists", Message: fmt.Sprintf("%d of the %d members are not users of this directory", len(in.MemberIDs)-n, len(in.MemberIDs))}}}
		}
	}
	now := sqldb.Time(s.now())
	had, want := set(before.MemberIDs), set(in.MemberIDs)
	for _, m := range before.MemberIDs {
		if !want[m] {
			if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, id, m); err != nil {
				return nil, sqldb.Err(err, "group member")
			}
		}
	}
	for _, m := range in.MemberIDs {
		if !had[m] {
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, m, now); err != nil {
				return nil, sqldb.Err(err, "group member")
			}
		}
	}
	after, err := directoryGroup(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if before.Name != after.Name || before.ExternalID != after.ExternalID || !slices.Equal(before.MemberIDs, after.MemberIDs) {
		if err := s.audit(ctx, tx, p, audit.Entry{Action: "group.directory_sync", ObjectType: "group", ObjectID: id, Before: before.Group, After: after.Group}); err != nil {
			return nil, err
		}
	}
	return after, nil
}

// DirectoryDeleteGroup deletes a group, its memberships and the roles
// granted to it. Callers need directory.sync.
func (s *Service) DirectoryDeleteGroup(ctx context.Context, p *access.Principal, id string) error {
	_, err := directoryWrite(ctx, s, p, nil, func(tx *sqldb.Tx) (*DirectoryGroup, error) {
		before, err := directoryGroup(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM assignment_groups WHERE id = $1`, id); err != nil {
			return nil, sqldb.Err(err, "group")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM directory_links WHERE kind = 'group' AND id = $1`, id); err != nil {
			return nil, sqldb.Err(err, "directory link")
		}
		return before, s.audit(ctx, tx, p, audit.Entry{Action: "group.delete", ObjectType: "group", ObjectID: id, Before: before.Group})
	})
	return err
}

// DirectoryToken is a SCIM token as listed: an API token of a directory
// sync account (a user holding directory_sync, without a password).
type DirectoryToken struct {
	Token
	// Account is the sync account's email.
	Account string `json:"account"`
}

// CreateDirectoryToken makes the SCIM token an identity provider pushes
// with: a sync account named for it (created the first time, holding
// directory_sync and nothing else, never able to sign in) and an API token
// limited to directory_sync, shown once. Callers need user.manage and
// grant.manage on the whole provider, as making such an account by hand
// does.
func (s *Service) CreateDirectoryToken(ctx context.Context, p *access.Principal, name string, expires time.Time) (*NewToken, error) {
	if err := p.Require(access.UserManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := p.Require(access.GrantManage, access.Resource{}); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	slug := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, name), "-")
	var v errs.Validator
	v.Check(name != "" && len(name) <= 60 && slug != "", "name", "length", "name is required (1 to 60 characters, with letters or digits): the identity provider the token is for, such as Entra ID")
	v.Check(expires.After(s.now()) && expires.Sub(s.now()) <= MaxTokenLifetime, "expires_at", "range", "expires_at must be in the future and at most 366 days away")
	if err := v.Err("the SCIM token is not valid"); err != nil {
		return nil, err
	}
	email := "scim-" + slug + "@" + SyncDomain
	var accountID string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var sync bool
		err := tx.QueryRowContext(ctx, `SELECT u.id, u.password_hash IS NULL AND EXISTS (SELECT 1 FROM grants g WHERE g.user_id = u.id AND g.role = 'directory_sync' AND g.scope_kind = 'global')
			FROM users u WHERE u.email = $1`, email).Scan(&accountID, &sync)
		if err == nil && !sync {
			return errs.Conflict("%s is not a directory sync account (it has a password, or not the directory_sync role); name the token otherwise", email)
		}
		if errors.Is(err, sql.ErrNoRows) {
			u, err := s.createUser(ctx, tx, p, CreateUserInput{Email: email, Name: "Directory sync: " + name})
			if err != nil {
				return err
			}
			accountID = u.ID
			_, err = s.createGrant(ctx, tx, p, CreateGrantInput{UserID: u.ID, Role: access.RoleDirectorySync, ScopeKind: access.ScopeGlobal})
			return err
		}
		return sqldb.Err(err, "user")
	})
	if err != nil {
		return nil, err
	}
	return s.CreateToken(ctx, p, CreateTokenInput{UserID: accountID, Name: "SCIM: " + name, Roles: []access.Role{access.RoleDirectorySync}, ExpiresAt: expires})
}

// directoryTokenOrder pages SCIM tokens newest first (IDs sort by time).
var directoryTokenOrder = sqldb.Order{Name: "newest", Columns: []string{"id"}, Desc: true}

// DirectoryTokens lists a page of the SCIM tokens (those of directory sync
// accounts), newest first, revoked ones too. Callers need user.manage on
// the whole provider; a cursor of another list is invalid.
func (s *Service) DirectoryTokens(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*DirectoryToken], error) {
	if err := p.Require(access.UserManage, access.Resource{}); err != nil {
		return sqldb.Paged[*DirectoryToken]{}, err
	}
	var args sqldb.Args
	var after string
	seek, err := directoryTokenOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*DirectoryToken]{}, err
	}
	ts, err := sqldb.QueryAll(ctx, s.db.Read(), "tokens", func(row sqldb.Scanner) (*DirectoryToken, error) {
		var account string
		t, err := scanToken(withColumns{row, []any{&account}})
		if err != nil {
			return nil, err
		}
		return &DirectoryToken{Token: *t, Account: account}, nil
	}, `SELECT `+tokenColumns+`, account FROM (SELECT api_tokens.*, u.email AS account FROM api_tokens JOIN users u ON u.id = api_tokens.user_id
		WHERE EXISTS (SELECT 1 FROM grants g WHERE g.user_id = u.id AND g.role = 'directory_sync' AND g.scope_kind = 'global')) t
		WHERE `+seek+directoryTokenOrder.By()+directoryTokenOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*DirectoryToken]{}, err
	}
	return sqldb.PageOf(ts, page, directoryTokenOrder, func(t *DirectoryToken) []any { return []any{t.ID} }), nil
}

// withColumns scans a row's further columns after what a scan function reads.
type withColumns struct {
	sqldb.Scanner
	more []any
}

func (r withColumns) Scan(dest ...any) error { return r.Scanner.Scan(append(dest, r.more...)...) }

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
