// Package access decides who may do what, and where. It holds the roles of
// the design (consumer, approver, … admin, auditor), the actions the services
// check, the table of which role allows which action, and Principal: the
// authenticated caller with the grants that give it roles on a scope.
//
// A grant gives a role on a scope: the whole provider (global), an org-unit
// subtree, or one service. A principal may do an action on a resource when
// one of its grants' roles allows the action and the grant's scope covers the
// resource. Services call Principal.Require before they read or write, so
// the API, the portal, the CLI and the jobs reach the same decision.
//
// Domain packages add their actions to the table as they arrive; the table
// and the scope rule stay in this one place. The admin role allows every
// action but three (adminActions), so a new action is the admin's unless it
// is excluded there.
package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/steward-itaas/steward/internal/errs"
)

// Role is a set of allowed actions, granted on a scope.
type Role string

// The roles of the design.
const (
	RoleConsumer            Role = "consumer"
	RoleApprover            Role = "approver"
	RoleRelationshipManager Role = "relationship_manager"
	RoleServiceOwner        Role = "service_owner"
	RoleServiceManager      Role = "service_manager"
	RolePortfolioManager    Role = "portfolio_manager"
	RoleServiceLevelManager Role = "service_level_manager"
	RoleFinancialManager    Role = "financial_manager"
	RoleChangeManager       Role = "change_manager"
	RoleAgent               Role = "agent"
	RoleSupplierManager     Role = "supplier_manager"
	RoleAdmin               Role = "admin"
	RoleAuditor             Role = "auditor"
	RoleUsageReporter       Role = "usage_reporter"
	RoleMonitoring          Role = "monitoring"     // monitoring systems (Alertmanager) reporting outages
	RoleDirectorySync       Role = "directory_sync" // identity providers pushing users and groups over SCIM
)

// Roles lists every role in the order the portal shows them.
var Roles = []Role{
	RoleConsumer, RoleApprover, RoleRelationshipManager, RoleServiceOwner, RoleServiceManager,
	RolePortfolioManager, RoleServiceLevelManager, RoleFinancialManager, RoleChangeManager,
	RoleAgent, RoleSupplierManager, RoleAdmin, RoleAuditor, RoleUsageReporter, RoleMonitoring, RoleDirectorySync,
}

// roleInfo describes each role for people.
var roleInfo = map[Role]string{
	RoleConsumer:            "Browses the catalog, orders, sees their org unit's services and costs.",
	RoleApprover:            "Approves orders and changes that policy routes to them.",
	RoleRelationshipManager: "Sees everything of the business units they look after.",
	RoleServiceOwner:        "Owns a service end to end: portfolio entry, offerings, prices, agreements.",
	RoleServiceManager:      "Runs a service for one business unit, cost centre or geography.",
	RolePortfolioManager:    "Keeps the portfolio and catalog current.",
	RoleServiceLevelManager: "Defines SLAs, OLAs and underpinning contracts; reviews compliance.",
	RoleFinancialManager:    "Cost pools, budgets, billing runs, invoices.",
	RoleChangeManager:       "Decides requests for change.",
	RoleAgent:               "Fulfils requests, works tickets (incidents, requests, problems), records outages.",
	RoleSupplierManager:     "Manages external providers and their contracts.",
	RoleAdmin:               "Runs the platform and may reach and configure all of it (org units, users, roles, groups, jobs, services, prices, billing, meters, agreements, providers) and order; decides no approvals and sends no usage.",
	RoleAuditor:             "Reads everything, including the audit log; changes nothing.",
	RoleUsageReporter:       "Sends usage events (for metering agents and providers' API tokens); nothing else.",
	RoleMonitoring:          "Reports outages (for Alertmanager's API token); nothing else.",
	RoleDirectorySync:       "Pushes users and groups from the company directory over SCIM (for an identity provider's SCIM token); nothing else.",
}

// Description says what a role is for.
func (r Role) Description() string { return roleInfo[r] }

// ForMachines reports whether the role is one for machines' API tokens
// (metering agents, monitoring, the directory), never for people or groups.
func (r Role) ForMachines() bool {
	return r == RoleUsageReporter || r == RoleMonitoring || r == RoleDirectorySync
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := roleInfo[r]; return ok }

// Action is something a service checks before doing it.
type Action string

