package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// Issue 17, item 9: the portal's error pages are the portal's own pages in
// plain words with a way back, unknown URLs included; the API's unknown
// routes still answer problem+json.
func TestErrorPages(t *testing.T) {
	t.Parallel()
	p := newDemoPortal(t)
	dana := p.as("dana@contoso.example") // a consumer
	tests := []struct {
		name, path string
		who        *visitor
		status     int
		want, not  []string
	}{
		{"unknown URL", "/no/such/page", dana, http.StatusNotFound,
			[]string{"Page not found", "We can't find that page", `href="/"`, "Dana"}, []string{"404 page not found"}},
		{"unknown URL signed out", "/nothing-here", p.as(""), http.StatusNotFound,
			[]string{"We can't find that page", `href="/"`}, nil},
		{"missing object", "/admin/blueprints/none", p.as("sofia@it.contoso.example"), http.StatusNotFound,
			[]string{"We can't find that page", `blueprint`, `href="/"`}, nil},
		{"consumer on a manager page", "/billing", dana, http.StatusForbidden,
			[]string{"You don't have access to this page", "You may not run billing", "financial manager", `href="/"`},
			[]string{"billing manage", "financial_manager", "may not billing"}},
		{"consumer on the portfolio", "/portfolio", dana, http.StatusForbidden,
			[]string{"You don't have access to this page", "see the service portfolio", "portfolio manager"},
			[]string{"service read", "portfolio_manager"}},
	}
	for _, tt := range tests {
		status, ctype, body := tt.who.do("GET", tt.path, nil)
		if status != tt.status {
			t.Errorf("%s: GET %s = %d, want %d\n%s", tt.name, tt.path, status, tt.status, errorText(body))
			continue
		}
		if !strings.HasPrefix(ctype, "text/html") {
			t.Errorf("%s: GET %s is %s, want the portal's HTML page", tt.name, tt.path, ctype)
		}
		// The portal's layout: its stylesheet, the skip link and the footer.
		for _, w := range append([]string{`href="/static/steward.css"`, "Skip to content", `<footer`}, tt.want...) {
			if !strings.Contains(body, w) {
				t.Errorf("%s: GET %s lacks %q\n%s", tt.name, tt.path, w, errorText(body))
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: GET %s shows %q", tt.name, tt.path, n)
			}
		}
	}

	// With a page to go back to, the error page links back to it.
	req := dana.request("GET", "/portfolio")
	req.Header.Set("Referer", p.srv.URL+"/catalog")
	if _, body := dana.send(req); !strings.Contains(body, `href="/catalog"`) || !strings.Contains(body, "Go back") {
		t.Errorf("the 403 page does not link back to the page the reader came from\n%s", errorText(body))
	}
	// A Referer from another site is no way back.
	req = dana.request("GET", "/portfolio")
	req.Header.Set("Referer", "https://elsewhere.example/x")
	if _, body := dana.send(req); strings.Contains(body, "elsewhere.example") {
		t.Error("the 403 page links back to another site")
	}

	// The API's unknown routes answer problem+json, not the portal's page.
	status, ctype, body := dana.do("GET", "/api/v1/no-such-thing", nil)
	if status != http.StatusNotFound || !strings.HasPrefix(ctype, "application/problem+json") {
		t.Errorf("GET /api/v1/no-such-thing = %d %s, want 404 problem+json\n%s", status, ctype, body)
	}
}
