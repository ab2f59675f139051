package web

import (
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sla"
)

// NavGroup is one group of the navigation: the sections of one kind of
// work (issue 17, item 5). A group of one section is shown as that
// section's link; a larger one opens as a menu, so that every section is
// at most two clicks away however many there are.
type NavGroup struct {
	Label   string
	Items   []NavItem
	Current bool // the page shown is one of the group's
}

// NavItem is one link of the navigation.
type NavItem struct {
	Label, Href string
	Current     bool
}

// navSection is a section of the portal and who may open it.
type navSection struct {
	label, href string
	may         func(*access.Principal) bool
}

func anywhere(a access.Action) func(*access.Principal) bool {
	return func(p *access.Principal) bool { return p.CanAnywhere(a) }
}

func everyone(*access.Principal) bool { return true }

// navigation is the portal's map: groups by what people do, each section
// with the rule that decides whether its page would open for the reader.
// A section is listed only where its page answers 200 to the reader (the
// every-persona crawl in crawl_test.go holds every link to that). New sections join a
// group here; new kinds of work get a group.
var navigation = []struct {
	label    string
	sections []navSection
}{
	{"My IT", []navSection{
		{"Catalog", "/catalog", anywhere(access.CatalogRead)},
		{"Cart", "/cart", anywhere(access.OrderCreate)},
		{"Orders", "/orders", everyone},
		{"My services", "/my-services", anywhere(access.InstanceRead)},
		{"My costs", "/costs", anywhere(access.BillingRead)},
		{"Usage", "/usage", anywhere(access.UsageRead)},
		{"Get help", "/help", anywhere(access.TicketCreate)},
		{"Knowledge", "/knowledge", knowledge.MayRead},
	}},
	// Anyone may be a service's sponsor, so everyone has an approvals inbox.
	{"Work", []navSection{
		{"Approvals", "/approvals", everyone},
		{"Tickets", "/tickets", mayUseDesk},
		{"Tasks", "/tasks", anywhere(access.TaskWork)},
		{"Notifications", "/notifications", everyone},
	}},
	{"Service management", []navSection{
		{"Portfolio", "/portfolio", anywhere(access.ServiceRead)},
		{"Service levels", "/sla", anywhere(access.AgreementRead)},
		{"Outages", "/sla/outages", sla.MayReadOutages},
		{"Changes", "/changes", desk.MayPlanChanges},
	}},
	{"Finance", []navSection{
		// The billing screen is the whole provider's: a global grant.
		{"Billing", "/billing", func(p *access.Principal) bool { return p.Can(access.BillingManage, access.Resource{}) }},
		{"Meters", "/admin/meters", anywhere(access.MeterManage)},
	}},
	{"Suppliers", []navSection{
		{"Providers", "/admin/providers", anywhere(access.ProviderRead)},
		{"Blueprints", "/admin/blueprints", anywhere(access.ProviderRead)},
		{"Platforms", "/admin/platforms", anywhere(access.PlatformManage)},
	}},
	{"Administration", []navSection{
		{"Org units", "/admin/org-units", anywhere(access.OrgUnitRead)},
		{"Users", "/admin/users", anywhere(access.UserRead)},
		{"Groups", "/admin/groups", anywhere(access.GroupRead)},
		{"Audit log", "/audit", anywhere(access.AuditRead)},
		{"Jobs", "/admin/jobs", anywhere(access.JobRead)},
		{"Webhooks", "/admin/webhooks", mayReadWebhooks},
		{"Mail log", "/admin/mails", anywhere(access.JobRead)},
		{"Single sign-on", "/admin/identity-providers", anywhere(access.IdentityProviderManage)},
		{"Directory sync", "/admin/directory-sync", mayManageDirectory},
	}},
}

// navFor is the navigation for a reader on a page: only the sections the
// reader may open, grouped, with the current one marked.
func navFor(pr *access.Principal, path string) []NavGroup {
	if pr == nil {
		return nil
	}
	var out []NavGroup
	for _, g := range navigation {
		ng := NavGroup{Label: g.label}
		for _, s := range g.sections {
			if !s.may(pr) {
				continue
			}
			it := NavItem{Label: s.label, Href: s.href, Current: s.href == path || strings.HasPrefix(path, s.href+"/")}
			ng.Items = append(ng.Items, it)
		}
		// The deepest match is the current one: /sla/outages, not /sla.
		best := -1
		for i, it := range ng.Items {
			if it.Current && (best < 0 || len(it.Href) > len(ng.Items[best].Href)) {
				best = i
			}
		}
		for i := range ng.Items {
			ng.Items[i].Current = i == best
		}
		ng.Current = best >= 0
		if len(ng.Items) > 0 {
			out = append(out, ng)
		}
	}
	return out
}
