package provision

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Blueprint is one uploaded version of a blueprint. Versions are never
// changed: a plan names the version it is made by, and uploading a changed
// blueprint adds the next version.
type Blueprint struct {
	ID          string    `json:"id"`
	Code        string    `json:"code"`
	Version     int       `json:"version"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Note        string    `json:"note"`
	Digest      string    `json:"digest"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	// Versions counts the blueprint's versions (in lists, where each
	// blueprint appears once, as its latest version).
	Versions int `json:"versions,omitempty"`
	// Source is the YAML as uploaded; Steps summarise it; Plans are the
	// plans made by this version (offering/plan codes). Filled in when one
	// version is read.
	Source string          `json:"source,omitempty"`
	Steps  []BlueprintStep `json:"steps,omitempty"`
	Plans  []string        `json:"plans,omitempty"`
}

// Ref is how plans name the version: code@version.
func (b *Blueprint) Ref() string { return b.Code + "@" + strconv.Itoa(b.Version) }

// BlueprintStep is one step as the portal and API show it.
type BlueprintStep struct {
	Name     string `json:"name"`
	Provider string `json:"provider,omitempty"`
	Plan     string `json:"plan"`
}

// BlueprintInput uploads a blueprint.
type BlueprintInput struct {
	Source string `json:"source"`
	// Note says what changed in this version.
	Note string `json:"note"`
}

const blueprintColumns = `b.id, b.code, b.version, b.name, b.description, b.note, b.digest, COALESCE(u.email, ''), b.created_at`

const blueprintFrom = ` FROM blueprints b LEFT JOIN users u ON u.id = b.created_by`

func scanBlueprint(row sqldb.Scanner) (*Blueprint, error) {
	var b Blueprint
	if err := row.Scan(&b.ID, &b.Code, &b.Version, &b.Name, &b.Description, &b.Note, &b.Digest, &b.CreatedBy, &b.CreatedAt); err != nil {
		return nil, err
	}
	b.CreatedAt = b.CreatedAt.UTC()
	return &b, nil
}

// ValidateBlueprint checks a blueprint as uploading it would, without
// storing it: its YAML, and that the plans and providers its steps name
// exist and that each plan is offered by the provider named (or, when none
// is, by some provider). Every problem is reported with its line.
func (s *Service) ValidateBlueprint(ctx context.Context, p *access.Principal, source string) (*blueprint.Blueprint, error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return nil, err
	}
	return s.validateBlueprint(ctx, s.db.Read(), source)
}

func (s *Service) validateBlueprint(ctx context.Context, q sqldb.Querier, source string) (*blueprint.Blueprint, error) {
	b, err := blueprint.Parse([]byte(source))
	if err != nil {
		return nil, err
	}
	var problems []errs.FieldError
	for i, st := range b.Steps {
		_, _, problem, err := s.stepTarget(ctx, q, st)
		if err != nil {
			return nil, err
		}
		if problem != nil {
			problem.Field = fmt.Sprintf("steps[%d].%s", i, problem.Field)
			problems = append(problems, *problem)
		}
	}
	if err := blueprint.Problems("the blueprint refers to what Steward cannot make", problems); err != nil {
		return nil, err
	}
	return b, nil
}