// The actions of the foundation. Domain issues add theirs here.
const (
	OrgUnitRead   Action = "org_unit.read"
	OrgUnitManage Action = "org_unit.manage"
	UserRead      Action = "user.read"
	UserManage    Action = "user.manage"
	GrantManage   Action = "grant.manage"
	GroupRead     Action = "group.read"
	GroupManage   Action = "group.manage"
	AuditRead     Action = "audit.read"
	JobRead       Action = "job.read"
	JobManage     Action = "job.manage"

	// Portfolio and catalog.
	ServiceRead     Action = "service.read"     // read portfolio entries, the service map
	ServiceManage   Action = "service.manage"   // edit a service's entry, map and offerings
	PortfolioManage Action = "portfolio.manage" // create services, move them through their lifecycle, CIs, import
	CatalogRead     Action = "catalog.read"     // browse the catalog (within each offering's audience)
	QuotaManage     Action = "quota.manage"     // set quotas per org unit and offering
	PolicyManage    Action = "approval_policy.manage"

	// Orders, approvals, fulfilment, instances.
	OrderCreate  Action = "order.create"  // order for an org unit (the cost centre charged)
	OrderRead    Action = "order.read"    // read an org unit's orders
	OrderApprove Action = "order.approve" // act on approvals routed to one's role
	TaskWork     Action = "task.work"     // work fulfilment tasks of a service
	InstanceRead Action = "instance.read" // read an org unit's service instances

	// Metering.
	UsageIngest Action = "usage.ingest" // send usage events
	UsageRead   Action = "usage.read"   // read an org unit's metered usage
	MeterManage Action = "meter.manage" // define meters

	// Rating and billing.
	PriceManage   Action = "price.manage"   // write price versions of a service's plans
	BillingRead   Action = "billing.read"   // read an org unit's invoices, statements and costs
	BillingManage Action = "billing.manage" // billing accounts, runs, finalising, payments, credit notes

	// Provisioning.
	ProviderRead    Action = "provider.read"    // see providers, their offers, health, placement policies and blueprints
	ProviderManage  Action = "provider.manage"  // register providers, their offers and prices, placement policies, catalog imports
	BlueprintManage Action = "blueprint.manage" // upload blueprint versions (plans name the version they are made by)
	PlatformManage  Action = "platform.manage"  // register platforms that order through Steward's OSB API

	// Service level management.
	AgreementRead   Action = "agreement.read"   // read agreements (SLAs of one's org unit), their compliance and breaches
	AgreementManage Action = "agreement.manage" // define SLAs, OLAs and UCs: scope, calendar, targets, rebates
	OutageRecord    Action = "outage.record"    // record outages and incidents (by hand or from monitoring)

	// Service desk
	TicketCreate  Action = "ticket.create"  // raise tickets for an org unit (one's own are one's to read and comment)
	TicketRead    Action = "ticket.read"    // read the tickets of an org unit or a service
	TicketWork    Action = "ticket.work"    // work tickets of a service: take, assign, hold, resolve, work notes
	DeskManage    Action = "desk.manage"    // configure the service desk: the priority matrix, reopening
	ChangeApprove Action = "change.approve" // decide requests for change routed to one's role (the change advisory board)
	ChangeManage  Action = "change.manage"  // standard change templates and change freezes

	// Single sign-on.
	IdentityProviderManage Action = "identity_provider.manage" // identity providers, their mapping rules, whether local passwords are allowed

	// Outbound webhooks: subscriptions of an org unit's subtree, or provider-wide.
	WebhookRead   Action = "webhook.read"   // see webhook subscriptions and their delivery logs
	WebhookManage Action = "webhook.manage" // add, change, test and redeliver webhook subscriptions

	// Directory sync (SCIM): create, change and deactivate people and
	// groups as the company directory says, through /scim/v2 only.
	DirectorySync Action = "directory.sync"
)

// Actions lists every action.
var Actions = []Action{
	OrgUnitRead, OrgUnitManage, UserRead, UserManage, GrantManage,
	GroupRead, GroupManage, AuditRead, JobRead, JobManage,
	ServiceRead, ServiceManage, PortfolioManage, CatalogRead, QuotaManage, PolicyManage,
	OrderCreate, OrderRead, OrderApprove, TaskWork, InstanceRead,
	UsageIngest, UsageRead, MeterManage,
	PriceManage, BillingRead, BillingManage,
	ProviderRead, ProviderManage, BlueprintManage, PlatformManage,
	AgreementRead, AgreementManage, OutageRecord,
	TicketCreate, TicketRead, TicketWork, DeskManage, ChangeApprove, ChangeManage,
	IdentityProviderManage,
	WebhookRead, WebhookManage,
	DirectorySync,
}

