package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/notify/smtptest"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestKillNineMail is issue 19's crash drill for mail: a steward process
// that is mailing a burst of notifications (to a real SMTP server) is
// killed with SIGKILL; restarted, it mails every notification, and a mail
// arrives twice only if the server had accepted it in the instant before
// the kill, before Steward recorded it, with the same Message-ID. A
// connection's sender waits for the record once maxUnrecorded mails
// (internal/notify: 16, the mail on the wire included) are accepted and
// not recorded, and the process mails over one connection at a time: at
// most 16 come twice. With --smtp-unrecorded 1 each mail is recorded
// before the next is sent: at most one comes twice, the least SMTP allows.
func TestKillNineMail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes a steward process")
	}
	for _, unrecorded := range []int{16, 1} {
		t.Run(fmt.Sprint("unrecorded=", unrecorded), func(t *testing.T) { killNineMail(t, unrecorded) })
	}
}

func killNineMail(t *testing.T, maxUnrecorded int) {
	dir := t.TempDir()
	cfg := drillDatabase(t)
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{Database: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Users to tell, and a burst of events telling them, waiting in the
	// outbox for the server to dispatch and mail.
	const users, perUser = 40, 25
	var ids []string
	for i := range users {
		u, err := a.Identity.CreateUser(ctx, access.System(), identity.CreateUserInput{Email: fmt.Sprintf("u%d@crash.example", i), Name: fmt.Sprintf("U%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	err = a.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		var events []outbox.Event
		for i := range users * perUser {
			events = append(events, outbox.Event{Type: "invoice.finalised", Subject: fmt.Sprintf("invoices/%d", i), Data: map[string]int{"i": i},
				Notice: &outbox.Notice{Title: fmt.Sprintf("Invoice %d", i), Link: "/billing", Users: []string{ids[i%users]}}})
		}
		return outbox.EmitAll(ctx, tx, access.System(), time.Now(), events)
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}

	mail := smtptest.Start(t)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, mail.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd, _ := drillServe(t, cfg, []string{"--smtp-addr", mail.Addr, "--smtp-username", smtptest.Username,
			"--smtp-from", "Steward <steward@crash.example>", "--smtp-ca-file", ca, "--smtp-lease", "3s", "--smtp-timeout", "1s",
			"--smtp-unrecorded", fmt.Sprint(maxUnrecorded)}, "STEWARD_SMTP_PASSWORD="+smtptest.Password)
		return cmd
	}
	cmd := start()
	mail.WaitFor(t, "some of the burst", func(m []smtptest.Message) bool { return len(m) >= 150 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before := len(mail.Messages())
	t.Logf("killed after %d of %d mails", before, users*perUser)

	cmd = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	distinct := func(m []smtptest.Message) map[string]int {
		seen := map[string]int{}
		for _, x := range m {
			seen[x.Header.Get("Message-ID")]++
		}
		return seen
	}
	msgs := mail.WaitFor(t, "every mail of the burst", func(m []smtptest.Message) bool { return len(distinct(m)) >= users*perUser })
	seen := distinct(msgs)
	dups := 0
	for id, n := range seen {
		if id == "" {
			t.Fatal("a mail without a Message-ID")
		}
		dups += n - 1
	}
	if len(seen) != users*perUser || dups > maxUnrecorded {
		t.Fatalf("%d distinct mails of %d, %d sent twice (at most the %d a connection may have unrecorded may be)", len(seen), users*perUser, dups, maxUnrecorded)
	}
	t.Logf("after the restart: %d mails, %d distinct, %d sent twice", len(msgs), len(seen), dups)
}