// stepTarget resolves a step's plan and, when it names one, its provider,
// and checks that the plan can be made there. What makes the step
// impossible is a problem on its plan or provider field (with the line);
// err is a failure to read.
func (s *Service) stepTarget(ctx context.Context, q sqldb.Querier, st blueprint.Step) (planID, providerID string, problem *errs.FieldError, err error) {
	bad := func(field string, line int, format string, args ...any) (string, string, *errs.FieldError, error) {
		return "", "", &errs.FieldError{Field: field, Rule: "exists", Line: line, Message: fmt.Sprintf(format, args...)}, nil
	}
	var bp sql.NullString
	err = q.QueryRowContext(ctx, `SELECT p.id, p.blueprint_id FROM plans p JOIN offerings f ON f.id = p.offering_id WHERE f.code = $1 AND p.code = $2`,
		st.Offering, st.Plan).Scan(&planID, &bp)
	if errors.Is(err, sql.ErrNoRows) {
		return bad("plan", st.PlanLine, "there is no plan %s/%s; steps name a plan as offering/plan (import the provider's catalog or offer the plan first)", st.Offering, st.Plan)
	}
	if err != nil {
		return "", "", nil, sqldb.Err(err, "plan")
	}
	if bp.Valid {
		return bad("plan", st.PlanLine, "plan %s/%s is itself made by a blueprint; a step calls a provider directly", st.Offering, st.Plan)
	}
	if st.Provider == "" {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM provider_offers WHERE plan_id = $1 AND NOT retired`, planID).Scan(&n); err != nil {
			return "", "", nil, sqldb.Err(err, "offers")
		}
		if n == 0 {
			return bad("plan", st.PlanLine, "no provider offers %s/%s; register one that does, or name the provider", st.Offering, st.Plan)
		}
		return planID, "", nil, nil
	}
	pv, err := getProvider(ctx, q, st.Provider)
	if errs.Is(err, errs.CodeNotFound) {
		return bad("provider", st.ProviderLine, "provider %s is not registered; register it on the Providers page or name another", st.Provider)
	}
	if err != nil {
		return "", "", nil, err
	}
	of, err := offerFor(ctx, q, pv.ID, planID)
	if err != nil {
		return "", "", nil, err
	}
	if of == nil || of.Retired {
		return bad("plan", st.PlanLine, "provider %s does not offer %s/%s; give it an offer for the plan or name another provider", st.Provider, st.Offering, st.Plan)
	}
	return planID, pv.ID, nil, nil
}

// UploadBlueprint validates a blueprint and stores it as the next version
// of its code, reporting whether it created one: uploading the same source
// as the latest version changes nothing and returns that version. Callers
// need blueprint.manage on the whole provider (blueprints are shared by
// every org unit), else forbidden.
func (s *Service) UploadBlueprint(ctx context.Context, p *access.Principal, in BlueprintInput) (*Blueprint, bool, error) {
	if err := p.Require(access.BlueprintManage, access.Resource{}); err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(in.Source) == "" {
		return nil, false, &errs.Error{Code: errs.CodeInvalid, Message: "the blueprint is empty",
			Fields: []errs.FieldError{{Field: "source", Rule: "required", Message: "source is the blueprint's YAML"}}}
	}
	sum := sha256.Sum256([]byte(in.Source))
	digest := hex.EncodeToString(sum[:])
	var id string
	created := false
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		b, err := s.validateBlueprint(ctx, tx, in.Source)
		if err != nil {
			return err
		}
		var latest int
		var latestID, latestDigest sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT id, version, digest FROM blueprints WHERE code = $1 ORDER BY version DESC LIMIT 1`, b.Code).Scan(&latestID, &latest, &latestDigest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return sqldb.Err(err, "blueprint")
		}
		if latestDigest.String == digest {
			id = latestID.String
			return nil
		}
		id, created = sqldb.NewID(), true
		by := p.UserID
		if p.IsSystem() {
			by = "" // the command line
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO blueprints (id, code, version, name, description, source, digest, note, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, id, b.Code, latest+1, b.Name, b.Description, in.Source, digest, strings.TrimSpace(in.Note),
			nullString(by), sqldb.Time(s.now())); err != nil {
			if errs.Is(sqldb.Err(err, "blueprint"), errs.CodeConflict) {
				return errs.Conflict("version %d of %s was uploaded at the same moment; upload again", latest+1, b.Code)
			}
			return sqldb.Err(err, "blueprint")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "blueprint.upload", ObjectType: "blueprint", ObjectID: id,
			After: map[string]any{"code": b.Code, "version": latest + 1, "digest": digest, "note": in.Note}})
	})
	if err != nil {
		return nil, false, err
	}
	b, err := s.blueprintByID(ctx, id)
	return b, created, err
}

// scanFunc is a sqldb.Scanner made of a function: for a query that reads
// a few columns more than a scan function knows.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// blueprintOrder is the order of Blueprints: by code.
var blueprintOrder = sqldb.Order{Name: "code", Columns: []string{"b.code"}}

// Blueprints lists one page of the blueprints, each as its latest version
// with its number of versions, by code. Callers need provider.read, else
// forbidden; a cursor not of this list is invalid.
func (s *Service) Blueprints(ctx context.Context, p *access.Principal, page sqldb.Page) (sqldb.Paged[*Blueprint], error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return sqldb.Paged[*Blueprint]{}, err
	}
	var args sqldb.Args
	var after string
	seek, err := blueprintOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*Blueprint]{}, err
	}
	latest, err := sqldb.QueryAll(ctx, s.db.Read(), "blueprints", func(row sqldb.Scanner) (*Blueprint, error) {
		var versions int
		b, err := scanBlueprint(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &versions)...) }))
		if b != nil {
			b.Versions = versions
		}
		return b, err
	}, `SELECT `+blueprintColumns+`, (SELECT COUNT(*) FROM blueprints c WHERE c.code = b.code)`+blueprintFrom+`
		WHERE b.version = (SELECT MAX(m.version) FROM blueprints m WHERE m.code = b.code) AND `+seek+blueprintOrder.By()+blueprintOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Blueprint]{}, err
	}
	return sqldb.PageOf(latest, page, blueprintOrder, func(b *Blueprint) []any { return []any{b.Code} }), nil
}

