package main

import (
	"regexp"
	"strings"
	"testing"
)

// The webhook commands: subscribe (a private address is refused), list,
// queue a test event, read the log, redeliver, rotate the secret, delete.
func TestWebhookCommands(t *testing.T) {
	getenv := migrated(t, nil)
	if out, err := cli(t, getenv, "", "webhook", "create", "--url", "http://127.0.0.1:9/hook"); err == nil || !strings.Contains(out, "url") {
		t.Errorf("a loopback URL: %v %s", err, out)
	}
	out, err := cli(t, getenv, "", "webhook", "create", "--url", "https://hooks.example.com/steward", "--types", "order.approved, order.rejected")
	m := regexp.MustCompile(`subscribed (\S+)\nsecret: (whsec_\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("webhook create: %v %s", err, out)
	}
	sub := m[1]
	if out, _ := cli(t, getenv, "", "webhook", "list"); !strings.Contains(out, "https://hooks.example.com/steward  order.approved,order.rejected") {
		t.Errorf("webhook list:\n%s", out)
	}
	if out, _ := cli(t, getenv, "", "webhook", "types"); !strings.Contains(out, "order.approved") {
		t.Errorf("webhook types:\n%s", out)
	}
	out, err = cli(t, getenv, "", "webhook", "test", sub)
	d := regexp.MustCompile(`queued test delivery (\S+)`).FindStringSubmatch(out)
	if err != nil || d == nil {
		t.Fatalf("webhook test: %v %s", err, out)
	}
	if out, _ := cli(t, getenv, "", "webhook", "deliveries", sub); !strings.Contains(out, d[1]+"  webhook.test") || !strings.Contains(out, "pending") {
		t.Errorf("webhook deliveries:\n%s", out)
	}
	if out, err := cli(t, getenv, "", "webhook", "redeliver", sub, d[1]); err != nil || out != "queued "+d[1]+" again\n" {
		t.Errorf("webhook redeliver: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "", "webhook", "rotate-secret", sub); err != nil || !strings.HasPrefix(out, "secret: whsec_") || strings.Contains(out, m[2]) {
		t.Errorf("webhook rotate-secret: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "", "webhook", "delete", sub); err != nil || out != "deleted "+sub+"\n" {
		t.Errorf("webhook delete: %v %s", err, out)
	}
}
