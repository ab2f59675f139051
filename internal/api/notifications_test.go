package api_test

import (
	"context"
	"testing"
)

// notificationScenario dispatches the events the scenarios before it
// caused (no worker runs in these tests) and reads them as a financial
// manager and an approver of Retail would: their inbox, its unread count,
// marking read, preferences; and the mail log as an administrator.
func notificationScenario(t *testing.T, e *env, retail string) {
	c, admin := e.check, e.admin
	_, fm := e.user(t, "notified-fm@example.com", retail, map[string]any{"role": "financial_manager", "scope_kind": "org_unit", "scope_id": retail},
		map[string]any{"role": "relationship_manager", "scope_kind": "org_unit", "scope_id": retail})
	for {
		n, err := e.app.Outbox.Once(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var page struct {
		Items []struct {
			ID, Kind, Title, Link string
		}
		Next string
	}
	c.do("GET", "/api/v1/notifications?limit=1", fm, nil, 200).decode(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("a relationship manager of Retail was not told of the breach after the scenarios: %+v", page)
	}
	var count struct{ Unread int }
	c.do("GET", "/api/v1/notifications/unread", fm, nil, 200).decode(t, &count)
	if count.Unread < 1 {
		t.Errorf("unread = %d", count.Unread)
	}
	c.do("POST", "/api/v1/notifications/"+page.Items[0].ID+"/read", fm, nil, 200)
	c.do("POST", "/api/v1/notifications/"+page.Items[0].ID+"/read", admin, nil, 404) // not the admin's
	c.do("GET", "/api/v1/notifications?unread=true", fm, nil, 200)
	c.bad("GET", "/api/v1/notifications?unread=maybe", fm, nil, 422)
	var marked struct{ Marked int }
	c.do("POST", "/api/v1/notifications/read", fm, nil, 200).decode(t, &marked)
	if marked.Marked != count.Unread-1 {
		t.Errorf("marked %d of %d unread", marked.Marked, count.Unread-1)
	}
	c.do("GET", "/api/v1/notification-preferences", fm, nil, 200)
	c.do("PUT", "/api/v1/notification-preferences", fm, map[string]any{"email": "digest", "muted": []string{"payment.recorded"}}, 200)
	if f := c.bad("PUT", "/api/v1/notification-preferences", fm, map[string]any{"email": "hourly", "muted": []string{"no.such.event"}}, 422).problemFields(); len(f) != 2 {
		t.Errorf("bad preferences: fields %v, want email and muted", f)
	}
	c.do("GET", "/api/v1/mails?status=failed", admin, nil, 200)
	c.do("GET", "/api/v1/mails", fm, nil, 403)
}
