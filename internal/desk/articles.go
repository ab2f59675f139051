package desk

import (
	"context"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/sqldb"
	"github.com/steward-itaas/steward/internal/triage"
)

// maxModelArticleBytes bounds what the service suggestion reads of one
// knowledge article's body (internal/knowledge keeps the articles).
const maxModelArticleBytes = 8192

// articleFields reads the published knowledge articles of the services
// as fields of their documents: the titles, and the starts of the bodies
// (the model reads each field up to triage.MaxFieldBytes).
func articleFields(ctx context.Context, q sqldb.Querier) (map[string][]triage.Field, error) {
	rows, err := sqldb.QueryAll(ctx, q, "articles", func(row sqldb.Scanner) ([3]string, error) {
		var r [3]string
		return r, row.Scan(&r[0], &r[1], &r[2])
	}, `SELECT service_id, title, SUBSTR(body, 1, $1) FROM articles WHERE state = 'published' ORDER BY service_id, published_at, id`, maxModelArticleBytes)
	if err != nil {
		return nil, err
	}
	titles, bodies := map[string][]string{}, map[string][]string{}
	for _, r := range rows {
		titles[r[0]] = append(titles[r[0]], r[1])
		bodies[r[0]] = append(bodies[r[0]], r[2])
	}
	out := map[string][]triage.Field{}
	for id := range titles {
		out[id] = []triage.Field{
			{Kind: triage.FieldArticleTitle, Text: strings.Join(titles[id], "\n")},
			{Kind: triage.FieldArticleBody, Text: strings.Join(bodies[id], "\n")},
		}
	}
	return out, nil
}

// ArticlesChanged tells the service suggestion that a knowledge article
// was published, changed or retired: the model is built again in the
// background on its next use (other replicas follow within modelAge).
func (s *Service) ArticlesChanged() {
	g := &s.suggest
	g.mu.Lock()
	g.built = time.Time{}
	g.mu.Unlock()
}
