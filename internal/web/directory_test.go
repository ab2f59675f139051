package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

// Issue 19, directory sync, in the portal: an administrator makes a SCIM
// token on the Directory sync page (shown once), the identity provider
// pushes with it to /scim/v2 of the same Steward, and revoking it on the
// page shuts the provider out.
func TestSCIMTokenFromThePortal(t *testing.T) {
	p := newDemoPortal(t)
	admin := p.as("admin@it.contoso.example")
	code, _, page := admin.do("GET", "/admin/directory-sync", nil)
	if code != http.StatusOK || !regexp.MustCompile(`/scim/v2</code>`).MatchString(page) {
		t.Fatalf("directory sync page: %d", code)
	}
	if code, _, _ := p.as("dana@contoso.example").do("GET", "/admin/directory-sync", nil); code != http.StatusForbidden {
		t.Errorf("a consumer opens the directory sync page: %d", code)
	}
	code, _, page = admin.do("POST", "/admin/directory-sync/tokens", url.Values{"name": {"Entra ID"}, "days": {"365"}})
	m := regexp.MustCompile(`id="secret" class="mono" readonly value="(stw_[^"]+)"`).FindStringSubmatch(page)
	if code != http.StatusCreated || m == nil {
		t.Fatalf("create SCIM token: %d, secret shown: %v", code, m != nil)
	}
	scim := func() int {
		req, _ := http.NewRequest("GET", p.srv.URL+"/scim/v2/Users?count=1", nil)
		req.Header.Set("Authorization", "Bearer "+m[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := scim(); got != http.StatusOK {
		t.Fatalf("the identity provider's first call = %d", got)
	}
	_, _, page = admin.do("GET", "/admin/directory-sync", nil)
	id := regexp.MustCompile(`action="/admin/directory-sync/tokens/([^/]+)/revoke"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("the token is not listed with a revoke button")
	}
	if code, _, _ := admin.do("POST", "/admin/directory-sync/tokens/"+id[1]+"/revoke", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	if got := scim(); got != http.StatusUnauthorized {
		t.Errorf("with the revoked token the identity provider gets %d, want 401", got)
	}
}
