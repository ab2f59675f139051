package sso

import (
	"fmt"
	"strings"

	"github.com/steward-itaas/steward/internal/identity"
)

// Match is how a rule compares a claim with its value.
type Match string

// The ways a rule matches.
const (
	// MatchEquals: the claim, or one of its elements when it is a list
	// (groups), equals the value.
	MatchEquals Match = "equals"
	// MatchContains: the claim's text, or one of its elements' text,
	// contains the value.
	MatchContains Match = "contains"
	// MatchEmailDomain: the email claim (or the named claim) is an
	// address at the value's domain, letter case ignored.
	MatchEmailDomain Match = "email_domain"
)

// Rule maps claims to a home org unit and role grants.
type Rule struct {
	// Name says what the rule is for, for people.
	Name string `json:"name,omitempty"`
	// Claim names the claim: a top-level name ("groups", "department"), or
	// a dotted path into an object claim ("address.country").
	Claim string `json:"claim"`
	Match Match  `json:"match"`
	Value string `json:"value"`
	// OrgUnitID, when set, becomes the person's home org unit (the first
	// matching rule that gives one wins).
	OrgUnitID string `json:"org_unit_id,omitempty"`
	// Grants are the roles the rule gives.
	Grants []identity.RuleGrant `json:"grants,omitempty"`
}

// Mapping is what rules make of a person's claims.
type Mapping struct {
	// MatchedRules are the indexes of the rules that matched, in order.
	MatchedRules []int `json:"matched_rules"`
	// OrgUnitID is the home org unit the rules give; empty: none.
	OrgUnitID string `json:"org_unit_id,omitempty"`
	// Grants are the grants the rules give, without duplicates.
	Grants []identity.RuleGrant `json:"grants"`
}

// Evaluate applies the rules to the claims. It is pure: Preview and every
// sign-in use it.
func Evaluate(rules []Rule, claims map[string]any) Mapping {
	m := Mapping{MatchedRules: []int{}, Grants: []identity.RuleGrant{}}
	seen := map[identity.RuleGrant]bool{}
	for i, r := range rules {
		if !r.matches(claims) {
			continue
		}
		m.MatchedRules = append(m.MatchedRules, i)
		if m.OrgUnitID == "" {
			m.OrgUnitID = r.OrgUnitID
		}
		for _, g := range r.Grants {
			if !seen[g] {
				seen[g] = true
				m.Grants = append(m.Grants, g)
			}
		}
	}
	return m
}

func (r Rule) matches(claims map[string]any) bool {
	claim := r.Claim
	if claim == "" && r.Match == MatchEmailDomain {
		claim = "email"
	}
	v, ok := lookup(claims, claim)
	if !ok {
		return false
	}
	for _, s := range texts(v) {
		switch r.Match {
		case MatchEquals:
			if s == r.Value {
				return true
			}
		case MatchContains:
			if strings.Contains(s, r.Value) {
				return true
			}
		case MatchEmailDomain:
			at := strings.LastIndexByte(s, '@')
			if at >= 0 && strings.EqualFold(s[at+1:], strings.TrimPrefix(r.Value, "@")) {
				return true
			}
		}
	}
	return false
}

// lookup finds a claim by name, or by a dotted path into objects.
func lookup(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	var cur any = claims
	for _, part := range strings.Split(name, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// texts is a claim's value as the texts a rule compares: a list's
// elements, or the value itself; objects match nothing.
func texts(v any) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, texts(e)...)
		}
		return out
	case []string:
		return x
	case string:
		return []string{x}
	case bool, float64, int, int64:
		return []string{fmt.Sprint(x)}
	}
	return nil
}
