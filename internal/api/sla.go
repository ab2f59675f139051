package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
)

func (s *Server) listAgreements(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.SLA.ListAgreements(ctx(r), principal(r), sla.AgreementFilter{State: sla.State(q.Get("state")), Kind: sla.Kind(q.Get("kind")),
		Service: q.Get("service"), OrgUnit: q.Get("org_unit"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

// saveAgreement creates the agreement with the body's code (201) or
// replaces it (200).
func (s *Server) saveAgreement(w http.ResponseWriter, r *http.Request) error {
	var in sla.AgreementInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if code := r.PathValue("code"); code != "" {
		if in.Code != "" && in.Code != code {
			return errs.Invalid("the body's code %q is not the agreement %q of the URL", in.Code, code)
		}
		in.Code = code
	}
	a, created, err := s.SLA.SaveAgreement(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, a)
}

func (s *Server) getAgreement(w http.ResponseWriter, r *http.Request) error {
	out, err := s.SLA.Compliance(ctx(r), principal(r), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// agreementReview is the service review of an agreement: from and to are
// months, the agreement's calendar months in its time zone (or RFC 3339
// instants), read by the service, which knows the zone.
func (s *Server) agreementReview(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var v errs.Validator
	v.Check(q.Get("from") != "", "from", "required", "from is required: a month such as 2026-11 or an RFC 3339 time")
	v.Check(q.Get("to") != "", "to", "required", "to is required: the month the period ends at, such as 2026-12, or an RFC 3339 time")
	if err := v.Err("the review period is not valid"); err != nil {
		return err
	}
	out, err := s.SLA.Review(ctx(r), principal(r), r.PathValue("code"), sla.ReviewPeriod{From: q.Get("from"), To: q.Get("to")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) agreementBurn(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.SLA.BurnPage(ctx(r), principal(r), r.PathValue("code"), r.PathValue("target"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) listBreaches(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.SLA.Breaches(ctx(r), principal(r), sla.BreachFilter{Agreement: q.Get("agreement"), State: q.Get("state"), Service: q.Get("service"),
		OrgUnit: q.Get("org_unit"), From: from, To: to, Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getBreach(w http.ResponseWriter, r *http.Request) error {
	out, err := s.SLA.Breach(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// evaluate re-measures every agreement now (the job does it every minute).
func (s *Server) evaluate(w http.ResponseWriter, r *http.Request) error {
	out, err := s.SLA.EvaluateNow(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listOutages(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.SLA.Outages(ctx(r), principal(r), sla.OutageFilter{Service: q.Get("service"), State: q.Get("state"), From: from, To: to, Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) recordOutage(w http.ResponseWriter, r *http.Request) error {
	var in sla.OutageInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.SLA.RecordOutage(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getOutage(w http.ResponseWriter, r *http.Request) error {
	out, err := s.SLA.Outage(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateOutage(w http.ResponseWriter, r *http.Request) error {
	var in sla.OutageInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.SLA.UpdateOutage(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := sla.IncidentFilter{Service: q.Get("service"), State: q.Get("state"), From: from, To: to, Page: pg}
	if v := q.Get("priority"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4 {
			return &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
				Fields: []errs.FieldError{{Field: "priority", Rule: "range", Message: "priority is a whole number from 1 to 4"}}}
		}
		f.Priority = n
	}
	out, err := s.SLA.Incidents(ctx(r), principal(r), f)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) saveIncident(w http.ResponseWriter, r *http.Request) error {
	var in sla.IncidentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	out, err := s.SLA.SaveIncident(ctx(r), principal(r), id, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if id == "" {
		status = http.StatusCreated
	}
	return writeJSON(w, status, out)
}

// alertmanager receives Prometheus Alertmanager's webhook. Alertmanager
// sends fields Steward does not read (groupLabels, externalURL, …), so
// unknown fields are allowed here, unlike the rest of the API.
func (s *Server) alertmanager(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errs.Invalid("send Alertmanager's webhook notification as JSON with Content-Type: application/json")
	}
	var m sla.AlertmanagerMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes)).Decode(&m); err != nil {
		return jsonError(err)
	}
	out, err := s.SLA.Alertmanager(ctx(r), principal(r), m)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
