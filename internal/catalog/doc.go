// Package catalog is the service portfolio and the self-service catalog.
//
// The portfolio holds every service IT runs, plans or retires (Service):
// business, technical or external, with its owners, outcomes, value,
// criticality, roadmap, service hours (Calendar) and continuity, moved
// through a lifecycle (proposed → approved → in design → live → retiring →
// retired) one legal step at a time, each step recorded with who and why.
//
// The service map links services and configuration items (ConfigItem) by
// dependencies of a kind; some kinds must stay acyclic. Dependencies may form
// redundancy groups (a service needs k of the n members of a group), so
// Impact ("what breaks if X fails") only counts a group as failed when fewer
// than k members remain.
//
// Live services are offered in the catalog as offerings (Offering) with plans
// (Plan: tiers with a simple price, a quota and the agreement they come
// with), an order form (a JSON Schema subset, see Form), an audience (which
// org units and roles may see and order), add-ons and bundles. Quotas per org
// unit and offering are counted with reservations that a single conditional
// UPDATE takes, so concurrent orders never exceed them on either database.
//
// Who may do what: service.read for the portfolio and map, service.manage
// (portfolio manager, or service owner on the service) to edit a service and
// its offerings, portfolio.manage (portfolio manager) to create services,
// move them through the lifecycle, keep configuration items and import the
// portfolio; catalog.read to browse, within each offering's audience.
package catalog
