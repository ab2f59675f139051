package sso

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Provider is an OpenID Connect identity provider people sign in through.
type Provider struct {
	ID string `json:"id"`
	// Code names the provider in URLs: /login/sso/{code}.
	Code string `json:"code"`
	// Name is shown on the sign-in button: "Sign in with {name}".
	Name string `json:"name"`
	// IssuerURL is the provider's issuer; its discovery document is at
	// {issuer}/.well-known/openid-configuration.
	IssuerURL string `json:"issuer_url"`
	ClientID  string `json:"client_id"`
	// HasClientSecret says a client secret is stored (it is never shown).
	HasClientSecret bool      `json:"has_client_secret"`
	Scopes          []string  `json:"scopes"`
	Enabled         bool      `json:"enabled"`
	Rules           []Rule    `json:"rules"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`

	sealedSecret string
}

// ProviderInput registers or changes a provider.
type ProviderInput struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	IssuerURL string `json:"issuer_url"`
	ClientID  string `json:"client_id"`
	// ClientSecret is the client's secret; on a change, absent keeps the
	// stored one and "" removes it (a public client, which PKCE protects).
	ClientSecret *string `json:"client_secret,omitempty"`
	// Scopes default to openid, email and profile; openid is always asked.
	Scopes []string `json:"scopes,omitempty"`
	// Enabled defaults to true.
	Enabled *bool  `json:"enabled,omitempty"`
	Rules   []Rule `json:"rules,omitempty"`
}

// Limits of a provider's fields.
const (
	MaxRules       = 100
	MaxRuleGrants  = 20
	maxSecretLen   = 1000
	maxScopes      = 20
	defaultScopes  = "openid email profile"
	maxClaimLength = 100
	maxValueLength = 200
)

