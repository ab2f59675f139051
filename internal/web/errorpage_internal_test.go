package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/middleware"
)

// Issue 17, item 9: an unexpected failure shows the portal's own 500 page in
// plain words, with the request's reference and a way back, never the
// failure's text.
func TestInternalErrorPage(t *testing.T) {
	t.Parallel()
	p := &Portal{Log: slog.New(slog.DiscardHandler)}
	if err := p.parse(); err != nil {
		t.Fatal(err)
	}
	h := middleware.Outer(slog.New(slog.DiscardHandler), p.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("pq: connection refused to 10.0.0.7")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/costs", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	for _, w := range []string{`href="/static/steward.css"`, "Skip to content", "Something went wrong on our side", "Try again in a moment", `href="/"`, "Reference"} {
		if !strings.Contains(body, w) {
			t.Errorf("the 500 page lacks %q\n%s", w, body)
		}
	}
	if strings.Contains(body, "10.0.0.7") || strings.Contains(body, "pq:") {
		t.Errorf("the 500 page shows the failure's text\n%s", body)
	}
}
