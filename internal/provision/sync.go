package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/money"
	"github.com/steward-itaas/steward/internal/osb"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// SyncReport says what a catalog import changed.
type SyncReport struct {
	Provider  string   `json:"provider"`
	Services  int      `json:"services"`
	Plans     int      `json:"plans"`
	Created   []string `json:"created"`
	Retired   []string `json:"retired"`
	Offerings []string `json:"offerings"`
}

var slugJunk = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	s = strings.Trim(slugJunk.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		s = "x"
	}
	return s
}

func code(parts ...string) string {
	c := slug(strings.Join(parts, "-"))
	if len(c) > 63 {
		c = strings.TrimRight(c[:63], "-")
	}
	return c
}

// remotePrice reads a plan's monthly price from its catalog metadata:
// Steward's exact extension when a peer Steward sent it, else the first
// MONTHLY cost (by currency code), else free. ok is false when the plan
// names no price, so the caller picks the currency.
func remotePrice(p osb.Plan) (minor int64, currency string, ok bool, err error) {
	if p.Metadata == nil {
		return 0, "", false, nil
	}
	if p.Metadata.Currency != "" && p.Metadata.Price != "" {
		a, err := money.Parse(p.Metadata.Price, strings.ToUpper(p.Metadata.Currency))
		return a.Minor, a.Currency, err == nil, err
	}
	for _, c := range p.Metadata.Costs {
		if !strings.EqualFold(c.Unit, "monthly") || len(c.Amount) == 0 {
			continue
		}
		var curs []string
		for k := range c.Amount {
			curs = append(curs, k)
		}
		sort.Strings(curs)
		cur := strings.ToUpper(curs[0])
		r, okr := new(big.Rat).SetString(c.Amount[curs[0]].String())
		if !okr || !money.ValidCurrency(cur) {
			return 0, "", false, fmt.Errorf("plan %s: cost %v is not an amount in an ISO 4217 currency", p.Name, c.Amount)
		}
		a, err := money.RoundMinor(r, cur)
		return a.Minor, cur, err == nil, err
	}
	return 0, "", false, nil
}

// Sync imports an OSB provider's catalog: each of its services becomes an
// external service in the portfolio with an offering, each plan a plan
// priced at the provider's price plus the provider's markup, and an offer
// linking the two. Run again, it updates prices and names and retires the
// plans the provider no longer lists (they stop taking orders; running
// instances keep working). Callers need provider.manage on the whole
// provider, else forbidden.
func (s *Service) Sync(ctx context.Context, p *access.Principal, ref string) (*SyncReport, error) {
	if err := p.Require(access.ProviderManage, access.Resource{}); err != nil {
		return nil, err
	}
	pv, err := getProvider(ctx, s.db.Read(), ref)
	if err != nil {
		return nil, err
	}
	if pv.Kind != KindOSB {
		return nil, errs.Invalid("%s is a webhook provider: it has no catalog to import; give it offers instead", pv.Name)
	}
	rep, err := s.sync(ctx, pv)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, e := tx.ExecContext(ctx, `UPDATE providers SET synced_at = $1, sync_error = $2 WHERE id = $3`, sqldb.Time(s.now()), msg, pv.ID)
		if e == nil && err == nil {
			e = audit.Write(ctx, tx, p, s.now(), audit.Entry{Action: "provider.sync", ObjectType: "provider", ObjectID: pv.ID, After: rep})
		}
		return e
	})
	if err != nil {
		if _, ok := err.(*osb.Error); ok {
			return nil, errs.Unavailable("the catalog of %s could not be read: %v", pv.Name, err)
		}
		return nil, err
	}
	return rep, nil
}

// SyncAll imports the catalogs of every OSB provider that has been
// imported before (the providers.sync job).
func (s *Service) SyncAll(ctx context.Context) error {
	all, err := sqldb.QueryAll(ctx, s.db.Read(), "providers", scanProvider, `SELECT `+providerColumns+` FROM providers v WHERE v.kind = 'osb' AND v.synced_at IS NOT NULL`)
	if err != nil {
		return err
	}
	for _, pv := range all {
		if _, err := s.Sync(ctx, access.System(), pv.ID); err != nil {
			s.log.Warn("provider catalog sync failed", "provider", pv.Code, "err", err)
		}
	}
	return nil
}

