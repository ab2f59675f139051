package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ticketContext is what an agent sees around a ticket (issue 20's
// workspace): where its service sits on the service map, what its
// requester holds, and the other open incidents on the same service. Each
// part is read as the agent, so it names only what the agent may read;
// a part the agent may not read at all is left out.
type ticketContext struct {
	// StandsOn and StoodOnBy are the service's neighbours on the map,
	// nearest first.
	StandsOn, StoodOnBy []catalog.Node
	// Holds are the requester's instances (newest first).
	Holds []*orders.Instance
	// Incidents are the other open incidents on the service.
	Incidents []*desk.Ticket
	// ConfigItems are the configuration items the service stands on,
	// which the ticket may be narrowed to.
	ConfigItems []catalog.Node
}

// maxConfigItems bounds the configuration items offered.
const maxConfigItems = 200

// contextSize bounds each list.
const contextSize = 8

func (p *Portal) ticketContext(r *http.Request, d *desk.Detail) (ticketContext, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	var c ticketContext
	denied := func(err error) bool { return errs.Is(err, errs.CodeForbidden) }
	m, err := p.Catalog.Around(ctx, pr, catalog.Node{Type: "service", ID: d.Service.ID})
	switch {
	case denied(err):
	case err != nil:
		return c, err
	default:
		key := "service:" + d.Service.ID
		c.StandsOn = nodes(m.Supports(key), func(d *catalog.Dependency) catalog.Node { return d.To })
		c.StoodOnBy = nodes(m.Dependents(key), func(d *catalog.Dependency) catalog.Node { return d.From })
		seen := map[string]bool{}
		for _, dep := range m.Supports(key) {
			if n := dep.To; n.Type == "ci" && !seen[n.ID] && len(c.ConfigItems) < maxConfigItems {
				seen[n.ID] = true
				c.ConfigItems = append(c.ConfigItems, n)
			}
		}
		slices.SortFunc(c.ConfigItems, func(a, b catalog.Node) int { return strings.Compare(a.Name, b.Name) })
	}
	if d.Requester != nil {
		held, err := p.Orders.Instances(ctx, pr, orders.InstanceFilter{OwnerID: d.Requester.ID, Page: sqldb.Page{Limit: contextSize}})
		switch {
		case denied(err):
		case err != nil:
			return c, err
		default:
			c.Holds = held.Items
		}
	}
	if d.Kind == desk.Incident || d.Kind == desk.Problem {
		open, err := p.Desk.Tickets(ctx, pr, desk.Filter{Kind: desk.Incident, State: "open", Service: d.Service.ID, Page: sqldb.Page{Limit: contextSize + 1}})
		if err != nil && !denied(err) {
			return c, err
		}
		for _, t := range open.Items {
			if t.ID != d.ID && len(c.Incidents) < contextSize {
				c.Incidents = append(c.Incidents, t)
			}
		}
	}
	return c, nil
}

// nodes are the far ends of deps, each once, at most contextSize.
func nodes(deps []*catalog.Dependency, end func(*catalog.Dependency) catalog.Node) []catalog.Node {
	var out []catalog.Node
	seen := map[string]bool{}
	for _, d := range deps {
		n := end(d)
		if !seen[n.Key()] && len(out) < contextSize {
			seen[n.Key()] = true
			out = append(out, n)
		}
	}
	return out
}