// actionInfo says what each action lets people do, in the words an error
// message puts after "you may not".
var actionInfo = map[Action]string{
	OrgUnitRead:     "see org units",
	OrgUnitManage:   "add or change org units",
	UserRead:        "see users",
	UserManage:      "add or change users",
	GrantManage:     "grant or revoke roles",
	GroupRead:       "see groups",
	GroupManage:     "add or change groups",
	AuditRead:       "read the audit log",
	JobRead:         "see background jobs",
	JobManage:       "run background jobs",
	ServiceRead:     "see the service portfolio",
	ServiceManage:   "change services, their service map or their offerings",
	PortfolioManage: "propose services or move them through their lifecycle",
	CatalogRead:     "browse the catalog",
	QuotaManage:     "set quotas",
	PolicyManage:    "change approval policies",
	OrderCreate:     "order",
	OrderRead:       "see orders",
	OrderApprove:    "approve orders",
	TaskWork:        "work fulfilment tasks",
	InstanceRead:    "see service instances",
	UsageIngest:     "send usage events",
	UsageRead:       "see metered usage",
	MeterManage:     "define meters",
	PriceManage:     "change prices",
	BillingRead:     "see invoices, statements and costs",
	BillingManage:   "run billing or change billing accounts and invoices",
	ProviderRead:    "see providers and blueprints",
	ProviderManage:  "register or change providers",
	BlueprintManage: "upload blueprints",
	PlatformManage:  "register platforms",
	AgreementRead:   "read service level agreements",
	AgreementManage: "define or change service level agreements",
	OutageRecord:    "record outages and incidents",
	TicketCreate:    "raise tickets",
	TicketRead:      "read tickets",
	TicketWork:      "work tickets",
	DeskManage:      "configure the service desk",
	ChangeApprove:   "decide requests for change",
	ChangeManage:    "manage change templates and freezes",

	IdentityProviderManage: "configure single sign-on",
	WebhookRead:            "see webhook subscriptions",
	WebhookManage:          "add or change webhook subscriptions",
	DirectorySync:          "push users and groups from a directory",
}

// Description says what the action lets people do ("see orders").
func (a Action) Description() string {
	if d, ok := actionInfo[a]; ok {
		return d
	}
	return strings.NewReplacer(".", " ", "_", " ").Replace(string(a))
}

// Name is the role for people: "service level manager".
func (r Role) Name() string { return strings.ReplaceAll(string(r), "_", " ") }

// providerReads is what every provider-side role may read within its scope.
var providerReads = []Action{OrgUnitRead, UserRead, GroupRead, ServiceRead, CatalogRead, OrderRead, InstanceRead, UsageRead, BillingRead, ProviderRead, AgreementRead, TicketRead}

// consumerActions is what the people the provider serves do in their org unit.
var consumerActions = []Action{OrgUnitRead, CatalogRead, OrderCreate, OrderRead, InstanceRead, UsageRead, BillingRead, AgreementRead, TicketCreate}

func with(base []Action, more ...Action) []Action { return append(slices.Clone(base), more...) }

// adminActions is every action but the three that are not the platform's to
// take: sending usage (machine tokens hold usage_reporter, so metered usage
// comes from the metering agents and providers only), pushing the
// directory (SCIM tokens hold directory_sync, so only the identity
// provider writes as the directory) and deciding approvals
// (approval policies route those to the sponsors, owners and roles the
// business names; an administrator who must decide one grants themselves
// the role, which the audit log records). The first administrator of a
// fresh install can so reach and configure everything (issue 17, item 10).
func adminActions() []Action {
	return slices.DeleteFunc(slices.Clone(Actions), func(a Action) bool {
		return a == UsageIngest || a == OrderApprove || a == ChangeApprove || a == DirectorySync
	})
}

