package web

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// step is one step of the getting-started checklist.
type step struct {
	Title, Text, Href, Link string
	Done                    bool
}

// gettingStarted is the home page's checklist for whoever sets Steward up
// (issue 17, item 10): shown to those who may propose services until the
// first service is live, each step done or linked to where it is done.
// Each fact is read with the reader's own rights; a step whose page the
// reader may not open has no link.
func (p *Portal) gettingStarted(r *http.Request) ([]step, error) {
	pr := middleware.Principal(r.Context())
	if !pr.CanAnywhere(access.PortfolioManage) {
		return nil, nil
	}
	ctx := r.Context()
	// Each fact is a page of one: the home page costs the same for a
	// portfolio of 10,000 services (issue 18).
	live, err := p.Catalog.ServicePage(ctx, pr, catalog.ServiceFilter{Lifecycle: catalog.LifecycleLive, Page: sqldb.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(live.Items) > 0 {
		return nil, nil
	}
	services, err := p.Catalog.ServicePage(ctx, pr, catalog.ServiceFilter{Page: sqldb.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	var steps []step
	if pr.CanAnywhere(access.OrgUnitManage) {
		units, err := p.Identity.OrgUnitPage(ctx, pr, identity.OrgUnitFilter{Page: sqldb.Page{Limit: 1}})
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{Title: "Describe your customers", Text: "Add the business units, departments and cost centres you serve: orders, costs and agreements hang on them.",
			Href: "/admin/org-units", Link: "Org units", Done: len(units.Items) > 0})
	}
	if pr.CanAnywhere(access.UserManage) {
		users, err := p.Identity.Users(ctx, pr, identity.UserFilter{Page: sqldb.Page{Limit: 2}})
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{Title: "Invite people and grant roles", Text: "Service owners, approvers, agents and consumers each need a role on an org unit or on the whole provider.",
			Href: "/admin/users", Link: "Users", Done: len(users.Items) > 1})
	}
	steps = append(steps, step{Title: "Propose your first service", Text: "A portfolio entry says what the service is, who owns it, what it depends on and its service hours.",
		Href: "/portfolio", Link: "Portfolio", Done: len(services.Items) > 0})
	offerings := 0
	if pr.CanAnywhere(access.CatalogRead) {
		os, err := p.Catalog.Search(ctx, pr, catalog.OfferingFilter{Page: sqldb.Page{Limit: 1}})
		if err != nil {
			return nil, err
		}
		offerings = len(os.Items)
	}
	steps = append(steps, step{Title: "Offer it in the catalog", Text: "On the service's page, add an offering with plans, prices and an order form. (Or import a whole catalog: steward catalog import FILE.)",
		Href: "/portfolio", Link: "Portfolio", Done: offerings > 0})
	if pr.CanAnywhere(access.MeterManage) {
		steps = append(steps, step{Title: "Meter what is used", Text: "Define meters for usage-priced plans; metering agents send events to the API.", Href: "/admin/meters", Link: "Meters"})
	}
	if pr.Can(access.BillingManage, access.Resource{}) {
		accounts, err := p.Billing.Accounts(ctx, pr, billing.AccountFilter{Page: sqldb.Page{Limit: 1}})
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{Title: "Open billing accounts", Text: "Say which org units get invoices (chargeback) or statements (showback), in which currency.",
			Href: "/billing", Link: "Billing", Done: len(accounts.Items) > 0})
	}
	if pr.CanAnywhere(access.AgreementManage) {
		steps = append(steps, step{Title: "Agree service levels", Text: "An SLA with its service hours, targets and rebates; OLAs and underpinning contracts beneath it.",
			Href: "/sla/agreements/new", Link: "New agreement"})
	}
	steps = append(steps, step{Title: "Make the service live", Text: "Move it through its lifecycle on its portfolio page: once live, its offerings take orders. This list goes away then.",
		Href: "/portfolio", Link: "Portfolio"})
	return steps, nil
}
