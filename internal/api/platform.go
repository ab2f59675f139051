package api

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/jobs"
)

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	recs, err := s.Audit.List(ctx(r), principal(r), audit.Filter{
		ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"), ActorID: q.Get("actor_id"),
		Action: q.Get("action"), From: from, To: to, Page: pg,
	})
	if err != nil {
		return err
	}
	return writeList(w, r, recs)
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
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	js, err := s.Jobs.Jobs(ctx(r), principal(r), jobs.Filter{Kind: q.Get("kind"), Status: jobs.Status(q.Get("status")), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, js)
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
