package api

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// discard is a response writer that keeps headers and drops the body, so
// a list with more than items and next (the catalog's facets) sets its
// Link header as writeList does.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Catalog.ServicePage(ctx(r), principal(r), catalog.ServiceFilter{
		Lifecycle: catalog.Lifecycle(q.Get("lifecycle")), Kind: catalog.Kind(q.Get("kind")), Query: q.Get("q"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	var in catalog.ServiceInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.CreateService(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/services/"+out.ID)
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Catalog.Service(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateService(w http.ResponseWriter, r *http.Request) error {
	var in catalog.ServiceInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.UpdateService(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) transitionService(w http.ResponseWriter, r *http.Request) error {
	var in catalog.TransitionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.Transition(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listTransitions(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Catalog.TransitionPage(ctx(r), principal(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) serviceSupport(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Catalog.SupportPage(ctx(r), principal(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) serviceMap(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Catalog.ServiceMap(ctx(r), principal(r))
	if err != nil {
		return err
	}
	deps := m.Dependencies
	if deps == nil {
		deps = []*catalog.Dependency{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"nodes": m.NodeList(), "dependencies": deps})
}

func (s *Server) impact(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Catalog.Impact(ctx(r), principal(r), r.URL.Query()["node"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) addDependency(w http.ResponseWriter, r *http.Request) error {
	var in catalog.DependencyInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.AddDependency(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) removeDependency(w http.ResponseWriter, r *http.Request) error {
	if err := s.Catalog.RemoveDependency(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDependencies(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Catalog.DependencyPage(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) listConfigItems(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Catalog.ConfigItemPage(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) createConfigItem(w http.ResponseWriter, r *http.Request) error {
	var in catalog.ConfigItemInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.CreateConfigItem(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listOfferings(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Catalog.Search(ctx(r), principal(r), catalog.OfferingFilter{View: catalog.View(q.Get("view")), ServiceID: q.Get("service_id"),
		Category: q.Get("category"), Price: catalog.PriceBand(q.Get("price")), Query: q.Get("q"), Page: pg, Facets: q.Get("facets") == "true"})
	if err != nil {
		return err
	}
	if out.Next != "" {
		writeList(discard{w.Header()}, r, sqldb.Paged[*catalog.Offering]{Next: out.Next}) // the Link header alone
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createOffering(w http.ResponseWriter, r *http.Request) error {
	var in catalog.OfferingInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.CreateOffering(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/catalog/offerings/"+out.ID)
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getOffering(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Catalog.Offering(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateOffering(w http.ResponseWriter, r *http.Request) error {
	var in catalog.OfferingInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.UpdateOffering(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) catalogSummary(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Catalog.ExecutiveSummary(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listQuotas(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Catalog.QuotaPage(ctx(r), principal(r), catalog.QuotaFilter{OfferingID: r.URL.Query().Get("offering_id"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) setQuota(w http.ResponseWriter, r *http.Request) error {
	var in catalog.QuotaInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Catalog.SetQuota(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
