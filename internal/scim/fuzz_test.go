package scim_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/fuzztest"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/scim"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// FuzzSCIM: the fuzzing defence for what an identity provider sends (the
// bodies, PATCH operations and filters of RFC 7644). Any request ends in a
// SCIM answer below 500: a resource, or an error naming what is wrong.
func FuzzSCIM(f *testing.F) {
	db := sqldbtest.Open(f)
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	ids := identity.NewService(db, func() time.Time { return now }, cheap)
	nt, err := ids.CreateDirectoryToken(context.Background(), access.System(), "fuzz", now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	h, err := scim.Handler(ids, "", "/scim", slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+nt.Secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	u := do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"seed@example.com"}`)
	if u.Code != 201 {
		f.Fatalf("seed user: %d %s", u.Code, u.Body)
	}
	g := do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"seed"}`)
	if g.Code != 201 {
		f.Fatalf("seed group: %d %s", g.Code, g.Body)
	}
	userID := between(u.Body.String(), `"id":"`, `"`)
	groupID := between(g.Body.String(), `"id":"`, `"`)
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.example","name":{"givenName":"A"},"emails":[{"value":"a@b.example","primary":true}],"active":"False"}`},
		{"PATCH", "/Users/" + userID, patch + `[{"op":"Replace","path":"active","value":"False"},{"op":"replace","value":{"displayName":"X","active":true}}]}`},
		{"PATCH", "/Users/" + userID, patch + `[{"op":"remove","path":"emails[type eq \"work\"].value"}]}`},
		{"PATCH", "/Groups/" + groupID, patch + `[{"op":"Add","path":"members","value":[{"value":"` + userID + `"}]},{"op":"Remove","path":"members[value eq \"` + userID + `\"]"}]}`},
		{"PATCH", "/Groups/" + groupID, patch + `[{"op":"replace","path":"members","value":[]},{"op":"remove","path":"members"}]}`},
		{"PUT", "/Groups/" + groupID, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"seed","members":[{"value":"nope"}]}`},
		{"GET", "/Users?filter=userName%20eq%20%22a%40b.example%22&startIndex=2&count=0", ""},
		{"GET", "/Groups?filter=members%5Bvalue%20eq%20%22x%22%5D%20or%20not%20(displayName%20co%20%22s%22)", ""},
		{"DELETE", "/Users/" + userID, ""},
	} {
		f.Add(s.method, s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		defer fuzztest.Bound(t)()
		switch method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			method = "GET"
		}
		if _, err := url.ParseRequestURI("/scim/v2" + path); err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " #") {
			path = "/Users" // what no HTTP client sends
		}
		w := do(method, path, body)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q = %d %s", method, path, body, w.Code, w.Body)
		}
		if w.Code != http.StatusNoContent && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/scim+json") {
			t.Fatalf("%s %s = %d with Content-Type %q", method, path, w.Code, w.Header().Get("Content-Type"))
		}
	})
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return v
}
