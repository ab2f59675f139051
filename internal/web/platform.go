package web

import (
	"encoding/json"
	"net/http"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type auditPage struct {
	Page
	Records []audit.Record
	Filter  audit.Filter
	// More opens the next page (empty on the last).
	More   string
	Verify *audit.Verification
}

func (p *Portal) auditPage(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	q := r.URL.Query()
	f := audit.Filter{ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"), ActorID: q.Get("actor_id"),
		Action: q.Get("action"), Page: sqldb.Page{Limit: 50, Cursor: q.Get("cursor")}}
	recs, err := p.Audit.List(r.Context(), pr, f)
	if err != nil {
		return err
	}
	pg := auditPage{Page: p.pageFor(r, "Audit log"), Records: recs.Items, Filter: f, More: moreLink(r, recs.Next, "verify")}
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
	More      string
}

// moreLink is the address of the page after this one: the request's
// address with the list's next cursor, less the parameters named in drop
// (those that act once, such as verify); empty when there is no next page.
func moreLink(r *http.Request, next string, drop ...string) string {
	return moreLinkAs(r, "cursor", next, drop...)
}

// moreLinkAs is moreLink for a page with more than one list: the next
// page of one of them, whose cursor is the query parameter param; the
// other lists keep theirs.
func moreLinkAs(r *http.Request, param, next string, drop ...string) string {
	if next == "" {
		return ""
	}
	q := r.URL.Query()
	for _, d := range drop {
		q.Del(d)
	}
	q.Set(param, next)
	return r.URL.Path + "?" + q.Encode()
}

func (p *Portal) jobsView(r *http.Request) (jobsPage, error) {
	pr := middleware.Principal(r.Context())
	status := r.URL.Query().Get("status")
	js, err := p.Jobs.Jobs(r.Context(), pr, jobs.Filter{Status: jobs.Status(status), Page: sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	pg := jobsPage{Page: p.pageFor(r, "Jobs"), Jobs: js.Items, CanManage: pr.CanAnywhere(access.JobManage), Status: status, More: moreLink(r, js.Next)}
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
