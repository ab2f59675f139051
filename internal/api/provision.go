package api

import (
	"io"
	"net/http"

	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
)

func (s *Server) listProviders(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Providers(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) getProvider(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Provider(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createProvider(w http.ResponseWriter, r *http.Request) error {
	var in provision.ProviderInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Provision.CreateProvider(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) updateProvider(w http.ResponseWriter, r *http.Request) error {
	var in provision.ProviderInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Provision.UpdateProvider(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) checkProvider(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Check(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) syncProvider(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Sync(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) setOffer(w http.ResponseWriter, r *http.Request) error {
	var in provision.OfferInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Provision.SetOffer(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPlacementPolicies(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Policies(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) setPlacementPolicy(w http.ResponseWriter, r *http.Request) error {
	var in provision.Policy
	if err := decode(w, r, &in); err != nil {
		return err
	}
	in.OfferingID = r.PathValue("offering")
	out, err := s.Provision.SetPolicy(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listOperations(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Operations(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) changeInstance(w http.ResponseWriter, r *http.Request) error {
	var in orders.ChangeInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Orders.RequestChange(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listBindings(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Bindings(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) createBinding(w http.ResponseWriter, r *http.Request) error {
	var in provision.BindingInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Provision.CreateBinding(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, out)
}

func (s *Server) getBinding(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.Binding(ctx(r), principal(r), r.PathValue("id"), r.PathValue("binding"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteBinding(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Provision.DeleteBinding(ctx(r), principal(r), r.PathValue("id"), r.PathValue("binding"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, out)
}

// providerCallback is a webhook provider reporting an operation's end,
// authenticated by its signature rather than a user.
func (s *Server) providerCallback(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes))
	if err != nil {
		return errs.Invalid("the body could not be read: %v", err)
	}
	out, err := s.Provision.Callback(ctx(r), r.PathValue("operation"), r.Header.Get(provision.SignatureHeader), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPlatforms(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Broker.Platforms(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(out, 0, nil))
}

func (s *Server) registerPlatform(w http.ResponseWriter, r *http.Request) error {
	var in broker.PlatformInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Broker.Register(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, out)
}
