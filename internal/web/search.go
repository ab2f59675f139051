package web

import (
	"net/http"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// searchPage is the header's search (issue 17, item 5): services,
// offerings, orders and instances by name or number, each section only
// for those who may read it, each hit a link they can follow.
type searchPage struct {
	Page
	Services  []*catalog.Service
	Offerings []*catalog.Offering
	Found     *orders.Found
	// Searched says which kinds were searched, for the "nothing found" line.
	Searched []string
	Hits     int
}

func (p *Portal) search(w http.ResponseWriter, r *http.Request) error {
	pg, err := p.searchView(r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if pg.Error != "" {
		status = http.StatusBadRequest
	}
	return p.render(w, r, status, "search", pg)
}

func (p *Portal) searchView(r *http.Request) (searchPage, error) {
	pr := middleware.Principal(r.Context())
	pg := searchPage{Page: p.pageFor(r, "Search"), Found: &orders.Found{}}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	pg.Find = q
	if q == "" {
		return pg, nil
	}
	ctx := r.Context()
	var err error
	// Orders and instances first: the domain checks the search itself.
	if pg.Found, err = p.Orders.Search(ctx, pr, q, 20); err != nil {
		pg.Found = &orders.Found{}
		if err := formError(&pg.Page, err); err != nil {
			return pg, err
		}
		if m, ok := pg.Fields["query"]; ok {
			pg.Fields["q"] = m // the domain's field is the form's search box
		}
		return pg, nil
	}
	if pr.CanAnywhere(access.CatalogRead) {
		pg.Searched = append(pg.Searched, "offerings")
		res, err := p.Catalog.Search(ctx, pr, catalog.OfferingFilter{Query: q, Page: sqldb.Page{Limit: 20}})
		if err != nil {
			return pg, err
		}
		pg.Offerings = res.Items
	}
	if pr.CanAnywhere(access.ServiceRead) {
		pg.Searched = append(pg.Searched, "services")
		res, err := p.Catalog.ServicePage(ctx, pr, catalog.ServiceFilter{Query: q, Page: sqldb.Page{Limit: 20}})
		if err != nil {
			return pg, err
		}
		pg.Services = res.Items
	}
	pg.Searched = append(pg.Searched, "orders", "instances")
	pg.Offerings = pg.Offerings[:min(len(pg.Offerings), 20)]
	pg.Services = pg.Services[:min(len(pg.Services), 20)]
	pg.Hits = len(pg.Offerings) + len(pg.Services) + len(pg.Found.Orders) + len(pg.Found.Instances)
	return pg, nil
}