func (s *Service) sync(ctx context.Context, pv *Provider) (*SyncReport, error) {
	c, err := s.client(pv)
	if err != nil {
		return nil, err
	}
	cat, err := c.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	sys := access.System()
	rep := &SyncReport{Provider: pv.Code, Created: []string{}, Retired: []string{}, Offerings: []string{}}
	existing, err := loadOffers(ctx, s.db.Read(), pv.ID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, rs := range cat.Services {
		rep.Services++
		svcCode := code(pv.Code, rs.Name)
		svc, err := s.cat.Service(ctx, sys, svcCode)
		if errs.Is(err, errs.CodeNotFound) {
			svc, err = s.cat.CreateExternalService(ctx, sys, catalog.ServiceInput{Code: svcCode, Name: title(rs), Description: rs.Description},
				"imported from the catalog of provider "+pv.Name)
			if err == nil {
				rep.Created = append(rep.Created, svcCode)
			}
		}
		if err != nil {
			return rep, err
		}
		in := catalog.OfferingInput{Code: svcCode, ServiceID: svc.ID, Name: title(rs), Summary: truncate(rs.Description, 500), Description: rs.Description,
			View: catalog.ViewEndUser}
		old, err := s.cat.Offering(ctx, sys, svcCode)
		if err != nil && !errs.Is(err, errs.CodeNotFound) {
			return rep, err
		}
		if old != nil {
			keep := old.Input()
			in.View, in.Audience, in.Addons, in.Brokered, in.FormSchema = keep.View, keep.Audience, keep.Addons, keep.Brokered, keep.FormSchema
		}
		currency := ""
		prices := map[string]int64{} // remote plan ID → its price in minor units of currency
		for _, rp := range rs.Plans {
			minor, cur, ok, err := remotePrice(rp)
			if err != nil {
				return rep, err
			}
			if ok && currency == "" {
				currency = cur
			}
			if ok && cur != currency {
				return rep, fmt.Errorf("service %s prices its plans in %s and %s; Steward prices an offering in one currency", rs.Name, currency, cur)
			}
			prices[rp.ID] = minor
		}
		if currency == "" {
			currency = "EUR"
		}
		listed := map[string]bool{}
		for _, rp := range rs.Plans {
			pc := code(rp.Name)
			listed[pc] = true
			ours, err := markedUp(money.New(prices[rp.ID], currency), pv.Markup)
			if err != nil {
				return rep, err
			}
			in.Plans = append(in.Plans, catalog.PlanInput{Code: pc, Name: planTitle(rp), Description: rp.Description, Currency: currency,
				Recurring: ours.Decimal()})
			if len(in.FormSchema) == 0 || string(in.FormSchema) == catalog.EmptyForm {
				in.FormSchema = formOf(rp)
			}
		}
		if old != nil {
			for _, op := range old.Plans { // plans gone upstream stay, retired
				if !listed[op.Code] {
					kp := catalog.PlanInput{Code: op.Code, Name: op.Name, Description: op.Description, Currency: op.Currency,
						Recurring: op.Recurring.Decimal(), OneTime: op.OneTime.Decimal(), Retired: true}
					in.Plans = append(in.Plans, kp)
				}
			}
		}
		var off *catalog.Offering
		if old == nil {
			off, err = s.cat.CreateOffering(ctx, sys, in)
		} else {
			off, err = s.cat.UpdateOffering(ctx, sys, old.ID, in)
		}
		if err != nil {
			return rep, fmt.Errorf("offering %s: %w", svcCode, err)
		}
		rep.Offerings = append(rep.Offerings, off.Code)
		err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			for _, rp := range rs.Plans {
				lp := off.Plan(code(rp.Name))
				_, err := s.upsertOffer(ctx, tx, pv.ID, lp.ID, OfferInput{RemoteServiceID: rs.ID, RemotePlanID: rp.ID, Currency: currency,
					Bindable: rp.IsBindable(rs), PlanUpdateable: rp.IsUpdateable(rs), MaxPolling: rp.MaximumPollingDuration}, prices[rp.ID], rs.Name+" / "+rp.Name)
				if err != nil {
					return err
				}
				seen[lp.ID] = true
				rep.Plans++
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	// Offers whose plans the provider no longer lists stop taking orders.
	for _, of := range existing {
		if seen[of.PlanID] || of.Retired {
			continue
		}
		err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE provider_offers SET retired = TRUE, updated_at = $1 WHERE id = $2`, sqldb.Time(s.now()), of.ID); err != nil {
				return sqldb.Err(err, "offer")
			}
			// A plan no provider makes any more is retired in the catalog too.
			var live int
			tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM provider_offers WHERE plan_id = $1 AND NOT retired`, of.PlanID).Scan(&live)
			if live == 0 {
				_, err := tx.ExecContext(ctx, `UPDATE plans SET retired = TRUE, updated_at = $1 WHERE id = $2`, sqldb.Time(s.now()), of.PlanID)
				return sqldb.Err(err, "plan")
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		rep.Retired = append(rep.Retired, of.OfferingCode+"/"+of.PlanName)
	}
	return rep, nil
}

func title(s osb.Service) string {
	if dn, ok := s.Metadata["displayName"].(string); ok && dn != "" {
		return dn
	}
	return s.Name
}

func planTitle(p osb.Plan) string {
	if p.Metadata != nil && p.Metadata.DisplayName != "" {
		return p.Metadata.DisplayName
	}
	return p.Name
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// formOf takes a plan's create-parameters schema as the offering's order
// form when Steward's forms can express it, else an empty form.
func formOf(p osb.Plan) json.RawMessage {
	si, _ := p.Schemas["service_instance"].(map[string]any)
	create, _ := si["create"].(map[string]any)
	params, ok := create["parameters"]
	if !ok {
		return json.RawMessage(catalog.EmptyForm)
	}
	b, err := json.Marshal(params)
	if err != nil {
		return json.RawMessage(catalog.EmptyForm)
	}
	if _, err := catalog.ParseForm(b); err != nil {
		return json.RawMessage(catalog.EmptyForm)
	}
	return b
}
