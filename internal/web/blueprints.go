package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/provision"
	"github.com/steward-itaas/steward/internal/sqldb"
)

type blueprintsPage struct {
	Page
	More       string
	Blueprints []*provision.Blueprint
	CanManage  bool
	// Source and Note are what was last submitted; Problems are its
	// problems, by line.
	Source, Note string
	Problems     []errs.FieldError
}

func (p *Portal) blueprintsView(r *http.Request) (blueprintsPage, error) {
	pr := middleware.Principal(r.Context())
	pg := blueprintsPage{Page: p.pageFor(r, "Blueprints"), CanManage: pr.CanAnywhere(access.BlueprintManage)}
	bs, err := p.Provision.Blueprints(r.Context(), pr, sqldb.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	pg.Blueprints, pg.More = bs.Items, moreLink(r, bs.Next)
	return pg, err
}

// uploadBlueprint checks (action=check) or uploads the submitted YAML; on
// problems the page shows them by line, with the source kept for editing.
func (p *Portal) uploadBlueprint(w http.ResponseWriter, r *http.Request) error {
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	source, note := r.PostForm.Get("source"), r.PostForm.Get("note")
	var err error
	var done string
	if r.PostForm.Get("action") == "check" {
		var bp *blueprint.Blueprint
		if bp, err = p.Provision.ValidateBlueprint(ctx, pr, source); err == nil {
			done = "Blueprint " + bp.Code + " is valid: " + strconv.Itoa(len(bp.Inputs)) + " inputs, " + strconv.Itoa(len(bp.Steps)) +
				" steps, " + strconv.Itoa(len(bp.Outputs)) + " outputs, and Steward can make every step."
		}
	} else {
		bp, created, uerr := p.Provision.UploadBlueprint(ctx, pr, provision.BlueprintInput{Source: source, Note: note})
		if uerr == nil {
			msg := "Uploaded " + bp.Ref() + ". Name it in a plan as " + bp.Ref() + "."
			if !created {
				msg = "Nothing changed: " + bp.Ref() + " already has this source."
			}
			return p.redirect(w, r, "/admin/blueprints/"+bp.Code, msg)
		}
		err = uerr
	}
	pg, verr := p.blueprintsView(r)
	if verr != nil {
		return verr
	}
	pg.Source, pg.Note = source, note
	status := http.StatusOK
	if err != nil {
		e := errs.As(err)
		if e.Code != errs.CodeInvalid {
			return err
		}
		pg.Error, pg.Problems, status = e.Message, e.Fields, http.StatusUnprocessableEntity
	} else {
		pg.Flash = done
	}
	return p.render(w, r, status, "blueprints", pg)
}

type blueprintPage struct {
	Page
	Versions []*provision.Blueprint
	// Version is the one shown whole (?version=N, default the latest).
	Version *provision.Blueprint
}

func (p *Portal) blueprintView(r *http.Request) (blueprintPage, error) {
	// The page is /admin/blueprints/{code}, or {code}@{version}, or ?version=N.
	ctx, pr := r.Context(), middleware.Principal(r.Context())
	code, version, ok := strings.Cut(r.PathValue("code"), "@")
	if !ok {
		version = r.URL.Query().Get("version")
	}
	vs, err := p.Provision.BlueprintVersions(ctx, pr, code, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		return blueprintPage{}, err
	}
	n, _ := strconv.Atoi(version)
	v, err := p.Provision.BlueprintVersion(ctx, pr, code, n)
	if err != nil {
		return blueprintPage{}, err
	}
	return blueprintPage{Page: p.pageFor(r, "Blueprint "+v.Ref()), Versions: vs.Items, Version: v}, nil
}
