package desk

import (
	"context"
	"fmt"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
)

// A ticket names a service and, where the trouble is narrower, a
// configuration item on that service's map (issue 20): the service routes
// it and times it; the configuration item is what an incident's outage
// takes down.

func ciInvalid(format string, args ...any) error {
	return &errs.Error{Code: errs.CodeInvalid, Message: "the ticket is not valid",
		Fields: []errs.FieldError{{Field: "config_item", Rule: "map", Message: fmt.Sprintf(format, args...)}}}
}

// serviceMap is the service map, for finding configuration items; read
// before any write transaction, which it would otherwise hold up.
func (s *Service) serviceMap(ctx context.Context) (*catalog.Map, error) {
	return s.cat.ServiceMap(ctx, access.System())
}

// configItem finds the configuration item ref (ID or code) on the service
// map m: one the service serviceID stands on (directly or not), or, with
// serviceID empty, any, with the nearest service standing on it, which the
// ticket is then about. Errors: invalid (field config_item).
func configItem(m *catalog.Map, ref, serviceID string) (ci *Ref, service string, err error) {
	ref = strings.TrimSpace(ref)
	for _, n := range m.Nodes {
		if n.Type == "ci" && (n.ID == ref || n.Code == ref) {
			ci = &Ref{ID: n.ID, Code: n.Code, Name: n.Name}
			break
		}
	}
	if ci == nil {
		return nil, "", ciInvalid("no configuration item %q on the service map: name one by code or ID", ref)
	}
	key := "ci:" + ci.ID
	if serviceID == "" {
		for _, d := range m.Dependents(key) {
			if d.From.Type == "service" {
				return ci, d.From.ID, nil
			}
		}
		return nil, "", ciInvalid("no service stands on %s: name the service the ticket is about", ci.Name)
	}
	for _, d := range m.Supports("service:" + serviceID) {
		if d.To.Key() == key {
			return ci, serviceID, nil
		}
	}
	return nil, "", ciInvalid("%s is not on the service's map: name a configuration item the service stands on", ci.Name)
}

// outageOf is in as the outage of what the ticket names: its
// configuration item if it has one (the map carries it to the services
// that fail with it), else its service.
func outageOf(t *Ticket, in sla.OutageInput) sla.OutageInput {
	if t.ConfigItem != nil {
		in.ConfigItem = t.ConfigItem.ID
	} else {
		in.Service = t.Service.ID
	}
	return in
}