var (
	codePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	scopePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,100}$`)
)

// Validate checks the input's fields and fills its defaults.
func (in *ProviderInput) Validate() error {
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	in.IssuerURL, in.ClientID = strings.TrimSpace(in.IssuerURL), strings.TrimSpace(in.ClientID)
	var v errs.Validator
	v.Check(codePattern.MatchString(in.Code), "code", "format", "code must be 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit (it goes in the sign-in URL)")
	v.Check(in.Name != "" && len(in.Name) <= 100 && v.Text(in.Name, "name"), "name", "length", "name is required and must be at most 100 characters")
	v.Check(validIssuer(in.IssuerURL), "issuer_url", "format", "issuer_url must be the provider's https URL without query or fragment (http only for localhost), such as https://login.example.com/realms/staff")
	v.Check(in.ClientID != "" && len(in.ClientID) <= 255 && v.Text(in.ClientID, "client_id"), "client_id", "length", "client_id is required and must be at most 255 characters")
	if in.ClientSecret != nil {
		v.Check(len(*in.ClientSecret) <= maxSecretLen && v.Text(*in.ClientSecret, "client_secret"), "client_secret", "length", fmt.Sprintf("client_secret must be at most %d characters", maxSecretLen))
	}
	if len(in.Scopes) == 0 {
		in.Scopes = strings.Fields(defaultScopes)
	}
	if !slices.Contains(in.Scopes, "openid") {
		in.Scopes = append([]string{"openid"}, in.Scopes...)
	}
	v.Check(len(in.Scopes) <= maxScopes, "scopes", "length", fmt.Sprintf("scopes may list at most %d scopes", maxScopes))
	for i, s := range in.Scopes {
		v.Check(scopePattern.MatchString(s), fmt.Sprintf("scopes[%d]", i), "format", "a scope is 1 to 100 printable characters without spaces, quotes or backslashes")
	}
	in.Scopes = slices.Compact(in.Scopes)
	if in.Enabled == nil {
		t := true
		in.Enabled = &t
	}
	validateRules(&v, in.Rules)
	return v.Err("the identity provider is not valid")
}

func validateRules(v *errs.Validator, rules []Rule) {
	v.Check(len(rules) <= MaxRules, "rules", "length", fmt.Sprintf("a provider has at most %d mapping rules", MaxRules))
	for i := range rules {
		r := &rules[i]
		f := fmt.Sprintf("rules[%d]", i)
		r.Name, r.Claim, r.Value = strings.TrimSpace(r.Name), strings.TrimSpace(r.Claim), strings.TrimSpace(r.Value)
		v.Check(len(r.Name) <= 100 && v.Text(r.Name, f+".name"), f+".name", "length", "a rule's name is at most 100 characters")
		if r.Claim == "" && r.Match == MatchEmailDomain {
			r.Claim = "email"
		}
		v.Check(r.Claim != "" && len(r.Claim) <= maxClaimLength && v.Text(r.Claim, f+".claim"), f+".claim", "length",
			fmt.Sprintf("claim names the claim to match (groups, department, email, or a dotted path), at most %d characters", maxClaimLength))
		v.Check(r.Match == MatchEquals || r.Match == MatchContains || r.Match == MatchEmailDomain, f+".match", "enum", "match must be equals, contains or email_domain")
		v.Check(r.Value != "" && len(r.Value) <= maxValueLength && v.Text(r.Value, f+".value"), f+".value", "length",
			fmt.Sprintf("value is what the claim must equal or contain (for email_domain, a domain such as example.com), at most %d characters", maxValueLength))
		v.Check(r.OrgUnitID == "" || sqldb.ValidID(r.OrgUnitID), f+".org_unit_id", "format", "org_unit_id must be an org unit ID")
		v.Check(r.OrgUnitID != "" || len(r.Grants) > 0, f, "empty", "a rule must give an org unit, grants, or both")
		v.Check(len(r.Grants) <= MaxRuleGrants, f+".grants", "length", fmt.Sprintf("a rule gives at most %d grants", MaxRuleGrants))
		for j, g := range r.Grants {
			g.Validate(v, fmt.Sprintf("%s.grants[%d]", f, j))
		}
	}
}

// validIssuer accepts https URLs, and http ones on the loopback host (a
// provider on the same machine, as in tests).
func validIssuer(s string) bool {
	u, err := url.Parse(s)
	if err != nil || len(s) > 500 || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback()))
}

// checkScopes reports rules that name org units or services that do not exist.
func (s *Service) checkScopes(ctx context.Context, rules []Rule) error {
	var v errs.Validator
	for i, r := range rules {
		f := fmt.Sprintf("rules[%d]", i)
		if r.OrgUnitID != "" {
			ok, err := s.ids.ScopeExists(ctx, identity.RuleGrant{ScopeKind: access.ScopeOrgUnit, ScopeID: r.OrgUnitID})
			if err != nil {
				return err
			}
			v.Check(ok, f+".org_unit_id", "exists", "org_unit_id must be an existing org unit")
		}
		for j, g := range r.Grants {
			ok, err := s.ids.ScopeExists(ctx, g)
			if err != nil {
				return err
			}
			v.Check(ok, fmt.Sprintf("%s.grants[%d].scope_id", f, j), "exists", "scope_id must be an existing org unit or service")
		}
	}
	return v.Err("a mapping rule names something that does not exist")
}

const providerColumns = `id, code, name, issuer_url, client_id, client_secret, scopes, enabled, rules, created_at, updated_at`

func scanProvider(row sqldb.Scanner) (*Provider, error) {
	var p Provider
	var scopes, rules string
	if err := row.Scan(&p.ID, &p.Code, &p.Name, &p.IssuerURL, &p.ClientID, &p.sealedSecret, &scopes, &p.Enabled, &rules, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.HasClientSecret = p.sealedSecret != ""
	p.Scopes = strings.Fields(scopes)
	if err := json.Unmarshal([]byte(rules), &p.Rules); err != nil {
		return nil, fmt.Errorf("identity provider %s: its rules are not JSON: %w", p.Code, err)
	}
	if p.Rules == nil {
		p.Rules = []Rule{}
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

func getProvider(ctx context.Context, q sqldb.Querier, where string, arg string) (*Provider, error) {
	p, err := scanProvider(q.QueryRowContext(ctx, `SELECT `+providerColumns+` FROM identity_providers WHERE `+where+` = $1`, arg))
	if err != nil {
		if e := sqldb.Err(err, "identity provider"); errs.Is(e, errs.CodeNotFound) {
			return nil, errs.NotFound("identity provider %q not found", arg)
		}
		return nil, sqldb.Err(err, "identity provider")
	}
	return p, nil
}

// requireManage checks that p may manage single sign-on (globally).
func requireManage(p *access.Principal) error {
	return p.Require(access.IdentityProviderManage, access.Resource{})
}

// providerOrder lists providers by code, which is unique.
var providerOrder = sqldb.Order{Name: "identity providers", Columns: []string{"code"}}

// Providers lists the providers by code, a page at a time. Callers need
// identity_provider.manage globally.
func (s *Service) Providers(ctx context.Context, p *access.Principal, pg sqldb.Page) (sqldb.Paged[*Provider], error) {
	if err := requireManage(p); err != nil {
		return sqldb.Paged[*Provider]{}, err
	}
	var args sqldb.Args
	var after string
	seek, err := providerOrder.Seek(&args, pg, &after)
	if err != nil {
		return sqldb.Paged[*Provider]{}, err
	}
	rows, err := sqldb.QueryAll(ctx, s.db.Read(), "identity provider", scanProvider, `SELECT `+providerColumns+` FROM identity_providers WHERE `+seek+
		providerOrder.By()+providerOrder.Limit(&args, pg), args...)
	return sqldb.PageOf(rows, pg, providerOrder, func(p *Provider) []any { return []any{p.Code} }), err
}

// Provider returns one provider by ID or code. Callers need
// identity_provider.manage globally; returns not_found otherwise too.
func (s *Service) Provider(ctx context.Context, p *access.Principal, idOrCode string) (*Provider, error) {
	if err := requireManage(p); err != nil {
		return nil, err
	}
	return s.provider(ctx, s.db.Read(), idOrCode)
}

func (s *Service) provider(ctx context.Context, q sqldb.Querier, idOrCode string) (*Provider, error) {
	if sqldb.ValidID(idOrCode) {
		return getProvider(ctx, q, "id", idOrCode)
	}
	return getProvider(ctx, q, "code", idOrCode)
}

// SignInOption is a provider as the sign-in page offers it.
type SignInOption struct {
	Code string
	Name string
}

// SignInOptions lists the enabled providers, for the sign-in page (no
// principal: anyone may see which buttons there are).
func (s *Service) SignInOptions(ctx context.Context) ([]SignInOption, error) {
	return sqldb.QueryAll(ctx, s.db.Read(), "identity provider", func(r sqldb.Scanner) (SignInOption, error) {
		var o SignInOption
		return o, r.Scan(&o.Code, &o.Name)
	}, `SELECT code, name FROM identity_providers WHERE enabled ORDER BY name, code`)
}

// CreateProvider registers a provider. Callers need
// identity_provider.manage globally. Returns invalid for bad fields (a
// rule naming an org unit or service that does not exist among them) and
// conflict when the code is taken.
func (s *Service) CreateProvider(ctx context.Context, p *access.Principal, in ProviderInput) (*Provider, error) {
	if err := requireManage(p); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkScopes(ctx, in.Rules); err != nil {
		return nil, err
	}
	now := sqldb.Time(s.now())
	pr := &Provider{ID: sqldb.NewID(), CreatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		return s.save(ctx, tx, p, pr, in, now, true)
	})
	if err != nil {
		return nil, err
	}
	return pr, nil
}

// UpdateProvider changes a provider: every field as given (an absent
// client_secret keeps the stored one). Callers need
// identity_provider.manage globally. The new rules apply from each
// person's next sign-in.
func (s *Service) UpdateProvider(ctx context.Context, p *access.Principal, idOrCode string, in ProviderInput) (*Provider, error) {
	if err := requireManage(p); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkScopes(ctx, in.Rules); err != nil {
		return nil, err
	}
	var out *Provider
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		pr, err := s.provider(ctx, tx, idOrCode)
		if err != nil {
			return err
		}
		out = pr
		return s.save(ctx, tx, p, pr, in, sqldb.Time(s.now()), false)
	})
	if err != nil {
		return nil, err
	}
	s.forget(out.IssuerURL)
	return out, nil
}

func (s *Service) save(ctx context.Context, tx *sqldb.Tx, p *access.Principal, pr *Provider, in ProviderInput, now time.Time, create bool) error {
	before := *pr
	pr.Code, pr.Name, pr.IssuerURL, pr.ClientID = in.Code, in.Name, in.IssuerURL, in.ClientID
	pr.Scopes, pr.Enabled, pr.Rules, pr.UpdatedAt = in.Scopes, *in.Enabled, in.Rules, now
	if pr.Rules == nil {
		pr.Rules = []Rule{}
	}
	if in.ClientSecret != nil {
		pr.sealedSecret = s.box.Seal(*in.ClientSecret)
	}
	pr.HasClientSecret = pr.sealedSecret != ""
	rules, err := json.Marshal(pr.Rules)
	if err != nil {
		return err
	}
	args := []any{pr.Code, pr.Name, pr.IssuerURL, pr.ClientID, pr.sealedSecret, strings.Join(pr.Scopes, " "),
		pr.Enabled, string(rules), pr.UpdatedAt, pr.ID}
	var q string
	if create {
		args = append(args, pr.CreatedAt)
		q = `INSERT INTO identity_providers (code, name, issuer_url, client_id, client_secret, scopes, enabled, rules, updated_at, id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	} else {
		q = `UPDATE identity_providers SET code = $1, name = $2, issuer_url = $3, client_id = $4, client_secret = $5, scopes = $6,
			enabled = $7, rules = $8, updated_at = $9 WHERE id = $10`
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		if e := sqldb.Err(err, "identity provider"); errs.Is(e, errs.CodeConflict) {
			return &errs.Error{Code: errs.CodeConflict, Message: fmt.Sprintf("an identity provider with the code %s exists", pr.Code),
				Fields: []errs.FieldError{{Field: "code", Rule: "unique", Message: "code is already in use"}}}
		}
		return sqldb.Err(err, "identity provider")
	}
	e := audit.Entry{Action: "identity_provider.update", ObjectType: "identity_provider", ObjectID: pr.ID, Before: before, After: pr}
	if create {
		e.Action, e.Before = "identity_provider.create", nil
	}
	return audit.Write(ctx, tx, p, s.now(), e)
}

