package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The webhook pages: an administrator subscribes a receiver (a private
// address is refused naming the field), sees the secret once, sends a test
// event, finds it in the delivery log with a Redeliver button and uses it;
// a consumer is refused the pages.
func TestWebhookPages(t *testing.T) {
	t.Parallel()
	p := newDemoPortal(t)
	admin := p.as("admin@it.contoso.example")
	if status, _, body := admin.do("GET", "/admin/webhooks", nil); status != http.StatusOK || !strings.Contains(body, "Subscribe a receiver") {
		t.Fatalf("GET /admin/webhooks = %d\n%s", status, errorText(body))
	}
	status, _, body := admin.do("POST", "/admin/webhooks", url.Values{"url": {"http://192.168.0.10/hook"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "public address") {
		t.Errorf("a private address = %d\n%s", status, errorText(body))
	}
	status, _, body = admin.do("POST", "/admin/webhooks", url.Values{"url": {"https://hooks.example.com/steward"},
		"event_types": {"order.approved", "order.rejected"}, "description": {"the order bus"}})
	m := regexp.MustCompile(`<code>(whsec_[^<]+)</code>.*href="/admin/webhooks/([^"]+)"`).FindStringSubmatch(body)
	if status != http.StatusCreated || m == nil {
		t.Fatalf("subscribe = %d\n%s", status, errorText(body))
	}
	sub := m[2]
	if status, _, _ := admin.do("POST", "/admin/webhooks/"+sub+"/test", url.Values{}); status != http.StatusSeeOther {
		t.Errorf("send test event = %d", status)
	}
	status, _, body = admin.do("GET", "/admin/webhooks/"+sub, nil)
	d := regexp.MustCompile(`action="/admin/webhooks/` + sub + `/deliveries/([^/]+)/redeliver"`).FindStringSubmatch(body)
	if status != http.StatusOK || !strings.Contains(body, "<code>webhook.test</code>") || d == nil || strings.Contains(body, m[1]) {
		t.Fatalf("the subscription's page = %d\n%s", status, errorText(body))
	}
	if status, _, _ := admin.do("POST", "/admin/webhooks/"+sub+"/deliveries/"+d[1]+"/redeliver", url.Values{}); status != http.StatusSeeOther {
		t.Errorf("redeliver = %d", status)
	}
	if status, _, body := admin.do("POST", "/admin/webhooks/"+sub+"/rotate", url.Values{}); status != http.StatusOK || !strings.Contains(body, "New signing secret") {
		t.Errorf("rotate = %d\n%s", status, errorText(body))
	}
	consumer := p.as("dana@contoso.example")
	if status, _, _ := consumer.do("GET", "/admin/webhooks", nil); status != http.StatusForbidden {
		t.Errorf("a consumer's GET /admin/webhooks = %d, want 403", status)
	}
	if status, _, _ := consumer.do("GET", "/admin/webhooks/"+sub, nil); status != http.StatusNotFound {
		t.Errorf("a consumer's GET of the subscription = %d, want 404", status)
	}
}
