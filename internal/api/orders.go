package api

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/orders"
)

func (s *Server) quote(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Items []orders.ItemInput `json:"items"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.QuoteItems(ctx(r), principal(r), in.Items)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Orders.Orders(ctx(r), principal(r), orders.OrderFilter{State: orders.State(q.Get("state")), Mine: q.Get("mine") == "true",
		Before: q.Get("before"), Limit: limit})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, limit, func(o *orders.Order) string { return o.ID }))
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	var in orders.OrderInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.CreateOrder(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orders/"+out.ID)
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Order(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) addItem(w http.ResponseWriter, r *http.Request) error {
	var in orders.ItemInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.AddItem(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) removeItem(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.RemoveItem(ctx(r), principal(r), r.PathValue("id"), r.PathValue("item_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) submitOrder(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Submit(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

type comment struct {
	Comment string `json:"comment"`
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	var in comment
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.Cancel(ctx(r), principal(r), r.PathValue("id"), in.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) orderEvents(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Events(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) orderApprovals(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Approvals(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Inbox(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) error {
	var in orders.Decision
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.Decide(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Policies(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) savePolicy(w http.ResponseWriter, r *http.Request) error {
	var in orders.PolicyInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	out, err := s.Orders.SavePolicy(ctx(r), principal(r), id, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if id == "" {
		status = http.StatusCreated
	}
	return writeJSON(w, status, out)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := s.Orders.DeletePolicy(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Tasks(ctx(r), principal(r), orders.TaskFilter{State: orders.TaskState(r.URL.Query().Get("state"))})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	var in orders.TaskResult
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.CompleteTask(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out, err := s.Orders.Instances(ctx(r), principal(r), orders.InstanceFilter{Mine: q.Get("mine") == "true", All: q.Get("all") == "true"})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Instance(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deprovision(w http.ResponseWriter, r *http.Request) error {
	var in comment
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.RequestDeprovision(ctx(r), principal(r), r.PathValue("id"), in.Comment)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orders/"+out.ID)
	return writeJSON(w, http.StatusCreated, out)
}
