package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// changeRoutes are change management's endpoints (issue 20): the CAB's
// decisions, the change calendar, standard change templates and freezes.
// Requests for change themselves are tickets (POST /api/v1/tickets with
// kind change).
func (s *Server) changeRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/change-calendar", handler: s.changeCalendar},
		{Method: "GET", Path: "/api/v1/cab-agenda", handler: s.cabAgenda},
		{Method: "POST", Path: "/api/v1/change-approvals/{id}/decision", handler: s.decideChange},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/withdrawal", handler: s.withdrawChange},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/orders", handler: s.orderFromRequest},
		{Method: "GET", Path: "/api/v1/services/{id}/ticket-routes", handler: s.ticketRoutes},
		{Method: "PUT", Path: "/api/v1/services/{id}/ticket-routes/{org_unit}", handler: s.setTicketRoute},
		{Method: "DELETE", Path: "/api/v1/services/{id}/ticket-routes/{org_unit}", handler: s.removeTicketRoute},
		{Method: "GET", Path: "/api/v1/change-templates", handler: s.changeTemplates},
		{Method: "POST", Path: "/api/v1/change-templates", handler: s.saveChangeTemplate},
		{Method: "PUT", Path: "/api/v1/change-templates/{id}", handler: s.saveChangeTemplate},
		{Method: "POST", Path: "/api/v1/change-freezes", handler: s.addFreeze},
		{Method: "DELETE", Path: "/api/v1/change-freezes/{id}", handler: s.removeFreeze},
	}
}

// calendarSpan reads from and to (RFC 3339 or YYYY-MM-DD, UTC midnight);
// by default the week from yesterday.
func calendarSpan(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from, to := day.AddDate(0, 0, -1), day.AddDate(0, 0, 13)
	var v errs.Validator
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		s := strings.TrimSpace(r.URL.Query().Get(p.name))
		if s == "" {
			continue
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			*p.t = t
		} else if t, err := time.Parse(time.RFC3339, s); err == nil {
			*p.t = t
		} else {
			v.Add(p.name, "format", p.name+" is a date (2026-12-07) or a time in RFC 3339")
		}
	}
	return from, to, v.Err("a query parameter is not valid")
}

func (s *Server) changeCalendar(w http.ResponseWriter, r *http.Request) error {
	from, to, err := calendarSpan(r, s.Desk.Now())
	if err != nil {
		return err
	}
	cal, err := s.Desk.Calendar(ctx(r), principal(r), from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cal)
}

func (s *Server) cabAgenda(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Desk.Agenda(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) decideChange(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.DecideInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.DecideChange(ctx(r), principal(r), r.PathValue("id"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) changeTemplates(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Desk.TemplatePage(ctx(r), principal(r), r.URL.Query().Get("all") == "true", pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) saveChangeTemplate(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.TemplateInput](w, r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	t, err := s.Desk.SaveTemplate(ctx(r), principal(r), id, in)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if id == "" {
		code = http.StatusCreated
	}
	return writeJSON(w, code, t)
}

func (s *Server) addFreeze(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.FreezeInput](w, r)
	if err != nil {
		return err
	}
	f, err := s.Desk.AddFreeze(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, f)
}

func (s *Server) removeFreeze(w http.ResponseWriter, r *http.Request) error {
	if err := s.Desk.RemoveFreeze(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) withdrawChange(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.WithdrawInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.WithdrawChange(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

// orderFromRequest turns a service request into an order (the order's
// items, as POST /api/v1/orders takes them): the order is placed and
// submitted, the request resolved as fulfilled through it.
func (s *Server) orderFromRequest(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject[requestOrderBody](w, r)
	if err != nil {
		return err
	}
	items, err := itemsBody{Items: body.Items}.items()
	if err != nil {
		return err
	}
	o, _, err := s.Desk.Order(ctx(r), principal(r), r.PathValue("ref"), desk.OrderInput{Items: items, Note: body.Note})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orders/"+o.ID)
	return writeJSON(w, http.StatusCreated, o)
}

type requestOrderBody struct {
	Note  string            `json:"note"`
	Items []json.RawMessage `json:"items"`
}

// ticketRoutes lists where a service's tickets of each org unit go.
func (s *Server) ticketRoutes(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	rs, err := s.Desk.Routes(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out, err := sqldb.PageSlice(rs, pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) setTicketRoute(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.RouteInput](w, r)
	if err != nil {
		return err
	}
	out, err := s.Desk.SetRoute(ctx(r), principal(r), r.PathValue("id"), r.PathValue("org_unit"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) removeTicketRoute(w http.ResponseWriter, r *http.Request) error {
	if err := s.Desk.RemoveRoute(ctx(r), principal(r), r.PathValue("id"), r.PathValue("org_unit")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
