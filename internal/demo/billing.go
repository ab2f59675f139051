package demo

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// SeedMeters defines the meters the demo's price plans charge: a
// portfolio file of the demo needs them.
func SeedMeters(ctx context.Context, m *metering.Service) error {
	for _, in := range []metering.MeterInput{
		{Code: "storage-gb", Name: "Storage", Description: "GB stored, sampled by the storage agent.", EventType: "com.contoso.storage.used",
			Aggregation: metering.TimeWeighted, ValuePath: "gb", Unit: "GB-month"},
		{Code: "api-calls", Name: "Requests", Description: "Requests served, counted by the gateway.", EventType: "com.contoso.api.called",
			Aggregation: metering.Sum, ValuePath: "calls", GroupBy: []string{"method"}, Unit: "request"},
	} {
		if _, err := m.SaveMeter(ctx, access.System(), in); err != nil {
			return err
		}
	}
	return nil
}

// seedBilling opens billing accounts (Retail charged back, Manufacturing
// shown back), sends the bucket's usage as CloudEvents, and runs this
// month's billing, so My costs shows a draft invoice to date.
func seedBilling(ctx context.Context, s Services) error {
	sys := access.System()
	for _, a := range []billing.AccountInput{
		{OrgUnit: "RETAIL", Name: "Retail", Mode: billing.Chargeback, Currency: "EUR", TermsDays: 30},
		{OrgUnit: "MFG", Name: "Manufacturing", Mode: billing.Showback, Currency: "EUR"},
		{OrgUnit: "FIN", Name: "Corporate Finance", Mode: billing.Chargeback, Currency: "EUR"},
	} {
		if _, err := s.Billing.SaveAccount(ctx, sys, a); err != nil {
			return err
		}
	}
	insts, err := s.Orders.Instances(ctx, sys, orders.InstanceFilter{Page: sqldb.Page{Limit: sqldb.MaxLimit}})
	if err != nil {
		return err
	}
	var events []string
	for _, in := range insts.Items {
		if in.Name != "shop-images" {
			continue
		}
		events = append(events,
			fmt.Sprintf(`{"specversion":"1.0","id":"demo-storage-%s","source":"/demo/storage-agent","type":"com.contoso.storage.used","subject":%q,"data":{"gb":420}}`, in.ID, in.ID),
			fmt.Sprintf(`{"specversion":"1.0","id":"demo-get-%s","source":"/demo/gateway","type":"com.contoso.api.called","subject":%q,"data":{"calls":48250,"method":"GET"}}`, in.ID, in.ID),
			fmt.Sprintf(`{"specversion":"1.0","id":"demo-put-%s","source":"/demo/gateway","type":"com.contoso.api.called","subject":%q,"data":{"calls":3120,"method":"PUT"}}`, in.ID, in.ID))
	}
	if len(events) > 0 {
		body := []byte("[" + strings.Join(events, ",") + "]")
		parsed, err := s.Metering.Parse(http.Header{"Content-Type": {metering.ContentBatch}}, body)
		if err != nil {
			return err
		}
		res, err := s.Metering.Ingest(ctx, sys, parsed)
		if err != nil {
			return err
		}
		if res.Rejected > 0 {
			return errs.Invalid("the demo's usage events were refused: %+v", res.Events)
		}
	}
	run, err := s.Billing.StartRun(ctx, sys, s.Billing.Month())
	if err != nil {
		return err
	}
	return s.Billing.Execute(ctx, run.ID)
}
