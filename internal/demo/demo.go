// Package demo creates, once, the demo IT provider that `steward serve
// --demo` starts with: Contoso's IT department serving its business units,
// cost centres, a geography and an external customer, one user for each
// role, and a few assignment groups. Domain issues extend the seed with
// their own demo data (services, offerings, usage, agreements).
package demo

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/portfolio"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb"
)

//go:embed portfolio.yaml
var portfolioYAML []byte

// Services are the domains the demo is seeded through.
type Services struct {
	Identity *identity.Service
	Catalog  *catalog.Catalog
	Orders   *orders.Service
	Metering *metering.Service
	Billing  *billing.Service
	// SLA, when set, adds the desktop SLA with weeks of outages.
	SLA *sla.Service
	// DB, when set with SLA, lets SeedDesk write half a year of service
	// desk history: tickets written through a desk.Service of the seed's
	// own over this database, on a clock the seed moves through the past
	// (desk.go).
	DB *sqldb.DB
}

// Password is every demo user's password. The demo is for trying Steward
// on one machine, never for production.
const Password = "steward-demo"

// Credential is a demo user a newcomer can sign in as.
type Credential struct {
	Role  access.Role
	Email string
	Name  string
	Scope string
}

type unit struct {
	code, name, parent string
	kind               identity.OrgUnitKind
}

var units = []unit{
	{"CONTOSO", "Contoso Group", "", identity.OrgUnitBusinessUnit},
	{"RETAIL", "Retail", "CONTOSO", identity.OrgUnitBusinessUnit},
	{"RETAIL-STORES", "Stores", "RETAIL", identity.OrgUnitDepartment},
	{"CC-4100", "CC 4100 Store Operations", "RETAIL-STORES", identity.OrgUnitCostCentre},
	{"RETAIL-ECOM", "E-commerce", "RETAIL", identity.OrgUnitDepartment},
	{"CC-4200", "CC 4200 Online Shop", "RETAIL-ECOM", identity.OrgUnitCostCentre},
	{"MFG", "Manufacturing", "CONTOSO", identity.OrgUnitBusinessUnit},
	{"CC-5100", "CC 5100 Plant Operations", "MFG", identity.OrgUnitCostCentre},
	{"FIN", "Corporate Finance", "CONTOSO", identity.OrgUnitBusinessUnit},
	{"CC-6100", "CC 6100 Group Accounting", "FIN", identity.OrgUnitCostCentre},
	{"EMEA", "EMEA", "", identity.OrgUnitGeography},
	{"FABRIKAM", "Fabrikam Ltd", "", identity.OrgUnitExternalCustomer},
}

type person struct {
	role       access.Role
	email      string
	name       string
	home       string // org unit code; "" for IT staff
	scopeCodes []string
}

// people has one user per role; admin comes last and marks the seed as done.
var people = []person{
	{access.RoleConsumer, "dana@contoso.example", "Dana Consumer", "CC-4100", []string{"RETAIL"}},
	{access.RoleApprover, "arun@contoso.example", "Arun Approver", "RETAIL", []string{"RETAIL"}},
	{access.RoleRelationshipManager, "rita@it.contoso.example", "Rita Relationship", "", []string{"RETAIL", "MFG"}},
	{access.RoleServiceOwner, "omar@it.contoso.example", "Omar Owner", "", nil},
	{access.RoleServiceManager, "sam@it.contoso.example", "Sam Service-Manager", "", []string{"MFG"}},
	{access.RolePortfolioManager, "petra@it.contoso.example", "Petra Portfolio", "", nil},
	{access.RoleServiceLevelManager, "lena@it.contoso.example", "Lena Service-Level", "", nil},
	{access.RoleFinancialManager, "felix@it.contoso.example", "Felix Finance", "", nil},
	{access.RoleChangeManager, "chen@it.contoso.example", "Chen Change", "", nil},
	{access.RoleAgent, "alex@it.contoso.example", "Alex Agent", "", nil},
	{access.RoleSupplierManager, "sofia@it.contoso.example", "Sofia Supplier", "", nil},
	{access.RoleAuditor, "audrey@it.contoso.example", "Audrey Auditor", "", nil},
	{access.RoleAdmin, "admin@it.contoso.example", "Ada Admin", "", nil},
}

var groups = []identity.GroupInput{
	{Name: "Service Desk", Description: "First line: requests and incidents.", Email: "servicedesk@it.contoso.example"},
	{Name: "Platform Engineering", Description: "Compute, storage and the cloud platform.", Email: "platform@it.contoso.example"},
	{Name: "Network Operations", Description: "WAN, LAN and data centre network.", Email: "netops@it.contoso.example"},
}

// Credentials lists the demo users and what they may do.
func Credentials() []Credential {
	var out []Credential
	for _, p := range people {
		scope := "the whole provider"
		if len(p.scopeCodes) > 0 {
			scope = strings.Join(p.scopeCodes, ", ")
		}
		out = append(out, Credential{Role: p.role, Email: p.email, Name: p.name, Scope: scope})
	}
	return out
}

