package api_test

import (
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/knowledge"
)

// knowledgeScenario drives the knowledge base's routes (issue 20): an
// agent writes an article about object storage, with bad input first,
// edits and publishes it; a Retail consumer reads it rendered safely and
// gets it suggested for her own words; the agent links it to her ticket,
// she sees it there, and the agent unlinks and retires it.
func knowledgeScenario(t *testing.T, e *env, retail string) {
	c := e.check
	_, buyer := e.user(t, "kb-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	_, agent := e.user(t, "kb-agent@example.com", retail, map[string]any{"role": "agent", "scope_kind": "global"})

	f := c.bad("POST", "/api/v1/articles", agent, map[string]any{"service": "", "title": strings.Repeat("t", 201), "body": ""}, 422).problemFields()
	if len(f) != 3 {
		t.Errorf("a bad article: fields %v, want service, title and body", f)
	}
	c.do("POST", "/api/v1/articles", buyer, map[string]any{"service": "object-storage", "title": "x", "body": "y"}, 403)
	var a struct {
		knowledge.Article
		HTML string `json:"html"`
	}
	c.do("POST", "/api/v1/articles", agent, map[string]any{"service": "object-storage", "title": "Uploads fail with 503",
		"body": "Retry with **multipart** uploads.<script>alert(1)</script>"}, 201).decode(t, &a)
	if a.State != knowledge.StateDraft || strings.Contains(a.HTML, "<script") || !strings.Contains(a.HTML, "<strong>multipart</strong>") {
		t.Fatalf("created %+v", a)
	}
	ref := "/api/v1/articles/" + a.Reference
	c.do("GET", ref, buyer, nil, 404) // a draft
	c.do("PATCH", ref, agent, map[string]any{"title": "Uploads to a bucket fail with 503"}, 200).decode(t, &a)
	if a.Title != "Uploads to a bucket fail with 503" || !strings.Contains(a.Body, "multipart") {
		t.Errorf("patched %+v", a)
	}
	c.do("PUT", ref, agent, map[string]any{"title": a.Title, "body": "Retry with **multipart** uploads; the gateway limits single uploads to 5 GB."}, 200)
	c.do("POST", ref+"/publish", buyer, nil, 404)
	c.do("POST", ref+"/publish", agent, nil, 200)
	c.do("POST", ref+"/publish", agent, nil, 409)
	c.do("GET", ref, buyer, nil, 200).decode(t, &a)
	if a.State != knowledge.StatePublished || a.PublishedAt == nil {
		t.Errorf("published %+v", a)
	}
	var list struct{ Items []knowledge.Article }
	c.do("GET", "/api/v1/articles?service=object-storage&state=published&q=multipart&limit=5", buyer, nil, 200).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ID {
		t.Errorf("search = %+v", list.Items)
	}
	c.bad("GET", "/api/v1/articles?state=bogus", buyer, nil, 422)
	var sg struct{ Suggestions []knowledge.Suggestion }
	c.do("GET", "/api/v1/article-suggestions?q=my+upload+to+the+bucket+fails+with+503&k=3", buyer, nil, 200).decode(t, &sg)
	if len(sg.Suggestions) == 0 || sg.Suggestions[0].ID != a.ID || len(sg.Suggestions[0].Matched) == 0 {
		t.Errorf("suggestions = %+v, want the article first", sg.Suggestions)
	}
	c.bad("GET", "/api/v1/article-suggestions?q=", buyer, nil, 422)

	var tk struct{ Reference string }
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "summary": "Upload fails"}, 201).decode(t, &tk)
	links := "/api/v1/tickets/" + tk.Reference + "/articles"
	c.do("POST", links, buyer, map[string]any{"article": a.Reference}, 403)
	c.bad("POST", links, agent, map[string]any{"article": "KB-999999"}, 422)
	c.do("POST", links, agent, map[string]any{"article": a.Reference}, 200)
	var linked struct{ Items []knowledge.Article }
	c.do("GET", links, buyer, nil, 200).decode(t, &linked)
	if len(linked.Items) != 1 || linked.Items[0].ID != a.ID {
		t.Errorf("linked = %+v", linked.Items)
	}
	c.do("DELETE", links+"/"+a.ID, agent, nil, 204)
	c.do("DELETE", links+"/"+a.ID, agent, nil, 404)
	c.do("POST", ref+"/retire", agent, nil, 200)
	c.do("GET", ref, buyer, nil, 404)
}