// policy is the whole role → action table.
var policy = map[Role][]Action{
	RoleConsumer:            consumerActions,
	RoleApprover:            with(consumerActions, UserRead, OrderApprove),
	RoleRelationshipManager: with(consumerActions, UserRead, GroupRead, ServiceRead, OrderApprove, TicketRead),
	RoleServiceOwner:        with(providerReads, ServiceManage, OrderApprove, TaskWork, PriceManage, OutageRecord, TicketCreate, TicketWork, ChangeApprove),
	RoleServiceManager:      with(providerReads, TaskWork, OutageRecord, TicketCreate, TicketWork),
	RolePortfolioManager:    with(providerReads, ServiceManage, PortfolioManage, QuotaManage, PolicyManage, BlueprintManage),
	RoleServiceLevelManager: with(providerReads, AgreementManage, OutageRecord),
	RoleFinancialManager:    with(providerReads, OrderApprove, QuotaManage, PolicyManage, MeterManage, PriceManage, BillingManage),
	RoleChangeManager:       with(providerReads, TicketCreate, TicketWork, ChangeApprove, ChangeManage),
	RoleAgent:               with(providerReads, TaskWork, OutageRecord, TicketCreate, TicketWork),
	RoleSupplierManager:     with(providerReads, ProviderManage, BlueprintManage),
	RoleAdmin:               adminActions(),
	RoleAuditor:             with(providerReads, AuditRead, JobRead, WebhookRead),
	RoleUsageReporter:       {UsageIngest},
	RoleMonitoring:          {OutageRecord},
	RoleDirectorySync:       {DirectorySync},
}

// Allows reports whether the role allows the action (on the grant's scope).
func (r Role) Allows(a Action) bool { return slices.Contains(policy[r], a) }

// Allowed lists the actions a role allows.
func (r Role) Allowed() []Action { return slices.Clone(policy[r]) }

// RolesAllowing lists the roles that allow an action.
func RolesAllowing(a Action) []Role {
	var out []Role
	for _, r := range Roles {
		if r.Allows(a) {
			out = append(out, r)
		}
	}
	return out
}

// ScopeKind says what a grant covers.
type ScopeKind string

// The scope kinds.
const (
	ScopeGlobal  ScopeKind = "global"   // the whole provider
	ScopeOrgUnit ScopeKind = "org_unit" // an org unit and everything under it
	ScopeService ScopeKind = "service"  // one service
)

// Valid reports whether k is a known scope kind.
func (k ScopeKind) Valid() bool {
	return k == ScopeGlobal || k == ScopeOrgUnit || k == ScopeService
}

// Grant is a role on a scope, as the decision needs it.
type Grant struct {
	Role      Role
	ScopeKind ScopeKind
	ScopeID   string // org unit or service ID; empty for global
	// OrgUnitPath is the materialised path of the scope's org unit
	// ("/root-id/child-id/") for org-unit grants.
	OrgUnitPath string
}

// Resource is what an action is done to, as far as scope is concerned. The
// zero Resource is provider-wide: only global grants cover it.
type Resource struct {
	OrgUnitPath string // the owning org unit's path, when the resource belongs to one
	ServiceID   string // the service, when the resource belongs to one
}

// InOrgUnit is a resource owned by the org unit with the given path.
func InOrgUnit(path string) Resource { return Resource{OrgUnitPath: path} }

// Covers reports whether the grant's scope covers the resource.
func (g Grant) Covers(res Resource) bool {
	switch g.ScopeKind {
	case ScopeGlobal:
		return true
	case ScopeOrgUnit:
		return res.OrgUnitPath != "" && g.OrgUnitPath != "" && strings.HasPrefix(res.OrgUnitPath, g.OrgUnitPath)
	case ScopeService:
		return res.ServiceID != "" && res.ServiceID == g.ScopeID
	}
	return false
}

// Principal is an authenticated caller: a user (through a session or an API
// token) or the system itself (jobs, the CLI acting as the platform).
type Principal struct {
	UserID    string
	Name      string
	Email     string
	OrgUnitID string
	// OrgUnitPath is the materialised path of the user's own org unit: the
	// catalog shows offerings whose audience includes it.
	OrgUnitPath string
	Grants      []Grant
	// TokenID is set when the caller authenticated with an API token.
	TokenID string
	// TokenRoles are the roles an API token is limited to; empty for a
	// session or a token with all its owner's roles. Grants holds only
	// grants of these roles.
	TokenRoles []Role
	system     bool
}

// System returns the principal of the platform itself: it may do anything.
// Jobs and the first-admin bootstrap act as System; it is recorded as
// "system" in the audit log.
func System() *Principal {
	return &Principal{UserID: "system", Name: "system", system: true}
}

// IsSystem reports whether p is the platform itself.
func (p *Principal) IsSystem() bool { return p != nil && p.system }

