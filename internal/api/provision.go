package api

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/broker"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/provision"
)

func (s *Server) listProviders(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.Providers(ctx(r), principal(r), provision.ProviderFilter{Kind: provision.Kind(r.URL.Query().Get("kind")), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
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
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.Policies(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
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
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.Operations(ctx(r), principal(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
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
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.Bindings(ctx(r), principal(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
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
// authenticated by its signature rather than a user. A body over
// MaxBodyBytes is refused as invalid, naming the limit, before the
// signature is looked at (the same for every operation ID): it is never
// cut to the limit and acted on.
func (s *Server) providerCallback(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	out, err := s.Provision.Callback(ctx(r), r.PathValue("operation"), r.Header.Get(provision.SignatureHeader), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPlatforms(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Broker.Platforms(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
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

// blueprintInput reads an upload: JSON {source, note}, or the YAML itself
// (Content-Type application/yaml) with the note in ?note=.
func blueprintInput(w http.ResponseWriter, r *http.Request) (provision.BlueprintInput, error) {
	var in provision.BlueprintInput
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/yaml"), strings.HasPrefix(ct, "text/yaml"), strings.HasPrefix(ct, "application/x-yaml"):
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			return in, errs.Invalid("the blueprint is larger than %d bytes", MaxBodyBytes)
		}
		in.Source, in.Note = string(b), r.URL.Query().Get("note")
		return in, nil
	}
	return in, decode(w, r, &in)
}

func (s *Server) listBlueprints(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.Blueprints(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) uploadBlueprint(w http.ResponseWriter, r *http.Request) error {
	in, err := blueprintInput(w, r)
	if err != nil {
		return err
	}
	out, created, err := s.Provision.UploadBlueprint(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, out)
}

// validateBlueprint checks a blueprint without storing it: 200 with what
// it would make, or 422 with every problem and its line.
func (s *Server) validateBlueprint(w http.ResponseWriter, r *http.Request) error {
	in, err := blueprintInput(w, r)
	if err != nil {
		return err
	}
	b, err := s.Provision.ValidateBlueprint(ctx(r), principal(r), in.Source)
	if err != nil {
		return err
	}
	steps := make([]provision.BlueprintStep, 0, len(b.Steps))
	for _, st := range b.Steps {
		steps = append(steps, provision.BlueprintStep{Name: st.Name, Provider: st.Provider, Plan: st.Offering + "/" + st.Plan})
	}
	inputs := make([]string, 0, len(b.Inputs))
	for _, in := range b.Inputs {
		inputs = append(inputs, in.Name)
	}
	outputs := make([]string, 0, len(b.Outputs))
	for _, o := range b.Outputs {
		outputs = append(outputs, o.Name)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": b.Code, "name": b.Name, "inputs": inputs, "steps": steps, "outputs": outputs})
}

func (s *Server) listBlueprintVersions(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.BlueprintVersions(ctx(r), principal(r), r.PathValue("code"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getBlueprintVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		return errs.NotFound("version %q not found; versions are numbered from 1", r.PathValue("version"))
	}
	out, err := s.Provision.BlueprintVersion(ctx(r), principal(r), r.PathValue("code"), v)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listComponents(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Provision.Components(ctx(r), principal(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}
