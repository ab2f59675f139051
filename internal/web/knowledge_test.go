package web_test

import (
	"context"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/knowledge"
)

// TestKnowledgePages: the knowledge pages' forms keep what was typed when
// they are refused (the article's edit form, linking an article to a
// ticket), a consumer reads published articles only and is offered no
// form, and the fragment Get help asks for lists the matching articles,
// escaped.
func TestKnowledgePages(t *testing.T) {
	p := newDemoPortal(t)
	ctx, sys := context.Background(), access.System()
	kb := p.app.Knowledge
	pub, err := kb.Create(ctx, sys, knowledge.Input{Service: "network", Title: "Reset your VPN token <b>now</b>", Body: "Open **GlobalProtect**."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Publish(ctx, sys, pub.ID); err != nil {
		t.Fatal(err)
	}
	draft, err := kb.Create(ctx, sys, knowledge.Input{Service: "network", Title: "Draft about the VPN", Body: "not yet"})
	if err != nil {
		t.Fatal(err)
	}

	alex := p.as("alex@it.contoso.example")
	long := strings.Repeat("x", knowledge.MaxTitle+1)
	code, _, body := alex.do("POST", "/knowledge/"+pub.Reference, url.Values{"service": {"network"}, "title": {long}, "body": {"Kept *body*"}})
	if code != 422 || !strings.Contains(body, `value="`+long+`"`) || !strings.Contains(body, "Kept *body*</textarea>") || !strings.Contains(body, "at most 200 characters") {
		t.Errorf("a refused edit = %d, want 422 with the values kept and the error:\n%s", code, errorText(body))
	}

	dana := p.as("dana@contoso.example")
	code, _, body = dana.do("GET", "/knowledge", nil)
	if code != 200 || !strings.Contains(body, pub.Reference) || strings.Contains(body, draft.Reference) || strings.Contains(body, `id="new-article"`) {
		t.Errorf("Dana's knowledge page = %d: want the published article only and no form", code)
	}
	if code, _, _ = dana.do("GET", "/knowledge/"+draft.Reference, nil); code != 404 {
		t.Errorf("Dana opens a draft: %d, want 404", code)
	}
	_, _, frag := dana.do("GET", "/knowledge/suggest?q="+url.QueryEscape("my vpn token expired"), nil)
	if !strings.Contains(frag, "/knowledge/"+pub.Reference) || !strings.Contains(frag, html.EscapeString("<b>now</b>")) || strings.Contains(frag, "<b>now") || strings.Contains(frag, draft.Reference) {
		t.Errorf("the fragment for Get help:\n%s", frag)
	}

	danaP, err := p.app.Identity.UserByEmail(ctx, sys, "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := p.app.Identity.Principal(ctx, danaP.ID)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := p.app.Desk.Raise(ctx, pr, desk.RaiseInput{Service: "network", Summary: "VPN token expired"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, body = alex.do("POST", "/tickets/"+tk.Reference+"/articles", url.Values{"article": {"KB-424242"}})
	if code != 422 || !strings.Contains(body, `value="KB-424242"`) || !strings.Contains(body, "no article") {
		t.Errorf("linking no article = %d, want 422 with the value kept:\n%s", code, errorText(body))
	}
	if code, _, _ = dana.do("POST", "/tickets/"+tk.Reference+"/articles", url.Values{"article": {pub.Reference}}); code != 403 {
		t.Errorf("Dana links an article: %d, want 403", code)
	}
}