// Can reports whether p may do the action on the resource.
func (p *Principal) Can(a Action, res Resource) bool {
	if p == nil {
		return false
	}
	if p.system {
		return true
	}
	for _, g := range p.Grants {
		if g.Role.Allows(a) && g.Covers(res) {
			return true
		}
	}
	return false
}

// CanAnywhere reports whether p may do the action on at least some resource;
// the portal uses it to decide what to show in the navigation.
func (p *Principal) CanAnywhere(a Action) bool {
	if p == nil {
		return false
	}
	if p.system {
		return true
	}
	for _, g := range p.Grants {
		if g.Role.Allows(a) {
			return true
		}
	}
	return false
}

// Require returns nil when p may do the action on the resource, an
// unauthenticated error when there is no principal, and a forbidden error
// naming the roles that would allow it otherwise.
func (p *Principal) Require(a Action, res Resource) error {
	if p == nil {
		return errs.Unauthenticated("sign in or send an API token to do this")
	}
	if p.Can(a, res) {
		return nil
	}
	return Forbidden(a)
}

// Forbidden is the error for a principal who may not do an action: what the
// action is, in words, and the roles that would allow it where the thing
// belongs.
func Forbidden(a Action) error {
	var names []string
	for _, r := range RolesAllowing(a) {
		names = append(names, r.Name())
	}
	roles := "the role " + names[0]
	if n := len(names); n > 1 {
		roles = "one of the roles " + strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return errs.Forbidden("you may not %s here: that takes %s, granted on its org unit or service or on the whole organisation; ask an administrator to grant one",
		a.Description(), roles)
}

// RequireAnywhere is Require for provider-wide directory data that any
// holder of the action, on any scope, may read (assignment groups, roles).
func (p *Principal) RequireAnywhere(a Action) error {
	if p == nil {
		return errs.Unauthenticated("sign in or send an API token to do this")
	}
	if p.CanAnywhere(a) {
		return nil
	}
	return Forbidden(a)
}

// OrgUnitScope says which org units an action reaches: all of them, or the
// subtrees under the returned paths (sorted, without nested duplicates).
// Services use it to filter lists.
func (p *Principal) OrgUnitScope(a Action) (all bool, paths []string) {
	if p == nil {
		return false, nil
	}
	if p.system {
		return true, nil
	}
	for _, g := range p.Grants {
		if !g.Role.Allows(a) {
			continue
		}
		switch g.ScopeKind {
		case ScopeGlobal:
			return true, nil
		case ScopeOrgUnit:
			paths = append(paths, g.OrgUnitPath)
		}
	}
	sort.Strings(paths)
	var out []string
	for _, path := range paths {
		if len(out) > 0 && strings.HasPrefix(path, out[len(out)-1]) {
			continue
		}
		out = append(out, path)
	}
	return false, out
}

// ServiceScope says which services an action reaches through grants on
// services or the whole provider: all of them, or those listed (grants on
// org units reach none). Services use it to filter lists of service work.
func (p *Principal) ServiceScope(a Action) (all bool, services []string) {
	if p == nil {
		return false, nil
	}
	if p.system {
		return true, nil
	}
	for _, g := range p.Grants {
		if !g.Role.Allows(a) {
			continue
		}
		switch g.ScopeKind {
		case ScopeGlobal:
			return true, nil
		case ScopeService:
			if !slices.Contains(services, g.ScopeID) {
				services = append(services, g.ScopeID)
			}
		}
	}
	return false, services
}

// Owns reports whether p may act on something because it is the user
// userID's (their order, their instance, their draft): p is that user and
// one of p's roles allows the action somewhere. Ownership never gives more
// than the caller's roles: an API token limited to usage_reporter is its
// owner's user, but may not read or cancel its owner's orders.
func (p *Principal) Owns(userID string, a Action) bool {
	return p != nil && !p.system && userID != "" && p.UserID == userID && p.CanAnywhere(a)
}

// Limited reports whether p is an API token limited to some of its
// owner's roles. A limited principal may change nothing about its owner
// (name, password, tokens) beyond what its roles allow.
func (p *Principal) Limited() bool { return p != nil && len(p.TokenRoles) > 0 }

// HasRole reports whether p holds the role on any scope.
func (p *Principal) HasRole(r Role) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if g.Role == r {
			return true
		}
	}
	return false
}

// String names the principal for logs.
func (p *Principal) String() string {
	if p == nil {
		return "anonymous"
	}
	return fmt.Sprintf("%s <%s>", p.Name, p.UserID)
}
