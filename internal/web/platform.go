package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/middleware"
)

type auditPage struct {
	Page
	Records []audit.Record
	Filter  audit.Filter
	Next    int64
	Verify  *audit.Verification
}

func (p *Portal) auditPage(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	f := audit.Filter{ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"), ActorID: q.Get("actor_id"),
		Action: q.Get("action"), BeforeSeq: before, Limit: 50}
	recs, err := p.Audit.List(r.Context(), pr, f)
	if err != nil {
		return err
	}
	pg := auditPage{Page: p.pageFor(r, "Audit log"), Records: recs, Filter: f}
	if len(recs) == f.Limit {
		pg.Next = recs[len(recs)-1].Seq
	}
	if q.Get("verify") != "" {
		v, err := p.Audit.Verify(r.Context(), pr)
		if err != nil {
			return err
		}
		pg.Verify = &v
	}
	return p.render(w, r, http.StatusOK, "audit", pg)
}

type jobsPage struct {
	Page
	Jobs      []*jobs.Job
	Kinds     []jobs.Kind
	CanManage bool
	Status    string
}

func (p *Portal) jobsView(r *http.Request) (jobsPage, error) {
	pr := middleware.Principal(r.Context())
	status := r.URL.Query().Get("status")
	js, err := p.Jobs.Jobs(r.Context(), pr, jobs.Filter{Status: jobs.Status(status), Limit: 100})
	pg := jobsPage{Page: p.pageFor(r, "Jobs"), Jobs: js, CanManage: pr.CanAnywhere(access.JobManage), Status: status}
	pg.Kinds = p.Jobs.Kinds()
	return pg, err
}

func (p *Portal) enqueueJob(w http.ResponseWriter, r *http.Request) error {
	kind := r.PostForm.Get("kind")
	_, err := p.Jobs.Enqueue(r.Context(), middleware.Principal(r.Context()), jobs.EnqueueInput{Kind: kind, Payload: json.RawMessage("{}")})
	if err == nil {
		return p.redirect(w, r, "/admin/jobs", "Queued "+kind+".")
	}
	return reshow(p, w, r, "jobs", err, p.jobsView)
}
