package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// benchNotify is issue 19's burst: a billing run whose invoices, finalised,
// each tell the org unit's financial manager by mail. It finalises half the
// invoices with the outbox dispatcher and the mailer stopped and half with
// them running (delivering the first half's mails meanwhile), and prints
// both rates, then how long the whole burst took to reach the SMTP server
// (a real one, go-smtp, on loopback) and how many mails came twice.
func benchNotify(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "A burst of notifications from a billing run, mailed to an SMTP server on loopback: delivery time, duplicates, and the billing work's rate with and without delivery running.")
	database := fs.String("database", "", "a postgres:// URL of an empty database (default: embedded SQLite in a temporary directory)")
	accounts := fs.Int("accounts", 10000, "billing accounts (one org unit and one financial manager each): one invoice and one mail each")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the delivery phase to this file")
	unrecorded := fs.Int("unrecorded", notify.DefaultUnrecorded, "mails a connection may have accepted and not yet recorded (--smtp-unrecorded)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *accounts < 2 {
		return fmt.Errorf("--accounts must be at least 2")
	}
	if *unrecorded < 1 || *unrecorded > notify.MaxUnrecorded {
		return fmt.Errorf("--unrecorded must be from 1 to %d", notify.MaxUnrecorded)
	}
	a, store, done, err := benchApp(ctx, e, *database)
	if err != nil {
		return err
	}
	defer done()
	srv, err := startBenchSMTP()
	if err != nil {
		return err
	}
	defer srv.Close()
	a.Notify.Mail = notify.SMTP{Addr: srv.addr, From: "Steward <steward@bench.example>", TLS: notify.TLSNone, Unrecorded: *unrecorded}
	a.Notify.PublicURL = "https://steward.bench.example"

	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	start := time.Now()
	if err := billingFixture(ctx, a, *accounts, 1, month); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	if err := financeManagers(ctx, a.DB, month); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	sys := access.System()
	run, err := a.Billing.StartRun(ctx, sys, month.Format("2006-01"))
	if err != nil {
		return err
	}
	if err := a.Billing.Execute(ctx, run.ID); err != nil {
		return err
	}
	docs, err := sqldb.QueryAll(ctx, a.DB.Read(), "documents", func(r sqldb.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM billing_documents WHERE run_id = $1 AND state = 'draft' ORDER BY id`, run.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "fixture: %d accounts, %d draft invoices in %s\n", *accounts, len(docs), time.Since(start).Round(time.Millisecond))
	finalise := func(ids []string) (float64, error) {
		t := time.Now()
		for _, id := range ids {
			if _, err := a.Billing.Finalise(ctx, sys, id); err != nil {
				return 0, err
			}
		}
		return float64(len(ids)) / time.Since(t).Seconds(), nil
	}
	half := len(docs) / 2
	idle, err := finalise(docs[:half])
	if err != nil {
		return err
	}
	workers, stop := context.WithCancel(ctx)
	defer stop()
	burst := time.Now()
	if *profile != "" {
		stopProfile, err := cpuProfile(*profile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.Outbox.Run(workers, 100*time.Millisecond) })
	wg.Go(func() { a.Notify.RunMailer(workers, 100*time.Millisecond) })
	firstHalf := make(chan time.Duration, 1)
	go func() { // when the mails queued before delivery started have arrived
		for srv.count() < half && workers.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		firstHalf <- time.Since(burst)
	}()
	busy, err := finalise(docs[half:])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "finalised the second half in %s, while %d mails arrived\n", time.Since(burst).Round(time.Millisecond), srv.count())
	deadline := time.Now().Add(10 * time.Minute)
	for srv.count() < len(docs) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	delivered := time.Since(burst)
	first := <-firstHalf
	stop()
	wg.Wait()
	got, dups := srv.count(), srv.duplicates()
	fmt.Fprintf(e.stdout, "finalise invoices_per_sec idle=%.0f while_delivering=%.0f slower_by=%.1f%% store=%s\n", idle, busy, 100*(idle/busy-1), store)
	fmt.Fprintf(e.stdout, "notify mails=%d of %d seconds=%.2f (the first %d queued before delivery started: %.2f) duplicates=%d unrecorded=%d\n", got, len(docs), delivered.Seconds(), half, first.Seconds(), dups, *unrecorded)
	if got < len(docs) {
		return fmt.Errorf("only %d of %d mails arrived in 10 minutes", got, len(docs))
	}
	return nil
}

// financeManagers gives each bench org unit a financial manager.
func financeManagers(ctx context.Context, db *sqldb.DB, at time.Time) error {
	units, err := sqldb.QueryAll(ctx, db.Read(), "org units", func(r sqldb.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM org_units WHERE parent_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return err
	}
	users := make([]string, len(units))
	for i := range users {
		users[i] = sqldb.NewID()
	}
	return db.Tx(ctx, func(tx *sqldb.Tx) error {
		err := sqldb.Bulk{Object: "users", Head: `INSERT INTO users (id, email, name, org_unit_id, created_at, updated_at)`, Cols: 6, Rows: len(units),
			Args: func(i int, args []any) []any {
				return append(args, users[i], fmt.Sprintf("fm%d@bench.example", i), fmt.Sprintf("Finance %d", i), units[i], at, at)
			}}.Insert(ctx, tx)
		if err != nil {
			return err
		}
		return sqldb.Bulk{Object: "grants", Head: `INSERT INTO grants (id, user_id, role, scope_kind, scope_id, created_at)`, Cols: 6, Rows: len(units),
			Args: func(i int, args []any) []any {
				return append(args, sqldb.NewID(), users[i], access.RoleFinancialManager, access.ScopeOrgUnit, units[i], at)
			}}.Insert(ctx, tx)
	})
}

// benchSMTP is an SMTP server that counts what it accepts by Message-ID.
type benchSMTP struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	seen map[string]int
}

func startBenchSMTP() (*benchSMTP, error) {
	b := &benchSMTP{seen: map[string]int{}}
	b.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &benchSession{b: b}, nil }))
	b.srv.Domain, b.srv.ReadTimeout, b.srv.WriteTimeout = "localhost", time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.addr = ln.Addr().String()
	go b.srv.Serve(ln)
	return b, nil
}

func (b *benchSMTP) Close() { b.srv.Close() }

func (b *benchSMTP) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.seen)
}

func (b *benchSMTP) duplicates() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.seen {
		n += c - 1
	}
	return n
}

type benchSession struct{ b *benchSMTP }

func (s *benchSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *benchSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *benchSession) Reset()                               {}
func (s *benchSession) Logout() error                        { return nil }

func (s *benchSession) Data(r io.Reader) error {
	h, err := textproto.NewReader(bufio.NewReader(r)).ReadMIMEHeader()
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.seen[h.Get("Message-Id")]++
	s.b.mu.Unlock()
	return nil
}