// DeleteProvider removes a provider, its links to users (they keep their
// Steward accounts) and the grants its rules gave. Callers need
// identity_provider.manage globally.
func (s *Service) DeleteProvider(ctx context.Context, p *access.Principal, idOrCode string) error {
	if err := requireManage(p); err != nil {
		return err
	}
	var issuer string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		pr, err := s.provider(ctx, tx, idOrCode)
		if err != nil {
			return err
		}
		issuer = pr.IssuerURL
		if err := s.ids.DropRuleGrants(ctx, tx, p, pr.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_providers WHERE id = $1`, pr.ID); err != nil {
			return sqldb.Err(err, "identity provider")
		}
		return audit.Write(ctx, tx, p, s.now(), audit.Entry{Action: "identity_provider.delete", ObjectType: "identity_provider", ObjectID: pr.ID, Before: pr})
	})
	if err == nil {
		s.forget(issuer)
	}
	return err
}

// Preview shows what a provider's rules would make of claims (a JSON
// object as the provider would send it), changing nothing. Callers need
// identity_provider.manage globally.
func (s *Service) Preview(ctx context.Context, p *access.Principal, idOrCode string, claims map[string]any) (Mapping, error) {
	pr, err := s.Provider(ctx, p, idOrCode)
	if err != nil {
		return Mapping{}, err
	}
	if claims == nil {
		return Mapping{}, &errs.Error{Code: errs.CodeInvalid, Message: "send the claims to try",
			Fields: []errs.FieldError{{Field: "claims", Rule: "required", Message: `claims must be a JSON object such as {"email": "ana@example.com", "groups": ["staff"]}`}}}
	}
	return Evaluate(pr.Rules, claims), nil
}
