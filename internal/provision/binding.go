package provision

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// BindingState is where a binding is.
type BindingState string

// The binding states.
const (
	BindingCreating BindingState = "creating"
	BindingReady    BindingState = "ready"
	BindingFailed   BindingState = "failed"
	BindingDeleting BindingState = "deleting"
	BindingDeleted  BindingState = "deleted"
)

// Binding is access to an instance: credentials the provider made, sealed
// at rest. Its owner sees the credentials once, on the first read after
// they are ready; later reads show that they were revealed and when.
type Binding struct {
	ID          string         `json:"id"`
	InstanceID  string         `json:"instance_id"`
	Name        string         `json:"name"`
	State       BindingState   `json:"state"`
	Credentials map[string]any `json:"credentials,omitempty"`
	RevealedAt  *time.Time     `json:"revealed_at,omitempty"`
	CreatedBy   string         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`

	sealed string
}

const bindingColumns = `id, instance_id, name, state, credentials, created_by, revealed_at, created_at, updated_at`

func scanBinding(row sqldb.Scanner) (*Binding, error) {
	var b Binding
	var revealed sql.NullTime
	if err := row.Scan(&b.ID, &b.InstanceID, &b.Name, &b.State, &b.sealed, &b.CreatedBy, &revealed, &b.CreatedAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	b.RevealedAt = sqldb.TimePtr(revealed)
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return &b, nil
}

func getBinding(ctx context.Context, q sqldb.Querier, instanceID, id string) (*Binding, error) {
	if !sqldb.ValidID(id) {
		return nil, errs.NotFound("binding %q not found", id)
	}
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("binding %q", id), scanBinding, `SELECT `+bindingColumns+` FROM bindings WHERE id = $1 AND instance_id = $2`, id, instanceID)
}

// mayBind reports whether p may bind and unbind the instance, and read a
// binding's credentials: its owner, or someone who orders for its org
// unit. Ownership counts only through a role that orders
// (access.Principal.Owns): a token of the owner limited to usage_reporter
// or auditor is the owner's user, but binds nothing and reads no secrets.
func mayBind(p *access.Principal, inst *orders.Instance) bool {
	return p != nil && (p.Owns(inst.OwnerID, access.OrderCreate) || p.Can(access.OrderCreate, access.InOrgUnit(inst.OrgUnitPath())))
}

// BindingInput asks for a binding.
type BindingInput struct {
	Name string `json:"name"`
	// ID, when given, is the binding's ID (the broker passes the platform's).
	ID string `json:"-"`
}

// CreateBinding asks the instance's provider for credentials. It answers
// at once with the binding in state creating; the credentials follow when
// the provider has made them. Callers need to be able to bind the instance.
// Errors: conflict when the instance is not active; invalid when its
// provider's plan is not bindable.
func (s *Service) CreateBinding(ctx context.Context, p *access.Principal, instanceID string, in BindingInput) (*Binding, error) {
	inst, err := s.orders.Instance(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	if !mayBind(p, inst) {
		return nil, errs.Forbidden("only the owner of %s or someone who orders for its org unit may bind it", inst.Name)
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		in.Name = "binding"
	}
	if len(in.Name) > 100 {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the binding is not valid", Fields: []errs.FieldError{{Field: "name", Rule: "length", Message: "name must be at most 100 characters"}}}
	}
	if inst.State != orders.InstanceActive {
		return nil, errs.Conflict("%s is %s; bind it when it is active", inst.Name, inst.State)
	}
	if inst.BlueprintID != "" {
		return nil, errs.Invalid("%s was made in steps by blueprint %s and has no binding of its own; what it made is in its outputs", inst.Name, inst.Blueprint)
	}
	if inst.ProviderID == "" {
		return nil, errs.Invalid("%s was made by hand; ask its service desk for access", inst.Name)
	}
	id := in.ID
	if id == "" {
		id = sqldb.NewID()
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		of, err := offerFor(ctx, tx, inst.ProviderID, inst.PlanID)
		if err != nil {
			return err
		}
		if of == nil || !of.Bindable {
			return errs.Invalid("%s's plan is not bindable at its provider", inst.Name)
		}
		now := sqldb.Time(s.now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO bindings (id, instance_id, name, state, credentials, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, 'creating', '', $4, $5, $5)`, id, inst.ID, in.Name, p.UserID, now); err != nil {
			return sqldb.Err(err, "binding")
		}
		if err := s.startOp(ctx, tx, &Operation{InstanceID: inst.ID, BindingID: id, ProviderID: inst.ProviderID, Kind: OpBind, PlanID: inst.PlanID}, of); err != nil {
			return err
		}
		return audit.Write(ctx, tx, p, s.now(), audit.Entry{Action: "binding.create", ObjectType: "binding", ObjectID: id,
			After: map[string]any{"instance_id": inst.ID, "name": in.Name}})
	})
	if err != nil {
		return nil, err
	}
	return getBinding(ctx, s.db.Read(), inst.ID, id)
}

// bindingOrder is the order of Bindings: oldest first.
var bindingOrder = sqldb.Order{Name: "created", Columns: []string{"created_at", "id"}}

