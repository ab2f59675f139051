package web

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/webhook"
)

// The webhook pages: subscriptions (Administration → Webhooks), each with
// its delivery log, a Redeliver button per delivery, a test event, secret
// rotation, enabling, disabling and removal. The service decides who may
// see and do what (webhook.read, webhook.manage on the subscription's org
// unit); the page offers what the reader's roles allow.

func (p *Portal) webhookRoutes() []route {
	return []route{
		{"GET /admin/webhooks", false, show(p, "webhooks", p.webhooksView)},
		{"POST /admin/webhooks", false, p.createWebhook},
		{"GET /admin/webhooks/{id}", false, show(p, "webhook", p.webhookView)},
		{"POST /admin/webhooks/{id}/deliveries/{delivery}/redeliver", false, p.redeliverWebhook},
		{"POST /admin/webhooks/{id}/{action}", false, p.webhookAction},
	}
}

func mayReadWebhooks(pr *access.Principal) bool {
	return pr.CanAnywhere(access.WebhookRead) || pr.CanAnywhere(access.WebhookManage)
}

type webhooksPage struct {
	Page
	Subscriptions []*webhook.Subscription
	Types         []outbox.Type
	OrgUnits      []orgUnitOption
	// Global is set when the reader may subscribe to the whole provider's events.
	Global    bool
	CanManage bool
	More      string
	// Created is the subscription just made, with its secret shown once.
	Created *webhook.WithSecret
}

func (p *Portal) webhooksView(r *http.Request) (webhooksPage, error) {
	pr := middleware.Principal(r.Context())
	pg := webhooksPage{Page: p.pageFor(r, "Webhooks"), Types: outbox.Types(),
		CanManage: pr.CanAnywhere(access.WebhookManage), Global: pr.Can(access.WebhookManage, access.Resource{})}
	subs, err := p.Webhooks.Subscriptions(r.Context(), pr, webhook.Filter{Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Subscriptions, pg.More = subs.Items, moreLink(r, subs.Next)
	if pg.CanManage {
		units, err := p.Identity.OrgUnits(r.Context(), pr)
		if err != nil {
			return pg, err
		}
		for _, u := range units {
			if pr.Can(access.WebhookManage, access.InOrgUnit(u.Path)) {
				pg.OrgUnits = append(pg.OrgUnits, orgUnitOption{u.ID, u.Code + " · " + u.Name})
			}
		}
	}
	return pg, nil
}

func (p *Portal) createWebhook(w http.ResponseWriter, r *http.Request) error {
	in := webhook.Input{URL: r.PostForm.Get("url"), Description: r.PostForm.Get("description"),
		EventTypes: r.PostForm["event_types"], OrgUnitID: r.PostForm.Get("org_unit_id")}
	sub, err := p.Webhooks.Create(r.Context(), middleware.Principal(r.Context()), in)
	if err != nil {
		return reshow(p, w, r, "webhooks", err, p.webhooksView)
	}
	pg, err := p.webhooksView(r)
	if err != nil {
		return err
	}
	pg.Created = sub
	w.Header().Set("Cache-Control", "no-store")
	return p.render(w, r, http.StatusCreated, "webhooks", pg)
}

type webhookPage struct {
	Page
	Sub        *webhook.Subscription
	Deliveries []*webhook.Delivery
	State      string
	CanManage  bool
	More       string
	// Secret is a rotated secret, shown once.
	Secret string
}

func (p *Portal) webhookView(r *http.Request) (webhookPage, error) {
	pr := middleware.Principal(r.Context())
	pg := webhookPage{Page: p.pageFor(r, "Webhook"), State: r.URL.Query().Get("state")}
	sub, err := p.Webhooks.Subscription(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return pg, err
	}
	pg.Sub, pg.Title = sub, "Webhook "+sub.URL
	pg.CanManage = pr.Can(access.WebhookManage, subResource(r, p, sub))
	ds, err := p.Webhooks.Deliveries(r.Context(), pr, sub.ID, webhook.DeliveryFilter{State: webhook.State(pg.State),
		Page: sqldb.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}})
	pg.Deliveries, pg.More = ds.Items, moreLink(r, ds.Next)
	return pg, err
}

// subResource is the subscription's scope for the page's offers.
func subResource(r *http.Request, p *Portal, sub *webhook.Subscription) access.Resource {
	if sub.OrgUnitID == "" {
		return access.Resource{}
	}
	u, err := p.Identity.OrgUnit(r.Context(), access.System(), sub.OrgUnitID)
	if err != nil {
		return access.Resource{}
	}
	return access.InOrgUnit(u.Path)
}

func (p *Portal) webhookAction(w http.ResponseWriter, r *http.Request) error {
	ctx, pr, id := r.Context(), middleware.Principal(r.Context()), r.PathValue("id")
	back := "/admin/webhooks/" + id
	switch r.PathValue("action") {
	case "test":
		if _, err := p.Webhooks.Test(ctx, pr, id); err != nil {
			return err
		}
		return p.redirect(w, r, back, "A test event is queued; it shows in the log below when sent.")
	case "rotate":
		sub, err := p.Webhooks.RotateSecret(ctx, pr, id)
		if err != nil {
			return err
		}
		pg, err := p.webhookView(r)
		if err != nil {
			return err
		}
		pg.Secret = sub.Secret
		w.Header().Set("Cache-Control", "no-store")
		return p.render(w, r, http.StatusOK, "webhook", pg)
	case "enable", "disable":
		sub, err := p.Webhooks.Subscription(ctx, pr, id)
		if err != nil {
			return err
		}
		on := r.PathValue("action") == "enable"
		if _, err := p.Webhooks.Update(ctx, pr, id, webhook.Input{URL: sub.URL, Description: sub.Description,
			EventTypes: sub.EventTypes, OrgUnitID: sub.OrgUnitID, Enabled: &on}); err != nil {
			return err
		}
		return p.redirect(w, r, back, "The subscription is "+map[bool]string{true: "enabled", false: "disabled"}[on]+".")
	case "delete":
		if err := p.Webhooks.Delete(ctx, pr, id); err != nil {
			return err
		}
		return p.redirect(w, r, "/admin/webhooks", "The subscription and its delivery log are removed.")
	}
	return p.notFound(w, r)
}

func (p *Portal) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := p.Webhooks.Redeliver(r.Context(), middleware.Principal(r.Context()), id, r.PathValue("delivery")); err != nil {
		return err
	}
	return p.redirect(w, r, "/admin/webhooks/"+id, "The delivery is queued again, with the same webhook-id.")
}
