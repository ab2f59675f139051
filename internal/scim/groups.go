package scim

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	scim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	scimfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/optional"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/steward-itaas/steward/internal/identity"
)

type groupHandler struct {
	ids *identity.Service
	log *slog.Logger
}

func groupResource(g *identity.DirectoryGroup) scim.Resource {
	created, modified := g.CreatedAt, g.UpdatedAt
	members := make([]any, len(g.Members))
	for i, m := range g.Members {
		members[i] = map[string]any{"value": m.ID, "display": m.Name, "type": "User"}
	}
	r := scim.Resource{ID: g.ID, Attributes: scim.ResourceAttributes{"displayName": g.Name, "members": members},
		Meta: scim.Meta{Created: &created, LastModified: &modified, Version: version(modified)}}
	if g.ExternalID != "" {
		r.ExternalID = optional.NewString(g.ExternalID)
	}
	return r
}

// memberIDs reads members' values from a members attribute or a PATCH value.
func memberIDs(v any) []string {
	var ids []string
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, e := range list {
		m, _ := e.(map[string]any)
		if value, ok := lookup(m, "value"); ok && str(value) != "" {
			ids = append(ids, str(value))
		}
	}
	return ids
}

func groupInput(attrs scim.ResourceAttributes) identity.DirectoryGroupInput {
	var in identity.DirectoryGroupInput
	for k, v := range attrs {
		switch strings.ToLower(k) {
		case "displayname":
			in.Name = str(v)
		case "externalid":
			in.ExternalID = str(v)
		case "members":
			in.MemberIDs = memberIDs(v)
		}
	}
	return in
}

func (h *groupHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	g, err := h.ids.DirectoryCreateGroup(r.Context(), principal(r), groupInput(attrs))
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return groupResource(g), nil
}

func (h *groupHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	g, err := h.ids.DirectoryGroup(r.Context(), principal(r), id)
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return groupResource(g), nil
}

// GetAll lists groups: displayName or externalId eq is answered by the
// database; any other filter (such as Entra ID's members[value eq "…"]
// check) is applied to every group in turn.
func (h *groupHandler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	return listPage(params, map[string]string{"id": "id", "displayname": "name", "externalid": "external_id", "members": "member", "members.value": "member"},
		func(q identity.DirectoryQuery) ([]*identity.DirectoryGroup, int, error) {
			list, total, err := h.ids.DirectoryGroups(r.Context(), principal(r), q)
			if err != nil {
				return nil, 0, scimError(h.log, err)
			}
			return list, total, nil
		}, groupResource)
}

func (h *groupHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	g, err := h.ids.DirectoryUpdateGroup(r.Context(), principal(r), id, groupInput(attrs))
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return groupResource(g), nil
}

func (h *groupHandler) Delete(r *http.Request, id string) error {
	if err := h.ids.DirectoryDeleteGroup(r.Context(), principal(r), id); err != nil {
		return scimError(h.log, err)
	}
	return nil
}