// Seed creates the demo provider unless it exists already (its admin is
// created last and marks it done), and reports whether it created it: the
// organisation, the portfolio and catalog of portfolio.yaml, and orders in
// every state. An interrupted seed resumes. The service desk's history is
// SeedDesk's.
func Seed(ctx context.Context, s Services) (bool, error) {
	sys := access.System()
	last := people[len(people)-1]
	if _, err := s.Identity.UserByEmail(ctx, sys, last.email); err == nil {
		return false, nil
	} else if !errs.Is(err, errs.CodeNotFound) {
		return false, err
	}
	if err := SeedOrganisation(ctx, s.Identity); err != nil {
		return false, err
	}
	if err := SeedMeters(ctx, s.Metering); err != nil {
		return false, fmt.Errorf("demo meters: %w", err)
	}
	if _, err := portfolio.Import(ctx, portfolio.Services{Identity: s.Identity, Catalog: s.Catalog, Orders: s.Orders}, sys, "demo/portfolio.yaml", portfolioYAML, false); err != nil {
		return false, fmt.Errorf("demo portfolio: %w", err)
	}
	if err := seedOrders(ctx, s); err != nil {
		return false, fmt.Errorf("demo orders: %w", err)
	}
	if err := seedBilling(ctx, s); err != nil {
		return false, fmt.Errorf("demo billing: %w", err)
	}
	if s.SLA != nil {
		if err := seedSLA(ctx, s); err != nil {
			return false, fmt.Errorf("demo service levels: %w", err)
		}
	}
	// The admin, with its grant in the same transaction, marks the seed done.
	if _, err := s.Identity.CreateAdmin(ctx, sys, identity.CreateUserInput{Email: last.email, Name: last.name, Password: Password}); err != nil {
		return false, fmt.Errorf("demo admin: %w", err)
	}
	return true, nil
}

// SeedOrganisation creates the demo's org units, assignment groups and users
// other than the admin, skipping those that exist: the organisation a
// portfolio file of the demo refers to.
func SeedOrganisation(ctx context.Context, ids *identity.Service) error {
	sys := access.System()
	byCode := map[string]string{}
	existing, err := ids.OrgUnits(ctx, sys)
	if err != nil {
		return err
	}
	for _, o := range existing {
		byCode[o.Code] = o.ID
	}
	for _, u := range units {
		if _, ok := byCode[u.code]; ok {
			continue // a seed interrupted half way resumes
		}
		o, err := ids.CreateOrgUnit(ctx, sys, identity.CreateOrgUnitInput{ParentID: byCode[u.parent], Kind: u.kind, Code: u.code, Name: u.name})
		if err != nil {
			return fmt.Errorf("demo org unit %s: %w", u.code, err)
		}
		byCode[u.code] = o.ID
	}
	groupIDs := map[string]string{}
	existingGroups, err := ids.Groups(ctx, sys)
	if err != nil {
		return err
	}
	for _, g := range existingGroups {
		groupIDs[g.Name] = g.ID
	}
	for _, g := range groups {
		if _, ok := groupIDs[g.Name]; ok {
			continue
		}
		created, err := ids.CreateGroup(ctx, sys, g)
		if err != nil {
			return fmt.Errorf("demo group %s: %w", g.Name, err)
		}
		groupIDs[g.Name] = created.ID
	}
	for _, p := range people {
		in := identity.CreateUserInput{Email: p.email, Name: p.name, OrgUnitID: byCode[p.home], Password: Password}
		if p.role == access.RoleAdmin {
			continue // created last, below
		}
		u, err := ids.UserByEmail(ctx, sys, p.email)
		if errs.Is(err, errs.CodeNotFound) {
			u, err = ids.CreateUser(ctx, sys, in)
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", p.email, err)
		}
		if p.role == access.RoleAgent {
			for _, g := range groups[:2] { // the Service Desk and Platform Engineering
				if _, err := ids.SetMember(ctx, sys, groupIDs[g.Name], u.ID, true); err != nil {
					return err
				}
			}
		}
		if p.role == access.RoleServiceOwner {
			// Omar manages the Service Desk: told when one of its tickets
			// is about to miss its resolution time.
			g := groups[0]
			g.ManagerID = &u.ID
			if _, err := ids.UpdateGroup(ctx, sys, groupIDs[g.Name], g); err != nil {
				return fmt.Errorf("demo group manager: %w", err)
			}
		}
		var grants []identity.CreateGrantInput
		if len(p.scopeCodes) == 0 {
			grants = append(grants, identity.CreateGrantInput{UserID: u.ID, Role: p.role, ScopeKind: access.ScopeGlobal})
		}
		for _, code := range p.scopeCodes {
			grants = append(grants, identity.CreateGrantInput{UserID: u.ID, Role: p.role, ScopeKind: access.ScopeOrgUnit, ScopeID: byCode[code]})
		}
		for _, g := range grants {
			if _, err := ids.CreateGrant(ctx, sys, g); err != nil && !errs.Is(err, errs.CodeConflict) {
				return fmt.Errorf("demo grant for %s: %w", p.email, err)
			}
		}
	}
	return nil
}