// blueprintVersionOrder is the order of BlueprintVersions: newest first.
var blueprintVersionOrder = sqldb.Order{Name: "version", Columns: []string{"b.version"}, Desc: true}

// BlueprintVersions lists one page of a blueprint's versions, newest
// first. Callers need provider.read, else forbidden; returns not_found if
// there is no such blueprint, invalid for a cursor not of this list.
func (s *Service) BlueprintVersions(ctx context.Context, p *access.Principal, code string, page sqldb.Page) (sqldb.Paged[*Blueprint], error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return sqldb.Paged[*Blueprint]{}, err
	}
	args := sqldb.Args{code}
	var after int
	seek, err := blueprintVersionOrder.Seek(&args, page, &after)
	if err != nil {
		return sqldb.Paged[*Blueprint]{}, err
	}
	out, err := sqldb.QueryAll(ctx, s.db.Read(), "blueprints", scanBlueprint, `SELECT `+blueprintColumns+blueprintFrom+` WHERE b.code = $1 AND `+seek+
		blueprintVersionOrder.By()+blueprintVersionOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Blueprint]{}, err
	}
	if len(out) == 0 && page.Cursor == "" {
		return sqldb.Paged[*Blueprint]{}, errs.NotFound("blueprint %q not found", code)
	}
	return sqldb.PageOf(out, page, blueprintVersionOrder, func(b *Blueprint) []any { return []any{b.Version} }), nil
}

// BlueprintVersion reads one version whole: source, steps and the plans it
// makes. Version 0 is the latest.
func (s *Service) BlueprintVersion(ctx context.Context, p *access.Principal, code string, version int) (*Blueprint, error) {
	if err := p.RequireAnywhere(access.ProviderRead); err != nil {
		return nil, err
	}
	q := `SELECT b.id FROM blueprints b WHERE b.code = $1 AND b.version = $2`
	args := []any{code, version}
	if version == 0 {
		q, args = `SELECT b.id FROM blueprints b WHERE b.code = $1 ORDER BY b.version DESC LIMIT 1`, args[:1]
	}
	id, err := sqldb.QueryOne(ctx, s.db.Read(), fmt.Sprintf("blueprint %s version %d", code, version), func(row sqldb.Scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, q, args...)
	if err != nil {
		return nil, err
	}
	return s.blueprintByID(ctx, id)
}

func (s *Service) blueprintByID(ctx context.Context, id string) (*Blueprint, error) {
	b, err := scanBlueprint(s.db.Read().QueryRowContext(ctx, `SELECT `+blueprintColumns+blueprintFrom+` WHERE b.id = $1`, id))
	if err != nil {
		return nil, sqldb.Err(err, "blueprint")
	}
	parsed, err := s.parsed(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	b.Source = parsed.Source
	for _, st := range parsed.Steps {
		b.Steps = append(b.Steps, BlueprintStep{Name: st.Name, Provider: st.Provider, Plan: st.Offering + "/" + st.Plan})
	}
	b.Plans, err = sqldb.QueryAll(ctx, s.db.Read(), "plans", func(r sqldb.Scanner) (string, error) {
		var ref string
		return ref, r.Scan(&ref)
	}, `SELECT f.code || '/' || p.code FROM plans p JOIN offerings f ON f.id = p.offering_id WHERE p.blueprint_id = $1 ORDER BY 1`, id)
	return b, err
}

// parsed returns a stored version parsed; versions never change, so each
// is parsed once.
func (s *Service) parsed(ctx context.Context, q sqldb.Querier, id string) (*blueprint.Blueprint, error) {
	if b, ok := s.blueprints.Load(id); ok {
		return b.(*blueprint.Blueprint), nil
	}
	var source string
	if err := q.QueryRowContext(ctx, `SELECT source FROM blueprints WHERE id = $1`, id).Scan(&source); err != nil {
		return nil, sqldb.Err(err, "blueprint")
	}
	b, err := blueprint.Parse([]byte(source))
	if err != nil {
		return nil, err
	}
	s.blueprints.Store(id, b)
	return b, nil
}