// Patch applies the operations identity providers send to groups: add or
// remove members (remove by value list or by members[value eq "…"]),
// replace the members, displayName or externalId, with or without a path.
func (h *groupHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	g, err := h.ids.DirectoryChangeGroup(r.Context(), principal(r), id, func(in *identity.DirectoryGroupInput) error {
		for _, op := range ops {
			if err := patchGroup(in, op); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return scim.Resource{}, scimError(h.log, err)
	}
	return groupResource(g), nil
}

// patchGroup applies one operation to a group.
func patchGroup(in *identity.DirectoryGroupInput, op scim.PatchOperation) error {
	set := func(attr string, v any) error {
		switch strings.ToLower(attr) {
		case "displayname":
			in.Name = str(v)
		case "externalid":
			in.ExternalID = str(v)
			if op.Op == scim.PatchOperationRemove {
				in.ExternalID = ""
			}
		case "members":
			ids := memberIDs(v)
			switch op.Op {
			case scim.PatchOperationAdd:
				in.MemberIDs = append(in.MemberIDs, ids...)
			case scim.PatchOperationReplace:
				in.MemberIDs = ids
			case scim.PatchOperationRemove:
				if v == nil {
					in.MemberIDs = nil // remove "members": all of them
				}
				in.MemberIDs = slices.DeleteFunc(in.MemberIDs, func(m string) bool { return slices.Contains(ids, m) })
			}
		default:
			return scimerrors.ScimErrorInvalidPath
		}
		return nil
	}
	switch {
	case op.Path == nil:
		m, ok := op.Value.(map[string]any)
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		for k, v := range m {
			if err := set(k, v); err != nil {
				return err
			}
		}
		return nil
	case op.Path.ValueExpression != nil:
		// members[value eq "…"]: remove the member it names.
		conds, ok := conditions(&filter.ValuePath{AttributePath: op.Path.AttributePath, ValueFilter: op.Path.ValueExpression}, map[string]string{"members": "id"})
		if !ok || op.Op != scim.PatchOperationRemove {
			return scimerrors.ScimErrorInvalidPath
		}
		in.MemberIDs = slices.DeleteFunc(in.MemberIDs, func(m string) bool { return m == conds[0].Value })
		return nil
	}
	return set(op.Path.AttributePath.AttributeName, op.Value)
}

// filterValidator applies a filter the database does not answer to a
// resource as SCIM returns it (with its id and externalId).
type filterValidator struct {
	v *scimfilter.Validator
}

func (f *filterValidator) passes(r scim.Resource) bool {
	attrs := make(map[string]any, len(r.Attributes)+2)
	for k, v := range r.Attributes {
		attrs[k] = v
	}
	attrs["id"] = r.ID
	if r.ExternalID.Present() {
		attrs["externalId"] = r.ExternalID.Value()
	}
	return f.v.PassesFilter(attrs) == nil
}

// MaxFilterScan is the most resources a filter the database does not
// answer is applied to, one by one; beyond it the filter is refused.
const MaxFilterScan = 10000

// listPage answers a list request (RFC 7644 section 3.4.2): with no
// filter, or one the database answers (conditions), one page from the
// database; with any other filter, every resource in turn through the
// filter, PageSize at a time, counting the matches and keeping the page
// asked for, as long as there are at most MaxFilterScan.
func listPage[T any](params scim.ListRequestParams, fields map[string]string, load func(identity.DirectoryQuery) ([]T, int, error), resource func(T) scim.Resource) (scim.Page, error) {
	offset, limit := page(params)
	q := identity.DirectoryQuery{Offset: offset, Limit: max(limit, 1)}
	out := scim.Page{Resources: []scim.Resource{}}
	var rest *filterValidator
	if params.FilterValidator != nil {
		if conds, ok := conditions(params.FilterValidator.GetFilter(), fields); ok {
			q.Where = conds
		} else {
			rest = &filterValidator{v: params.FilterValidator}
		}
	}
	if rest == nil {
		list, total, err := load(q)
		if err != nil {
			return scim.Page{}, err
		}
		out.TotalResults = total
		for _, x := range list[:min(limit, len(list))] {
			out.Resources = append(out.Resources, resource(x))
		}
		return out, nil
	}
	if _, total, err := load(identity.DirectoryQuery{Limit: 1}); err != nil {
		return scim.Page{}, err
	} else if total > MaxFilterScan {
		return scim.Page{}, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidFilter,
			Detail: fmt.Sprintf("with more than %d resources, filter with eq on id, externalId, userName, emails.value, displayName or members.value (joined by and)", MaxFilterScan)}
	}
	for from := 0; ; from += PageSize {
		list, _, err := load(identity.DirectoryQuery{Offset: from, Limit: PageSize})
		if err != nil {
			return scim.Page{}, err
		}
		for _, x := range list {
			res := resource(x)
			if !rest.passes(res) {
				continue
			}
			if out.TotalResults >= offset && len(out.Resources) < limit {
				out.Resources = append(out.Resources, res)
			}
			out.TotalResults++
		}
		if len(list) < PageSize {
			return out, nil
		}
	}
}
