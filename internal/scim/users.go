package scim

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	scim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/steward-itaas/steward/internal/identity"
)

type userHandler struct {
	ids *identity.Service
	log *slog.Logger
}

func version(u interface{ UnixNano() int64 }) string {
	return `W/"` + strconv.FormatInt(u.UnixNano(), 36) + `"`
}

func userResource(u *identity.DirectoryUser) scim.Resource {
	created, modified := u.CreatedAt, u.UpdatedAt
	r := scim.Resource{ID: u.ID, Attributes: userAttributes(u), Meta: scim.Meta{Created: &created, LastModified: &modified, Version: version(modified)}}
	if u.ExternalID != "" {
		r.ExternalID = optional.NewString(u.ExternalID)
	}
	return r
}

func userAttributes(u *identity.DirectoryUser) scim.ResourceAttributes {
	return scim.ResourceAttributes{
		"userName":    u.Email,
		"displayName": u.Name,
		"name":        map[string]any{"formatted": u.Name},
		"emails":      []any{map[string]any{"value": u.Email, "primary": true, "type": "work"}},
		"active":      !u.Disabled,
	}
}

// userInput reads a whole user (POST, PUT): the email is userName when it
// is an address, else the primary (or first) email; the name is
// displayName, name.formatted, or givenName and familyName; active is true
// unless it says false.
func userInput(attrs scim.ResourceAttributes) identity.DirectoryUserInput {
	in := identity.DirectoryUserInput{Active: true}
	p := userPatch{in: &in}
	for k, v := range attrs {
		p.set(k, v)
	}
	p.finish()
	return in
}

// userPatch applies attributes to a user's input one at a time, as PATCH
// operations and whole resources name them.
type userPatch struct {
	in                             *identity.DirectoryUserInput
	userName, display, formatted   string
	given, family, primary, anyOne string
	nameSet                        bool
}

func (p *userPatch) set(name string, v any) {
	switch strings.ToLower(name) {
	case "username":
		p.userName = str(v)
	case "displayname":
		p.display, p.nameSet = str(v), true
	case "name":
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				p.set("name."+k, x)
			}
		}
	case "name.formatted":
		p.formatted, p.nameSet = str(v), true
	case "name.givenname":
		p.given, p.nameSet = str(v), true
	case "name.familyname":
		p.family, p.nameSet = str(v), true
	case "externalid":
		p.in.ExternalID = str(v)
	case "active":
		if b, ok := boolean(v); ok {
			p.in.Active = b
		}
	case "emails":
		list, _ := v.([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			value, _ := lookup(m, "value")
			primary, _ := lookup(m, "primary")
			if b, _ := boolean(primary); b && str(value) != "" {
				p.primary = str(value)
			}
			if p.anyOne == "" {
				p.anyOne = str(value)
			}
		}
	case "emails.value":
		p.primary = str(v)
	}
}

// finish settles the email and name from what was set.
func (p *userPatch) finish() {
	switch {
	case strings.Contains(p.userName, "@"):
		p.in.Email = p.userName
	case p.primary != "":
		p.in.Email = p.primary
	case p.anyOne != "":
		p.in.Email = p.anyOne
	case p.userName != "":
		p.in.Email = p.userName // refused as not an address, naming the field
	}
	if !p.nameSet {
		return
	}
	switch {
	case strings.TrimSpace(p.display) != "":
		p.in.Name = p.display
	case strings.TrimSpace(p.formatted) != "":
		p.in.Name = p.formatted
	case strings.TrimSpace(p.given+p.family) != "":
		p.in.Name = strings.TrimSpace(p.given + " " + p.family)
	}
}

func (h *userHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u, err := h.ids.DirectoryCreateUser(r.Context(), principal(r), userInput(attrs))
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return userResource(u), nil
}

func (h *userHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	u, err := h.ids.DirectoryUser(r.Context(), principal(r), id)
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return userResource(u), nil
}

// GetAll lists people. The filters identity providers send to find one
// (userName, externalId or emails.value eq) are answered by the database.
func (h *userHandler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	return listPage(params, map[string]string{"id": "id", "username": "email", "externalid": "external_id", "emails.value": "email", "emails": "email"},
		func(q identity.DirectoryQuery) ([]*identity.DirectoryUser, int, error) {
			list, total, err := h.ids.DirectoryUsers(r.Context(), principal(r), q)
			if err != nil {
				return nil, 0, scimError(h.log, err)
			}
			return list, total, nil
		}, userResource)
}

func (h *userHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u, err := h.ids.DirectoryUpdateUser(r.Context(), principal(r), id, userInput(attrs))
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return userResource(u), nil
}

func (h *userHandler) Delete(r *http.Request, id string) error {
	if err := h.ids.DirectoryDeleteUser(r.Context(), principal(r), id); err != nil {
		return scimError(h.log, err)
	}
	return nil
}

// Patch applies the operations to the person as they are: add and replace
// set an attribute (or, without a path, each attribute of the value);
// remove clears externalId and leaves what a person must have.
func (h *userHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	u, err := h.ids.DirectoryChangeUser(r.Context(), principal(r), id, func(in *identity.DirectoryUserInput) error {
		name := in.Name
		p := userPatch{in: in, userName: in.Email}
		for _, op := range ops {
			path := ""
			if op.Path != nil {
				path = op.Path.AttributePath.String()
				if op.Path.SubAttribute != nil {
					path += "." + *op.Path.SubAttribute
				}
			}
			switch {
			case op.Op == scim.PatchOperationRemove:
				if strings.EqualFold(path, "externalId") {
					in.ExternalID = ""
				}
			case path == "":
				m, ok := op.Value.(map[string]any)
				if !ok {
					return scimerrors.ScimErrorInvalidValue
				}
				for k, v := range m {
					p.set(k, v)
				}
			default:
				p.set(path, op.Value)
			}
		}
		p.finish()
		if !p.nameSet {
			in.Name = name
		}
		return nil
	})
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return userResource(u), nil
}

// conditions reads a filter the database answers: "attribute eq value"
// on one of fields (lower-case attribute path → directory field), the
// form attribute[value eq "…"] (emails, members), and "and" of such.
func conditions(e filter.Expression, fields map[string]string) ([]identity.DirectoryCond, bool) {
	var path filter.AttributePath
	var cmp any
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator != filter.AND {
			return nil, false
		}
		left, ok := conditions(x.Left, fields)
		if !ok {
			return nil, false
		}
		right, ok := conditions(x.Right, fields)
		return append(left, right...), ok
	case *filter.AttributeExpression:
		if x.Operator != filter.EQ {
			return nil, false
		}
		path, cmp = x.AttributePath, x.CompareValue
	case *filter.ValuePath:
		inner, ok := x.ValueFilter.(*filter.AttributeExpression)
		if !ok || inner.Operator != filter.EQ || !strings.EqualFold(inner.AttributePath.AttributeName, "value") || inner.AttributePath.SubAttribute != nil {
			return nil, false
		}
		path, cmp = x.AttributePath, inner.CompareValue
	default:
		return nil, false
	}
	name := strings.ToLower(path.AttributeName)
	if path.SubAttribute != nil {
		name += "." + strings.ToLower(*path.SubAttribute)
	}
	value, isString := cmp.(string)
	field, ok := fields[name]
	if !ok || !isString || path.URIPrefix != nil {
		return nil, false
	}
	return []identity.DirectoryCond{{Field: field, Value: value}}, true
}
