package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/webhook"
)

// The webhook commands manage outbound webhook subscriptions as the
// system (docs/events.md); the server delivers.

// webhookList prints every subscription.
func webhookList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the webhook subscriptions.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tENABLED\tURL\tEVENT TYPES\tORG UNIT\tNOTE")
	f := webhook.Filter{Page: sqldb.Page{Limit: sqldb.MaxLimit}}
	for {
		pg, err := a.Webhooks.Subscriptions(ctx, access.System(), f)
		if err != nil {
			return describe(err)
		}
		for _, s := range pg.Items {
			types := strings.Join(s.EventTypes, ",")
			if types == "" {
				types = "all"
			}
			fmt.Fprintf(w, "%s\t%v\t%s\t%s\t%s\t%s\n", s.ID, s.Enabled, s.URL, types, s.OrgUnitID, s.DisabledReason)
		}
		if f.Page.Cursor = pg.Next; f.Page.Cursor == "" {
			return w.Flush()
		}
	}
}

// orgUnitID resolves an org unit given by code or ID.
func orgUnitID(ctx context.Context, a *app.App, codeOrID string) (string, error) {
	if codeOrID == "" {
		return "", nil
	}
	units, err := a.Identity.OrgUnits(ctx, access.System())
	if err != nil {
		return "", err
	}
	for _, o := range units {
		if o.ID == codeOrID || strings.EqualFold(o.Code, codeOrID) {
			return o.ID, nil
		}
	}
	return "", fmt.Errorf("--org-unit: there is no org unit %q (give its code or ID)", codeOrID)
}

// webhookCreate subscribes a receiver and prints its secret once.
func webhookCreate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Subscribe a receiver to events; prints the signing secret once.")
	db := addDBFlags(fs)
	url := fs.String("url", "", "the receiver's http or https URL (required)")
	types := fs.String("types", "", "comma-separated event types (steward webhook types); empty: all")
	orgUnit := fs.String("org-unit", "", "only events of this org unit (code or ID) and those under it")
	desc := fs.String("description", "", "what the receiver is")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	in := webhook.Input{URL: *url, Description: *desc}
	if *types != "" {
		for _, t := range strings.Split(*types, ",") {
			in.EventTypes = append(in.EventTypes, strings.TrimSpace(t))
		}
	}
	if in.OrgUnitID, err = orgUnitID(ctx, a, *orgUnit); err != nil {
		return err
	}
	sub, err := a.Webhooks.Create(ctx, access.System(), in)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "subscribed %s\nsecret: %s\n(shown once: verify the webhook-signature header with it)\n", sub.ID, sub.Secret)
	return nil
}

// webhookTypes prints the event types subscriptions may name.
func webhookTypes(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the event types (docs/events.md has their data).")
	if err := fs.parse(args); err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TYPE\tSUBJECT\tWHAT HAPPENED")
	for _, t := range outbox.Types() {
		fmt.Fprintf(w, "%s\t%s\t%s\n", t.Name, t.Subject, t.Description)
	}
	return w.Flush()
}

// webhookDeliveries prints a subscription's delivery log, newest first.
func webhookDeliveries(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Print a subscription's delivery log, newest first.")
	db := addDBFlags(fs)
	state := fs.String("state", "", "only deliveries in this state: pending, delivered or dead")
	limit := fs.Int("limit", 50, "how many (1 to 500)")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	pg, err := a.Webhooks.Deliveries(ctx, access.System(), fs.Arg(0), webhook.DeliveryFilter{State: webhook.State(*state), Page: sqldb.Page{Limit: *limit}})
	if err != nil {
		return describe(err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DELIVERY\tEVENT TYPE\tSUBJECT\tSTATE\tATTEMPTS\tSTATUS\tMS\tERROR")
	for _, d := range pg.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", d.ID, d.EventType, d.Subject, d.State, d.Attempts, d.LastStatus, d.LastDurationMS, d.LastError)
	}
	return w.Flush()
}

// webhookRedeliver queues a delivery again with its webhook-id.
func webhookRedeliver(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Send a delivery again (same webhook-id and payload) at the server's next pass.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := a.Webhooks.Redeliver(ctx, access.System(), fs.Arg(0), fs.Arg(1))
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "queued %s again\n", d.ID)
	return nil
}

// webhookRotate replaces a subscription's secret and prints the new one.
func webhookRotate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Replace a subscription's signing secret; prints the new one once.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	sub, err := a.Webhooks.RotateSecret(ctx, access.System(), fs.Arg(0))
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "secret: %s\n", sub.Secret)
	return nil
}

// webhookTest queues a test event to a subscription.
func webhookTest(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Queue a test event (steward.webhook.test) to a subscription.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := a.Webhooks.Test(ctx, access.System(), fs.Arg(0))
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "queued test delivery %s\n", d.ID)
	return nil
}

// webhookDelete removes a subscription and its log.
func webhookDelete(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Remove a subscription and its delivery log.")
	db := addDBFlags(fs)
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Webhooks.Delete(ctx, access.System(), fs.Arg(0)); err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "deleted %s\n", fs.Arg(0))
	return nil
}
