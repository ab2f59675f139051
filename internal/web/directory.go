package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// mayManageDirectory: SCIM tokens are made by those who may manage users
// and grants on the whole provider.
func mayManageDirectory(p *access.Principal) bool {
	return p.Can(access.UserManage, access.Resource{}) && p.Can(access.GrantManage, access.Resource{}) && !p.Limited()
}

type directoryPage struct {
	Page
	Tokens  []*identity.DirectoryToken
	More    string
	Created *identity.NewToken
	Base    string
	Now     time.Time
}

func (p *Portal) directoryView(r *http.Request) (directoryPage, error) {
	pr := middleware.Principal(r.Context())
	if !mayManageDirectory(pr) {
		return directoryPage{}, pr.Require(access.GrantManage, access.Resource{})
	}
	ts, err := p.Identity.DirectoryTokens(r.Context(), pr, sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	return directoryPage{Page: p.pageFor(r, "Directory sync"), Tokens: ts.Items, More: moreLink(r, ts.Next), Base: p.ssoBase(r), Now: p.Now()}, err
}

func (p *Portal) createDirectoryToken(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	days, err := strconv.Atoi(f.Get("days"))
	var nt *identity.NewToken
	if err != nil {
		err = formInvalid("expires_at", "choose how many days the token lasts")
	} else {
		nt, err = p.Identity.CreateDirectoryToken(r.Context(), middleware.Principal(r.Context()), f.Get("name"), p.Now().Add(time.Duration(days)*24*time.Hour))
	}
	if err != nil {
		return reshow(p, w, r, "directory", err, p.directoryView)
	}
	pg, err := p.directoryView(r)
	if err != nil {
		return err
	}
	pg.Created = nt // shown in this response and never again: no redirect
	return p.render(w, r, http.StatusCreated, "directory", pg)
}

func (p *Portal) revokeDirectoryToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := p.Identity.RevokeToken(r.Context(), middleware.Principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return p.redirect(w, r, "/admin/directory-sync", "SCIM token revoked.")
}