// Bindings lists one page of an instance's bindings, oldest first, without
// credentials. Callers need to be able to read the instance, else
// not_found; a cursor not of this list is invalid.
func (s *Service) Bindings(ctx context.Context, p *access.Principal, instanceID string, page sqldb.Page) (sqldb.Paged[*Binding], error) {
	inst, err := s.orders.Instance(ctx, p, instanceID)
	if err != nil {
		return sqldb.Paged[*Binding]{}, err
	}
	args := sqldb.Args{inst.ID}
	var created time.Time
	var id string
	seek, err := bindingOrder.Seek(&args, page, &created, &id)
	if err != nil {
		return sqldb.Paged[*Binding]{}, err
	}
	bs, err := sqldb.QueryAll(ctx, s.db.Read(), "bindings", scanBinding, `SELECT `+bindingColumns+` FROM bindings WHERE instance_id = $1 AND state <> 'deleted' AND `+seek+
		bindingOrder.By()+bindingOrder.Limit(&args, page), args...)
	if err != nil {
		return sqldb.Paged[*Binding]{}, err
	}
	return sqldb.PageOf(bs, page, bindingOrder, func(b *Binding) []any { return []any{b.CreatedAt, b.ID} }), nil
}

// Binding returns a binding. The first read by someone who may bind the
// instance, once the binding is ready, carries its credentials and marks
// them revealed; no later read does.
func (s *Service) Binding(ctx context.Context, p *access.Principal, instanceID, id string) (*Binding, error) {
	inst, err := s.orders.Instance(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	b, err := getBinding(ctx, s.db.Read(), inst.ID, id)
	if err != nil || b.State != BindingReady || b.RevealedAt != nil || !mayBind(p, inst) {
		return b, err
	}
	now := sqldb.Time(s.now())
	var revealed bool
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bindings SET revealed_at = $1 WHERE id = $2 AND revealed_at IS NULL`, now, b.ID)
		if err != nil {
			return sqldb.Err(err, "binding")
		}
		n, _ := res.RowsAffected()
		revealed = n == 1
		return audit.Write(ctx, tx, p, now, audit.Entry{Action: "binding.reveal", ObjectType: "binding", ObjectID: b.ID})
	})
	if err != nil || !revealed {
		return b, err
	}
	b.RevealedAt = &now
	b.Credentials, err = s.open(b.sealed)
	return b, err
}

// BindablePlans are the plans some provider can bind (an offer that is
// bindable and not retired): the broker's catalog says so.
func (s *Service) BindablePlans(ctx context.Context) (map[string]bool, error) {
	ids, err := sqldb.QueryAll(ctx, s.db.Read(), "offers", func(r sqldb.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT DISTINCT plan_id FROM provider_offers WHERE bindable AND NOT retired`)
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}

// BindingCredentials returns a ready binding's credentials without marking
// them revealed: for the broker, whose platform fetches them.
func (s *Service) BindingCredentials(ctx context.Context, instanceID, id string) (*Binding, error) {
	b, err := getBinding(ctx, s.db.Read(), instanceID, id)
	if err != nil {
		return nil, err
	}
	b.Credentials, err = s.open(b.sealed)
	return b, err
}

func (s *Service) open(sealed string) (map[string]any, error) {
	plain, err := s.box.Open(sealed)
	if err != nil {
		return nil, errs.Internal(err, "the credentials cannot be opened")
	}
	var m map[string]any
	if plain == "" { // none kept: not ready, or deleted
		return nil, nil
	}
	if err := json.Unmarshal([]byte(plain), &m); err != nil {
		return nil, errs.Internal(err, "the opened credentials are not valid JSON")
	}
	return m, nil
}

// DeleteBinding asks the provider to delete a binding. Callers need to be
// able to bind the instance.
func (s *Service) DeleteBinding(ctx context.Context, p *access.Principal, instanceID, id string) (*Binding, error) {
	inst, err := s.orders.Instance(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	if !mayBind(p, inst) {
		return nil, errs.Forbidden("only the owner of %s or someone who orders for its org unit may unbind it", inst.Name)
	}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		b, err := getBinding(ctx, tx, inst.ID, id)
		if err != nil {
			return err
		}
		if b.State != BindingReady && b.State != BindingFailed {
			return errs.Conflict("the binding is %s; wait until it is ready", b.State)
		}
		now := sqldb.Time(s.now())
		if b.State == BindingFailed {
			_, err := tx.ExecContext(ctx, `UPDATE bindings SET state = 'deleted', deleted_at = $1, updated_at = $1 WHERE id = $2`, now, b.ID)
			return sqldb.Err(err, "binding")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bindings SET state = 'deleting', updated_at = $1 WHERE id = $2`, now, b.ID); err != nil {
			return sqldb.Err(err, "binding")
		}
		of, err := offerFor(ctx, tx, inst.ProviderID, inst.PlanID)
		if err != nil {
			return err
		}
		if err := s.startOp(ctx, tx, &Operation{InstanceID: inst.ID, BindingID: b.ID, ProviderID: inst.ProviderID, Kind: OpUnbind, PlanID: inst.PlanID}, of); err != nil {
			return err
		}
		return audit.Write(ctx, tx, p, s.now(), audit.Entry{Action: "binding.delete", ObjectType: "binding", ObjectID: b.ID})
	})
	if err != nil {
		return nil, err
	}
	return getBinding(ctx, s.db.Read(), inst.ID, id)
}
