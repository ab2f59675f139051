package api

import (
	"net/http"
	"strconv"

	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
)

// deskRoutes are the service desk's endpoints (issue 20).
func (s *Server) deskRoutes() []Route {
	return append([]Route{
		{Method: "GET", Path: "/api/v1/service-suggestions", handler: s.suggestServices},
		{Method: "GET", Path: "/api/v1/tickets", handler: s.listTickets},
		{Method: "GET", Path: "/api/v1/ticket-report", handler: s.ticketReport},
		{Method: "POST", Path: "/api/v1/tickets", handler: s.raiseTicket},
		{Method: "GET", Path: "/api/v1/tickets/{ref}", handler: s.getTicket},
		{Method: "GET", Path: "/api/v1/tickets/{ref}/comments", handler: s.ticketComments},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/comments", handler: s.commentTicket},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/take", handler: s.takeTicket},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/assign", handler: s.assignTicket},
		{Method: "POST", Path: "/api/v1/ticket-assignments", handler: s.assignTickets},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/move", handler: s.moveTicket},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/classify", handler: s.classifyTicket},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/rating", handler: s.rateTicket},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/outage", handler: s.declareOutage},
		{Method: "PUT", Path: "/api/v1/tickets/{ref}/watch", handler: s.watchTicket},
		{Method: "DELETE", Path: "/api/v1/tickets/{ref}/watch", handler: s.watchTicket},
	}, s.deskAttachRoutes()...)
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := desk.Filter{View: desk.View(q.Get("view")), State: q.Get("state"), Kind: desk.Kind(q.Get("kind")), Service: q.Get("service"),
		OrgUnit: q.Get("org_unit"), Group: q.Get("group"), Query: q.Get("q"), Sort: q.Get("sort"), Page: pg}
	switch q.Get("known_error") {
	case "", "false":
	case "true":
		f.KnownError = true
	default:
		return &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
			Fields: []errs.FieldError{{Field: "known_error", Rule: "type", Message: "known_error is true or false"}}}
	}
	if v := q.Get("priority"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4 {
			return &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
				Fields: []errs.FieldError{{Field: "priority", Rule: "range", Message: "priority is a whole number from 1 to 4"}}}
		}
		f.Priority = n
	}
	out, err := s.Desk.Tickets(ctx(r), principal(r), f)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) raiseTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.RaiseInput](w, r)
	if err != nil {
		return err
	}
	d, err := s.Desk.Raise(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tickets/"+d.Reference)
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Desk.Detail(ctx(r), principal(r), r.PathValue("ref"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) ticketComments(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Desk.Comments(ctx(r), principal(r), r.PathValue("ref"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

// detail answers a ticket after a change with its clocks and access.
func (s *Server) detail(w http.ResponseWriter, r *http.Request, t *desk.Ticket, err error) error {
	if err != nil {
		return err
	}
	d, err := s.Desk.Detail(ctx(r), principal(r), t.ID)
	if errs.Is(err, errs.CodeNotFound) {
		// The change moved it out of the caller's reach (escalated to a
		// group the caller is not in): it was made; answer what it became.
		return writeJSON(w, http.StatusOK, &desk.Detail{Ticket: t})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) commentTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.CommentInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.Comment(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) takeTicket(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Desk.Take(ctx(r), principal(r), r.PathValue("ref"))
	return s.detail(w, r, t, err)
}

func (s *Server) assignTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.AssignInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.Assign(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

// bulkAssign assigns several tickets at once: all or none.
type bulkAssign struct {
	Tickets []string `json:"tickets"`
	desk.AssignInput
}

func (s *Server) assignTickets(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[bulkAssign](w, r)
	if err != nil {
		return err
	}
	ts, err := s.Desk.AssignAll(ctx(r), principal(r), in.Tickets, in.AssignInput)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tickets": ts})
}

func (s *Server) moveTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.MoveInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.Move(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) classifyTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.ClassifyInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.Classify(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) rateTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.RateInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.Rate(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) watchTicket(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Desk.Watch(ctx(r), principal(r), r.PathValue("ref"), r.Method == http.MethodPut)
	return s.detail(w, r, t, err)
}

func (s *Server) suggestServices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	k := 0
	if v := q.Get("k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
				Fields: []errs.FieldError{{Field: "k", Rule: "range", Message: "k is a whole number from 1 to 10"}}}
		}
		k = n
	}
	out, err := s.Desk.Suggest(ctx(r), principal(r), q.Get("text"), k)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"suggestions": out})
}

func (s *Server) declareOutage(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.OutageInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.DeclareOutage(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) ticketReport(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodFilter(r, true)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	by := desk.ReportBy(q.Get("by"))
	rows, err := s.Desk.Report(ctx(r), principal(r), desk.ReportFilter{From: from, To: to, By: by, Kind: desk.Kind(q.Get("kind"))})
	if err != nil {
		return err
	}
	if by == "" {
		by = desk.ByService
	}
	if q.Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="tickets-by-`+string(by)+`.csv"`)
		return desk.WriteCSV(w, by, rows)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"by": by, "rows": rows})
}
