// Package scim is Steward's SCIM 2.0 service provider (RFC 7643 and 7644):
// /scim/v2/Users and /scim/v2/Groups, so that the company's identity
// provider (Entra ID, Okta, Keycloak, …) pushes people and groups into
// Steward. The protocol (schemas, request validation, PATCH paths, filter
// parsing, list responses, errors) is github.com/elimity-com/scim's; this
// package maps its resources onto the identity service's directory
// methods, which decide what the directory may do (directory.sync, held by
// the directory_sync role of the provider's API token).
//
// A person's userName is their email; displayName (or name.formatted, or
// givenName and familyName) their name; active false deactivates them,
// which ends their sessions and stops their tokens. DELETE deactivates and
// hides them from the directory (their orders and audit trail stay). A
// group is an assignment group; its members are the directory's people.
// Which roles a group carries is decided in Steward (grants to groups), so
// roles follow directory membership.
package scim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	scim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
)

// MaxBody bounds a request body (a group with MaxDirectoryMembers members
// fits).
const MaxBody = 1 << 20

// PageSize is the default and largest count of a list response.
const PageSize = 500

type principalKey struct{}

// allowStringValues: Entra ID sends booleans as strings ("False") in
// PATCH; accepting them is the library's documented switch for it, a
// process-wide variable that requests read. It is set once, before the
// first handler exists, never while another handler serves.
var allowStringValues sync.Once

func principal(r *http.Request) *access.Principal {
	p, _ := r.Context().Value(principalKey{}).(*access.Principal)
	return p
}

// Handler serves SCIM under prefix ("/scim"): /scim/v2/Users, /Groups,
// /ServiceProviderConfig, /Schemas and /ResourceTypes. Callers
// authenticate with an API token that may directory.sync.
func Handler(ids *identity.Service, baseURL, prefix string, log *slog.Logger) (http.Handler, error) {
	allowStringValues.Do(func() { schema.SetAllowStringValues(true) })
	users := &userHandler{ids: ids, log: log}
	groups := &groupHandler{ids: ids, log: log}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://github.com/steward-itaas/steward/blob/main/docs/identity.md#directory-sync-scim"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{Type: scim.AuthenticationTypeOauthBearerToken, Name: "API token",
				Description: "A Steward API token holding the directory_sync role, as a bearer token.", Primary: true}},
			MaxResults:       PageSize,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Description: optional.NewString("People who sign in to Steward"),
				Schema: schema.CoreUserSchema(), Handler: users,
				// Entra ID's default mappings send the enterprise extension
				// (department, manager…): accepted, and not kept.
				SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}}},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Description: optional.NewString("Assignment groups"),
				Schema: schema.CoreGroupSchema(), Handler: groups},
		},
	}, scim.WithBaseURL(strings.TrimSuffix(baseURL, "/")+prefix+"/v2"))
	if err != nil {
		return nil, err
	}
	h := http.StripPrefix(prefix, srv)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			writeError(w, http.StatusUnauthorized, "send an API token holding the directory_sync role as a bearer token")
			return
		}
		p, err := ids.TokenPrincipal(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			if errs.Is(err, errs.CodeUnauthenticated) {
				writeError(w, http.StatusUnauthorized, "the token is not valid, has expired or was revoked")
				return
			}
			log.Error("scim: token", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		if !p.Can(access.DirectorySync, access.Resource{}) {
			writeError(w, http.StatusForbidden, "this token may not push users and groups: it needs the directory_sync role")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}), nil
}

func writeError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward-scim"`)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"%d","detail":%s}`, status, strconv.Quote(detail))
}

// scimError turns a domain error into the SCIM error of RFC 7644 section
// 3.12; an internal one is logged and answered without its text.
func scimError(log *slog.Logger, err error) error {
	if se := (scimerrors.ScimError{}); errors.As(err, &se) {
		return se // a PATCH operation's own refusal
	}
	e := errs.As(err)
	if e == nil {
		log.Error("scim", "err", err)
		return scimerrors.ScimErrorInternal
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += "; " + f.Message
	}
	switch e.Code {
	case errs.CodeNotFound:
		return scimerrors.ScimError{Status: http.StatusNotFound, Detail: msg}
	case errs.CodeConflict:
		for _, f := range e.Fields {
			if f.Rule == "unique" {
				return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: msg}
			}
		}
		return scimerrors.ScimError{Status: http.StatusConflict, Detail: msg}
	case errs.CodeInvalid:
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: msg}
	case errs.CodeForbidden, errs.CodeUnauthenticated:
		return scimerrors.ScimError{Status: http.StatusForbidden, Detail: msg}
	}
	log.Error("scim", "err", err)
	return scimerrors.ScimErrorInternal
}

// page turns SCIM's startIndex (from 1) and count into an offset and a
// limit; count 0 asks for the total only.
func page(params scim.ListRequestParams) (offset, limit int) {
	limit = params.Count
	if limit > PageSize {
		limit = PageSize
	}
	return max(params.StartIndex-1, 0), limit
}

// str reads a string attribute.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// lookup reads an attribute by name, ignoring letter case as SCIM does.
func lookup(attrs map[string]any, name string) (any, bool) {
	for k, v := range attrs {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func boolean(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		x, err := strconv.ParseBool(b)
		return x, err == nil
	}
	return false, false
}
