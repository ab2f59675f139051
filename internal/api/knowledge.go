package api

import (
	"net/http"
	"strconv"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// knowledgeRoutes are the knowledge base's endpoints (issue 20): articles
// per service, the suggestion that deflects tickets, and the articles
// linked to a ticket.
func (s *Server) knowledgeRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/articles", handler: s.listArticles},
		{Method: "POST", Path: "/api/v1/articles", handler: s.createArticle},
		{Method: "GET", Path: "/api/v1/articles/{id}", handler: s.getArticle},
		{Method: "PUT", Path: "/api/v1/articles/{id}", handler: s.updateArticle},
		{Method: "PATCH", Path: "/api/v1/articles/{id}", handler: s.updateArticle},
		{Method: "POST", Path: "/api/v1/articles/{id}/publish", handler: s.publishArticle},
		{Method: "POST", Path: "/api/v1/articles/{id}/retire", handler: s.retireArticle},
		{Method: "GET", Path: "/api/v1/article-suggestions", handler: s.suggestArticles},
		{Method: "GET", Path: "/api/v1/tickets/{ref}/articles", handler: s.ticketArticles},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/articles", handler: s.linkArticle},
		{Method: "DELETE", Path: "/api/v1/tickets/{ref}/articles/{id}", handler: s.unlinkArticle},
	}
}

// articleView is an article with its Markdown rendered as safe HTML.
type articleView struct {
	*knowledge.Article
	HTML string `json:"html"`
}

func viewOf(a *knowledge.Article) articleView {
	return articleView{Article: a, HTML: string(knowledge.Render(a.Body))}
}

func (s *Server) listArticles(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Knowledge.Articles(ctx(r), principal(r), knowledge.Filter{Service: q.Get("service"), State: knowledge.State(q.Get("state")), Query: q.Get("q"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) createArticle(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[knowledge.Input](w, r)
	if err != nil {
		return err
	}
	a, err := s.Knowledge.Create(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/articles/"+a.ID)
	return writeJSON(w, http.StatusCreated, viewOf(a))
}

func (s *Server) getArticle(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Knowledge.Article(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOf(a))
}

// updateArticle answers PUT (the whole article) and PATCH (the fields
// sent; the others stay as they are).
func (s *Server) updateArticle(w http.ResponseWriter, r *http.Request) error {
	var in knowledge.Input
	if r.Method == http.MethodPatch {
		patch, err := decodeObject[struct {
			Service *string `json:"service"`
			Title   *string `json:"title"`
			Body    *string `json:"body"`
		}](w, r)
		if err != nil {
			return err
		}
		a, err := s.Knowledge.Article(ctx(r), principal(r), r.PathValue("id"))
		if err != nil {
			return err
		}
		in = knowledge.Input{Service: a.Service.ID, Title: a.Title, Body: a.Body}
		for _, f := range []struct{ from, to *string }{{patch.Service, &in.Service}, {patch.Title, &in.Title}, {patch.Body, &in.Body}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
	} else {
		var err error
		if in, err = decodeObject[knowledge.Input](w, r); err != nil {
			return err
		}
	}
	a, err := s.Knowledge.Update(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOf(a))
}

func (s *Server) publishArticle(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Knowledge.Publish(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOf(a))
}

func (s *Server) retireArticle(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Knowledge.Retire(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOf(a))
}

func (s *Server) suggestArticles(w http.ResponseWriter, r *http.Request) error {
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
	out, err := s.Knowledge.Suggest(ctx(r), principal(r), q.Get("q"), k)
	if err != nil {
		return err
	}
	if out == nil {
		out = []knowledge.Suggestion{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"suggestions": out})
}

func (s *Server) ticketArticles(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Knowledge.TicketArticles(ctx(r), principal(r), r.PathValue("ref"))
	if err != nil {
		return err
	}
	page, err := sqldb.PageSlice(out, pg)
	if err != nil {
		return err
	}
	return writeList(w, r, page)
}

func (s *Server) linkArticle(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[knowledge.LinkInput](w, r)
	if err != nil {
		return err
	}
	a, err := s.Knowledge.Link(ctx(r), principal(r), r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOf(a))
}

func (s *Server) unlinkArticle(w http.ResponseWriter, r *http.Request) error {
	if err := s.Knowledge.Unlink(ctx(r), principal(r), r.PathValue("ref"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
