package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type tokensPage struct {
	Page
	Tokens []*identity.Token
	Roles  []access.Role
	// Created is the token just made: its secret is shown this once.
	Created *identity.NewToken
	Now     time.Time
	More    string
}

func (p *Portal) tokensView(r *http.Request) (tokensPage, error) {
	pr := middleware.Principal(r.Context())
	ts, err := p.Identity.Tokens(r.Context(), pr, "", sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	pg := tokensPage{Page: p.pageFor(r, "API tokens"), Tokens: ts.Items, Now: p.Now(), More: moreLink(r, ts.Next)}
	for _, role := range access.Roles {
		if pr.HasRole(role) {
			pg.Roles = append(pg.Roles, role)
		}
	}
	return pg, err
}

func formInvalid(field, message string) error {
	return &errs.Error{Code: errs.CodeInvalid, Message: "the form is not valid",
		Fields: []errs.FieldError{{Field: field, Rule: "format", Message: message}}}
}

func (p *Portal) createToken(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	days, err := strconv.Atoi(f.Get("days"))
	var nt *identity.NewToken
	if err != nil {
		err = formInvalid("expires_at", "choose how many days the token lasts")
	} else {
		in := identity.CreateTokenInput{Name: f.Get("name"), ExpiresAt: p.Now().Add(time.Duration(days) * 24 * time.Hour)}
		for _, role := range f["roles"] {
			in.Roles = append(in.Roles, access.Role(role))
		}
		nt, err = p.Identity.CreateToken(r.Context(), middleware.Principal(r.Context()), in)
	}
	if err != nil {
		return reshow(p, w, r, "tokens", err, p.tokensView)
	}
	pg, err := p.tokensView(r)
	if err != nil {
		return err
	}
	// Shown in this response and never again: no redirect.
	pg.Created = nt
	return p.render(w, r, http.StatusCreated, "tokens", pg)
}

func (p *Portal) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := p.Identity.RevokeToken(r.Context(), middleware.Principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return p.redirect(w, r, "/tokens", "Token revoked.")
}
