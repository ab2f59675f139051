package api

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/webhook"
)

// webhookRoutes are the outbound webhooks' endpoints and the catalog of
// event types they send.
func (s *Server) webhookRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/event-types", handler: s.eventTypes},
		{Method: "GET", Path: "/api/v1/webhooks", handler: s.listWebhooks},
		{Method: "POST", Path: "/api/v1/webhooks", handler: s.createWebhook},
		{Method: "GET", Path: "/api/v1/webhooks/{id}", handler: s.getWebhook},
		{Method: "PUT", Path: "/api/v1/webhooks/{id}", handler: s.updateWebhook},
		{Method: "DELETE", Path: "/api/v1/webhooks/{id}", handler: s.deleteWebhook},
		{Method: "POST", Path: "/api/v1/webhooks/{id}/rotate-secret", handler: s.rotateWebhookSecret},
		{Method: "POST", Path: "/api/v1/webhooks/{id}/test", handler: s.testWebhook},
		{Method: "GET", Path: "/api/v1/webhooks/{id}/deliveries", handler: s.listWebhookDeliveries},
		{Method: "POST", Path: "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", handler: s.redeliverWebhook},
	}
}

func (s *Server) eventTypes(w http.ResponseWriter, r *http.Request) error {
	if principal(r) == nil {
		return errs.Unauthenticated("sign in or send an API token to do this")
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	l, err := sqldb.PageSlice(outbox.Types(), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	l, err := s.Webhooks.Subscriptions(ctx(r), principal(r), webhook.Filter{Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhook.Input
	if err := decode(w, r, &in); err != nil {
		return err
	}
	sub, err := s.Webhooks.Create(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+sub.ID)
	return writeJSON(w, http.StatusCreated, sub)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.Webhooks.Subscription(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sub)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhook.Input
	if err := decode(w, r, &in); err != nil {
		return err
	}
	sub, err := s.Webhooks.Update(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sub)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.Delete(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.Webhooks.RotateSecret(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sub)
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Test(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	l, err := s.Webhooks.Deliveries(ctx(r), principal(r), r.PathValue("id"),
		webhook.DeliveryFilter{State: webhook.State(r.URL.Query().Get("state")), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Redeliver(ctx(r), principal(r), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}
