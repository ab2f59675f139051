package desk

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/triage"
)

// Suggestion is a service suggested for a description in the user's own
// words, with how sure Steward is and why.
type Suggestion struct {
	Service    Ref      `json:"service"`
	Confidence float64  `json:"confidence"`
	Why        []string `json:"why"`
}

// modelAge is how long a model is used before it is built again from the
// database: what other replicas learned, and catalog changes, reach this
// one within it.
const modelAge = 15 * time.Minute

// suggester holds the model of free text to service (internal/triage),
// built from the live services' texts and every classified ticket, and
// taught by this replica's raising and reclassifying as they happen.
type suggester struct {
	mu       sync.Mutex
	model    *triage.Model
	services map[string]Ref // the services the model suggests: live and retiring
	built    time.Time
	building bool
}

// ticketText is what the model learns of a ticket: the same text when it
// is learned and unlearned.
func ticketText(summary, description string) string { return summary + "\n" + description }

// buildModel reads the live services (their names, descriptions,
// outcomes, business functions, help, offerings and published knowledge
// articles) and the tickets
// people raised, and builds the model.
func (s *Service) buildModel(ctx context.Context) (*triage.Model, map[string]Ref, error) {
	q := s.db.Read()
	var docs []triage.Document
	services := map[string]Ref{}
	for _, lc := range []catalog.Lifecycle{catalog.LifecycleLive, catalog.LifecycleRetiring} {
		svcs, err := s.cat.Services(ctx, access.System(), catalog.ServiceFilter{Lifecycle: lc})
		if err != nil {
			return nil, nil, err
		}
		for _, sv := range svcs {
			services[sv.ID] = Ref{ID: sv.ID, Code: sv.Code, Name: sv.Name}
			d := triage.Document{ServiceID: sv.ID, Fields: []triage.Field{
				{Kind: triage.FieldName, Text: sv.Name},
				{Kind: triage.FieldDescription, Text: sv.Description + "\n" + sv.Help},
				{Kind: triage.FieldOutcome, Text: strings.Join(append(append([]string{}, sv.Outcomes...), sv.BusinessFunctions...), "\n") + "\n" + sv.ValueStatement},
			}}
			docs = append(docs, d)
		}
	}
	offers, err := sqldb.QueryAll(ctx, q, "offerings", func(row sqldb.Scanner) ([2]string, error) {
		var id, text string
		return [2]string{id, text}, row.Scan(&id, &text)
	}, `SELECT service_id, name || ' ' || summary FROM offerings ORDER BY service_id, code`)
	if err != nil {
		return nil, nil, err
	}
	byService := map[string][]string{}
	for _, o := range offers {
		byService[o[0]] = append(byService[o[0]], o[1])
	}
	articles, err := articleFields(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	for i := range docs {
		if texts := byService[docs[i].ServiceID]; len(texts) > 0 {
			docs[i].Fields = append(docs[i].Fields, triage.Field{Kind: triage.FieldKeyword, Text: strings.Join(texts, "\n")})
		}
		docs[i].Fields = append(docs[i].Fields, articles[docs[i].ServiceID]...)
	}
	examples, err := sqldb.QueryAll(ctx, q, "tickets", func(row sqldb.Scanner) (triage.Example, error) {
		var e triage.Example
		var summary, description string
		err := row.Scan(&e.ServiceID, &summary, &description)
		e.Text = ticketText(summary, description)
		return e, err
	}, `SELECT service_id, summary, SUBSTR(description, 1, 8192) FROM tickets WHERE requester_id IS NOT NULL AND merged_into_id IS NULL AND kind IN ('incident', 'request') ORDER BY opened_at, id`)
	if err != nil {
		return nil, nil, err
	}
	return triage.New(docs, examples), services, nil
}

// model returns the model, building it on first use and again in the
// background once it is older than modelAge.
func (s *Service) model(ctx context.Context) (*triage.Model, map[string]Ref, error) {
	g := &s.suggest
	g.mu.Lock()
	m, svcs, built := g.model, g.services, g.built
	stale := m != nil && s.now().Sub(built) > modelAge && !g.building
	if stale {
		g.building = true
	}
	g.mu.Unlock()
	if stale {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
			defer cancel()
			m, svcs, err := s.buildModel(ctx)
			g.mu.Lock()
			defer g.mu.Unlock()
			g.building = false
			if err == nil {
				g.model, g.services, g.built = m, svcs, s.now()
			}
		}()
	}
	if m != nil {
		return m, svcs, nil
	}
	m, svcs, err := s.buildModel(ctx)
	if err != nil {
		return nil, nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.model == nil {
		g.model, g.services, g.built = m, svcs, s.now()
	}
	return g.model, g.services, nil
}

// learned teaches the model, if built, that a ticket's text is about a
// service (and, moved from another, no longer about that one).
func (s *Service) learned(text, from, to string) {
	g := &s.suggest
	g.mu.Lock()
	m := g.model
	g.mu.Unlock()
	if m == nil {
		return
	}
	if from != "" {
		m.Unlearn(text, from)
	}
	if to != "" {
		m.Learn(text, to)
	}
}

// MaxSuggestText bounds the text Suggest reads (the model reads at most
// triage.MaxInputBytes of it).
const MaxSuggestText = MaxDescription

// Suggest suggests the services (at most k, 3 by default) a description
// in the user's own words is about, best first, with the reasons: from
// the services' texts and from the tickets agents settled on. Callers need
// to be able to raise or work tickets. Errors: invalid for an empty or
// too long text.
func (s *Service) Suggest(ctx context.Context, p *access.Principal, text string, k int) ([]Suggestion, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to get help")
	}
	if !p.CanAnywhere(access.TicketCreate) && !p.CanAnywhere(access.TicketWork) {
		return nil, access.Forbidden(access.TicketCreate)
	}
	text = strings.TrimSpace(text)
	var v errs.Validator
	textCheck(&v, text, "text", MaxSuggestText, true)
	v.Check(k >= 0 && k <= 10, "k", "range", "k is 1 to 10 (3 when 0)")
	if err := v.Err("the description is not valid"); err != nil {
		return nil, err
	}
	if k == 0 {
		k = 3
	}
	m, svcs, err := s.model(ctx)
	if err != nil {
		return nil, err
	}
	out := []Suggestion{}
	for _, sg := range m.Suggest(text, k, func(id string) bool { _, ok := svcs[id]; return ok }) {
		out = append(out, Suggestion{Service: svcs[sg.ServiceID], Confidence: sg.Confidence, Why: sg.Why})
	}
	return out, nil
}
