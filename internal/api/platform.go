package api

import (
	"net/http"
	"strconv"

	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/jobs"
)

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	var before int64
	if b := q.Get("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before < 0 {
			return &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
				Fields: []errs.FieldError{{Field: "before", Rule: "format", Message: "before must be a sequence number from a previous page's next"}}}
		}
	}
	recs, err := s.Audit.List(ctx(r), principal(r), audit.Filter{
		ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"), ActorID: q.Get("actor_id"),
		Action: q.Get("action"), BeforeSeq: before, Limit: limit,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(recs, limit, func(r audit.Record) string { return strconv.FormatInt(r.Seq, 10) }))
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Audit.Verify(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	js, err := s.Jobs.Jobs(ctx(r), principal(r), jobs.Filter{Kind: q.Get("kind"), Status: jobs.Status(q.Get("status")), Before: q.Get("before"), Limit: limit})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(js, limit, func(j *jobs.Job) string { return j.ID }))
}

func (s *Server) enqueueJob(w http.ResponseWriter, r *http.Request) error {
	var in jobs.EnqueueInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	j, err := s.Jobs.Enqueue(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	return writeJSON(w, http.StatusAccepted, j)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.Jobs.Job(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}
