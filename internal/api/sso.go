package api

import (
	"net/http"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sso"
)

func (s *Server) listIdentityProviders(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ps, err := s.SSO.Providers(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, ps)
}

func (s *Server) createIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	var in sso.ProviderInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.SSO.CreateProvider(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/identity-providers/"+p.ID)
	return writeJSON(w, http.StatusCreated, p)
}

func (s *Server) getIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	p, err := s.SSO.Provider(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) updateIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	var in sso.ProviderInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.SSO.UpdateProvider(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) deleteIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	if err := s.SSO.DeleteProvider(ctx(r), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) previewIdentityProvider(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Claims map[string]any `json:"claims"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.SSO.Preview(ctx(r), principal(r), r.PathValue("id"), in.Claims)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// signInSettings is how people may sign in.
type signInSettings struct {
	LocalPasswords *bool `json:"local_passwords"`
}

func (s *Server) getSignInSettings(w http.ResponseWriter, r *http.Request) error {
	on, err := s.Identity.SignInSettings(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, signInSettings{LocalPasswords: &on})
}

func (s *Server) putSignInSettings(w http.ResponseWriter, r *http.Request) error {
	var in signInSettings
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.LocalPasswords == nil {
		return &errs.Error{Code: errs.CodeInvalid, Message: "say whether local passwords are allowed",
			Fields: []errs.FieldError{{Field: "local_passwords", Rule: "required", Message: "local_passwords must be true or false"}}}
	}
	if err := s.Identity.SetLocalPasswords(ctx(r), principal(r), *in.LocalPasswords); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, in)
}
