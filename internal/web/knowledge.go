package web

import (
	htmltemplate "html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// knowledgeRoutes are the knowledge base's pages (issue 20): the list and
// search, an article, the fragment "get help" shows while people type,
// and linking articles to a ticket.
func (p *Portal) knowledgeRoutes() []route {
	return []route{
		{"GET /knowledge", false, show(p, "knowledge", p.knowledgeView)},
		{"POST /knowledge", false, p.createArticle},
		{"GET /knowledge/suggest", false, p.suggestArticles},
		{"GET /knowledge/{ref}", false, show(p, "article", p.articleView)},
		{"POST /knowledge/{ref}", false, p.updateArticle},
		{"POST /knowledge/{ref}/{action}", false, p.articleAction},
		{"POST /tickets/{ref}/articles", false, p.linkArticle},
		{"POST /tickets/{ref}/articles/{id}/unlink", false, p.unlinkArticle},
	}
}

// articleForm is the form that writes an article.
type articleForm struct {
	Service, Title, Body string
}

type knowledgePage struct {
	Page
	Articles []*knowledge.Article
	More     string
	// The search: words, service, state.
	Q, In, State string
	States       []knowledge.State
	// Services are those whose articles the reader writes (the new
	// article's choice); none when the reader writes none.
	Services []desk.Ref
	Form     articleForm
}

// writableServices lists the live services whose articles the reader
// may write.
func (p *Portal) writableServices(r *http.Request, pr *access.Principal) ([]desk.Ref, error) {
	if !knowledge.MayWriteAny(pr) {
		return nil, nil
	}
	all, err := p.Desk.Services(r.Context(), access.System())
	if err != nil {
		return nil, err
	}
	var out []desk.Ref
	for _, s := range all {
		if knowledge.MayWrite(pr, s.ID) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (p *Portal) knowledgeView(r *http.Request) (knowledgePage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := knowledgePage{Page: p.pageFor(r, "Knowledge"), States: knowledge.States}
	if err := r.ParseForm(); err != nil {
		return pg, errs.Invalid("the form does not decode: %v", err)
	}
	q := r.URL.Query()
	pg.Q, pg.In, pg.State = q.Get("q"), q.Get("in"), q.Get("state")
	list, err := p.Knowledge.Articles(ctx, pr, knowledge.Filter{Service: pg.In, State: knowledge.State(pg.State), Query: pg.Q,
		Page: sqldb.Page{Limit: 50, Cursor: q.Get("cursor")}})
	if err != nil {
		return pg, err
	}
	pg.Articles, pg.More = list.Items, moreLink(r, list.Next)
	if pg.Services, err = p.writableServices(r, pr); err != nil {
		return pg, err
	}
	f := r.PostForm
	pg.Form = articleForm{Service: f.Get("service"), Title: f.Get("title"), Body: f.Get("body")}
	return pg, nil
}

func (p *Portal) createArticle(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	a, err := p.Knowledge.Create(r.Context(), middleware.Principal(r.Context()), knowledge.Input{Service: f.Get("service"), Title: f.Get("title"), Body: f.Get("body")})
	if err != nil {
		return reshow(p, w, r, "knowledge", err, p.knowledgeView)
	}
	return p.redirect(w, r, "/knowledge/"+a.Reference, "Wrote "+a.Reference+" as a draft: publish it when it is ready.")
}

type articlePage struct {
	Page
	A        *knowledge.Article
	HTML     htmltemplate.HTML
	Write    bool
	Services []desk.Ref
	Form     articleForm
}

func (p *Portal) articleView(r *http.Request) (articlePage, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	pg := articlePage{Page: p.pageFor(r, "Knowledge")}
	a, err := p.Knowledge.Article(ctx, pr, r.PathValue("ref"))
	if err != nil {
		return pg, err
	}
	pg.A, pg.Title, pg.HTML = a, a.Title, knowledge.Render(a.Body)
	pg.Write = knowledge.MayWrite(pr, a.Service.ID)
	if r.Method == http.MethodGet {
		if err := p.Knowledge.Viewed(ctx, a); err != nil {
			return pg, err
		}
	}
	if !pg.Write {
		return pg, nil
	}
	if pg.Services, err = p.writableServices(r, pr); err != nil {
		return pg, err
	}
	pg.Form = articleForm{Service: a.Service.Code, Title: a.Title, Body: a.Body}
	if r.Method == http.MethodPost {
		f := r.PostForm
		pg.Form = articleForm{Service: f.Get("service"), Title: f.Get("title"), Body: f.Get("body")}
	}
	return pg, nil
}

func (p *Portal) updateArticle(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	a, err := p.Knowledge.Update(r.Context(), middleware.Principal(r.Context()), r.PathValue("ref"), knowledge.Input{Service: f.Get("service"), Title: f.Get("title"), Body: f.Get("body")})
	if err != nil {
		return reshow(p, w, r, "article", err, p.articleView)
	}
	return p.redirect(w, r, "/knowledge/"+a.Reference, "Saved "+a.Reference+".")
}

func (p *Portal) articleAction(w http.ResponseWriter, r *http.Request) error {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	var a *knowledge.Article
	var err error
	switch r.PathValue("action") {
	case "publish":
		a, err = p.Knowledge.Publish(ctx, pr, r.PathValue("ref"))
	case "retire":
		a, err = p.Knowledge.Retire(ctx, pr, r.PathValue("ref"))
	default:
		return errs.NotFound("no such action")
	}
	if err != nil {
		return reshow(p, w, r, "article", err, p.articleView)
	}
	verb := map[knowledge.State]string{knowledge.StatePublished: "Published", knowledge.StateRetired: "Retired"}[a.State]
	return p.redirect(w, r, "/knowledge/"+a.Reference, verb+" "+a.Reference+".")
}

// articleSuggestions is the fragment "get help" shows as people type
// (static/knowledge.js): the published articles that may answer them.
var articleSuggestions = htmltemplate.Must(htmltemplate.New("kb").Parse(`{{define "list"}}{{if .}}<h2 id="kb-heading">These articles may answer it</h2>` +
	`<ul class="plain kb-list" aria-labelledby="kb-heading">{{range .}}<li><a href="/knowledge/{{.Reference}}" target="_blank" rel="noopener">{{.Title}}</a> <span class="small">{{.Service.Name}}</span></li>{{end}}</ul>{{end}}{{end}}` +
	`{{template "list" .}}`))

// suggestArticles answers GET /knowledge/suggest?q=: the HTML fragment
// of up to five published articles for what the reader typed; nothing
// for a text too short to say anything.
func (p *Portal) suggestArticles(w http.ResponseWriter, r *http.Request) error {
	pr := middleware.Principal(r.Context())
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var out []knowledge.Suggestion
	if len(q) >= 3 && knowledge.MayRead(pr) {
		var err error
		if out, err = p.Knowledge.Suggest(r.Context(), pr, q, 5); err != nil && !errs.Is(err, errs.CodeInvalid) {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	return articleSuggestions.Execute(w, out)
}

// helpArticles are the articles "get help" suggests for what the form
// holds (before any script runs: the page works without it).
func (p *Portal) helpArticles(r *http.Request, text string) []knowledge.Suggestion {
	pr := middleware.Principal(r.Context())
	if len(strings.TrimSpace(text)) < 3 || !knowledge.MayRead(pr) {
		return nil
	}
	out, _ := p.Knowledge.Suggest(r.Context(), pr, text, 5) // a text too long suggests nothing; raising says why
	return out
}

// ticketArticles is what the ticket page shows of the knowledge base:
// the articles linked to it and, for those who work it, the published
// articles its words suggest, to link with one click.
type ticketArticles struct {
	Linked    []*knowledge.Article
	Suggested []knowledge.Suggestion
	Work      bool
	Article   string // the form's value
}

func (p *Portal) ticketArticles(r *http.Request, d *desk.Detail) (ticketArticles, error) {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	out := ticketArticles{Work: d.Access.Work, Article: r.PostForm.Get("article")}
	var err error
	if out.Linked, err = p.Knowledge.TicketArticles(ctx, pr, d.ID); err != nil {
		return out, err
	}
	if !d.Access.Work || !knowledge.MayRead(pr) {
		return out, nil
	}
	linked := map[string]bool{}
	for _, a := range out.Linked {
		linked[a.ID] = true
	}
	sg, err := p.Knowledge.Suggest(ctx, pr, d.Summary+"\n"+d.Description, 5)
	if err != nil && !errs.Is(err, errs.CodeInvalid) {
		return out, err
	}
	for _, s := range sg {
		if !linked[s.ID] {
			out.Suggested = append(out.Suggested, s)
		}
	}
	return out, nil
}

func (p *Portal) linkArticle(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	a, err := p.Knowledge.Link(r.Context(), middleware.Principal(r.Context()), ref, knowledge.LinkInput{Article: r.PostForm.Get("article")})
	if err != nil {
		return reshow(p, w, r, "ticket", err, p.ticketView)
	}
	return p.redirect(w, r, "/tickets/"+url.PathEscape(ref)+"#articles", "Linked "+a.Reference+": everyone who reads the ticket sees it.")
}

func (p *Portal) unlinkArticle(w http.ResponseWriter, r *http.Request) error {
	ref := r.PathValue("ref")
	if err := p.Knowledge.Unlink(r.Context(), middleware.Principal(r.Context()), ref, r.PathValue("id")); err != nil {
		return reshow(p, w, r, "ticket", err, p.ticketView)
	}
	return p.redirect(w, r, "/tickets/"+url.PathEscape(ref)+"#articles", "Unlinked the article.")
}
