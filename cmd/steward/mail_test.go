package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/notify/smtptest"
)

// steward mail test sends through a real SMTP server with STARTTLS and
// AUTH, trusting the server's certificate from --smtp-ca-file; bad
// settings are named.
func TestMailTest(t *testing.T) {
	srv := smtptest.Start(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STEWARD_SMTP_PASSWORD": smtptest.Password}
	getenv := func(k string) string { return env[k] }
	out, err := cli(t, getenv, "", "mail", "test", "ops@example.com", "--smtp-addr", srv.Addr, "--smtp-username", smtptest.Username,
		"--smtp-from", "IT Services <it@example.com>", "--smtp-ca-file", ca, "--public-url", "https://steward.example.com")
	if err != nil || !strings.Contains(out, "sent a test mail to ops@example.com") {
		t.Fatalf("mail test: %v\n%s", err, out)
	}
	m := srv.WaitFor(t, "the test mail", func(m []smtptest.Message) bool { return len(m) == 1 })[0]
	if m.To != "ops@example.com" || !m.TLS || m.Subject != "Steward can send you mail" || !strings.Contains(m.Text, "https://steward.example.com/notifications") {
		t.Fatalf("test mail: to %s, TLS %v, %q\n%s", m.To, m.TLS, m.Subject, m.Text)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-addr", "no-port", "--smtp-from", "it@example.com"}, "is not host:port"},
		{[]string{"--smtp-addr", srv.Addr, "--smtp-from", "not an address"}, "is not a mail address"},
		{[]string{"--smtp-addr", srv.Addr, "--smtp-from", "it@example.com", "--smtp-tls", "maybe"}, "is not starttls, tls or none"},
		{[]string{"--smtp-addr", srv.Addr, "--smtp-from", "it@example.com"}, "certificate"},                                              // the system does not trust the test's CA
		{[]string{"--smtp-addr", srv.Addr, "--smtp-from", "it@example.com", "--smtp-ca-file", ca, "--smtp-tls", "none"}, "authenticate"}, // no TLS, no AUTH: the server refuses
	} {
		out, err := cli(t, getenv, "", append([]string{"mail", "test", "ops@example.com"}, c.args...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("mail test %v: %v, want an error saying %q:\n%s", c.args, err, c.want, out)
		}
	}
}
