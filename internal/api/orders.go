package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// decodeObject decodes a body that must be a JSON object: JSON null, which
// would decode to the zero value (an empty order, a cancellation without a
// word), is refused.
func decodeObject[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var p *T
	var zero T
	if err := decode(w, r, &p); err != nil {
		return zero, err
	}
	if p == nil {
		return zero, errs.Invalid("the body is null; send a JSON object")
	}
	return *p, nil
}

// itemsBody is a body with order items, read one item at a time so that a
// field of the wrong type is named with its item's index (items[1].quantity),
// as the orders service names the fields whose values it refuses.
type itemsBody struct {
	OrgUnitID string            `json:"org_unit_id"`
	Note      string            `json:"note"`
	Items     []json.RawMessage `json:"items"`
}

func (b itemsBody) items() ([]orders.ItemInput, error) {
	if b.Items == nil {
		return nil, nil
	}
	out := make([]orders.ItemInput, len(b.Items))
	for i, raw := range b.Items {
		field := fmt.Sprintf("items[%d]", i)
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return nil, &errs.Error{Code: errs.CodeInvalid, Message: "an item is null",
				Fields: []errs.FieldError{{Field: field, Rule: "type", Message: field + " must be an object"}}}
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out[i]); err != nil {
			return nil, itemError(field, err)
		}
	}
	return out, nil
}

// itemError is jsonError for one item, with the item's index in the field.
func itemError(item string, err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := item
		if typ.Field != "" {
			field += "." + typ.Field
		}
		return &errs.Error{Code: errs.CodeInvalid, Message: "a field has the wrong type",
			Fields: []errs.FieldError{{Field: field, Rule: "type", Message: fmt.Sprintf("%s must be a %s", field, jsonType(typ.Type.String()))}}}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := item + "." + strings.Trim(name, `"`)
		return &errs.Error{Code: errs.CodeInvalid, Message: "the body has a field the API does not know",
			Fields: []errs.FieldError{{Field: field, Rule: "unknown", Message: "remove " + field + "; see /api/v1/openapi.yaml for the fields"}}}
	}
	return jsonError(err)
}

func (s *Server) quote(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject[struct {
		Items []json.RawMessage `json:"items"`
	}](w, r)
	if err != nil {
		return err
	}
	items, err := itemsBody{Items: body.Items}.items()
	if err != nil {
		return err
	}
	out, err := s.Orders.QuoteItems(ctx(r), principal(r), items)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := orders.OrderFilter{State: orders.State(q.Get("state")), Mine: q.Get("mine") == "true", OrgUnitID: q.Get("org_unit"),
		ServiceID: q.Get("service"), OfferingID: q.Get("offering"), RequesterID: q.Get("requester"), Sort: q.Get("sort"), Page: pg}
	if !from.IsZero() {
		f.From = &from
	}
	if !to.IsZero() {
		f.To = &to
	}
	out, err := s.Orders.Orders(ctx(r), principal(r), f)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	body, err := decodeObject[itemsBody](w, r)
	if err != nil {
		return err
	}
	items, err := body.items()
	if err != nil {
		return err
	}
	out, err := s.Orders.CreateOrder(ctx(r), principal(r), orders.OrderInput{OrgUnitID: body.OrgUnitID, Note: body.Note, Items: items})
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
	in, err := decodeObject[orders.ItemInput](w, r)
	if err != nil {
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
	in, err := decodeObject[comment](w, r)
	if err != nil {
		return err
	}
	out, err := s.Orders.Cancel(ctx(r), principal(r), r.PathValue("id"), in.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) orderEvents(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Orders.Events(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeSlice(w, r, out, pg)
}

func (s *Server) orderApprovals(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Orders.Approvals(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeSlice(w, r, out, pg)
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Orders.Inbox(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[orders.Decision](w, r)
	if err != nil {
		return err
	}
	out, err := s.Orders.Decide(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Orders.PolicyPage(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) savePolicy(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[orders.PolicyInput](w, r)
	if err != nil {
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
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Orders.Tasks(ctx(r), principal(r), orders.TaskFilter{State: orders.TaskState(r.URL.Query().Get("state")), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[orders.TaskResult](w, r)
	if err != nil {
		return err
	}
	out, err := s.Orders.CompleteTask(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Orders.Instances(ctx(r), principal(r), orders.InstanceFilter{Mine: q.Get("mine") == "true", All: q.Get("all") == "true",
		State: orders.InstanceState(q.Get("state")), OrgUnitID: q.Get("org_unit"), ServiceID: q.Get("service"), OfferingID: q.Get("offering"),
		OwnerID: q.Get("owner"), From: from, To: to, Sort: q.Get("sort"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Orders.Instance(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deprovision(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[comment](w, r)
	if err != nil {
		return err
	}
	out, err := s.Orders.RequestDeprovision(ctx(r), principal(r), r.PathValue("id"), in.Comment)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orders/"+out.ID)
	return writeJSON(w, http.StatusCreated, out)
}

// writeSlice answers one page of a list bounded by what it belongs to (an
// order's events and approvals, the approval policies), read whole by the
// service and paged with sqldb.PageSlice.
func writeSlice[T any](w http.ResponseWriter, r *http.Request, items []T, pg sqldb.Page) error {
	out, err := sqldb.PageSlice(items, pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}
