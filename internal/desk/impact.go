package desk

import (
	"context"
	"sort"
	"strconv"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TicketImpact is what an incident's outage takes down (issue 20,
// "the impacted services and org units are shown on the incident"): the
// services that fail with its service along the service map (honouring
// redundancy, as availability counts them) and the org units holding
// active instances of any of them.
type TicketImpact struct {
	Services []Ref `json:"services"`
	OrgUnits []Ref `json:"org_units"`
}

// maxImpactOrgUnits is the most org units an impact names.
const maxImpactOrgUnits = 50

// impact computes the impact of the incident's declared outage, for
// whoever works it (who may read the map and the org units): nil for
// other tickets and other readers.
func (s *Service) impact(ctx context.Context, q sqldb.Querier, t *Ticket, works bool) (*TicketImpact, error) {
	if t.Kind != Incident || t.OutageID == "" || !works {
		return nil, nil
	}
	m, err := catalog.LoadMap(ctx, q)
	if err != nil {
		return nil, err
	}
	key := "service:" + t.Service.ID
	out := &TicketImpact{Services: []Ref{t.Service}, OrgUnits: []Ref{}}
	ids := []string{t.Service.ID}
	if t.ConfigItem != nil {
		// The configuration item's outage: the services that fail with it
		// (its own service may not, standing on a redundant pair).
		key, out.Services, ids = "ci:"+t.ConfigItem.ID, []Ref{}, nil
	}
	if _, ok := m.Nodes[key]; ok {
		for k := range m.Propagate(map[string]bool{key: true}) {
			if n := m.Nodes[k]; n.Type == "service" {
				out.Services = append(out.Services, Ref{ID: n.ID, Code: n.Code, Name: n.Name})
				ids = append(ids, n.ID)
			}
		}
	}
	first := 1 // the ticket's service first
	if t.ConfigItem != nil {
		first = 0
	}
	sort.SliceStable(out.Services[first:], func(i, j int) bool { return out.Services[first+i].Name < out.Services[first+j].Name })
	if len(ids) == 0 {
		return out, nil
	}
	var args sqldb.Args
	in := sqldb.In(&args, "i.service_id", ids)
	out.OrgUnits, err = sqldb.QueryAll(ctx, q, "org units", func(row sqldb.Scanner) (Ref, error) {
		var r Ref
		return r, row.Scan(&r.ID, &r.Code, &r.Name)
	}, `SELECT DISTINCT ou.id, ou.code, ou.name FROM instances i JOIN org_units ou ON ou.id = i.org_unit_id WHERE i.state = 'active' AND `+in+`
		ORDER BY ou.name, ou.id LIMIT `+strconv.Itoa(maxImpactOrgUnits), args...)
	return out, err
}
