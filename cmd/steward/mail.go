package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// mailFlags say which SMTP server notifications are mailed through.
type mailFlags struct {
	addr, username, password, from, tlsMode, caFile, rate, unrecorded *string
	lease, timeout                                                    *time.Duration
}

func addMailFlags(fs *flagSet) mailFlags {
	return mailFlags{
		addr:       fs.string("smtp-addr", "", "host:port of the SMTP server notifications are mailed through (none: the portal's inbox only)"),
		username:   fs.string("smtp-username", "", "SMTP user name (AUTH PLAIN, only over TLS)"),
		password:   fs.string("smtp-password", "", "SMTP password; prefer the environment variable to the flag"),
		from:       fs.string("smtp-from", "", "the From address of Steward's mail, such as \"IT Services <it@example.com>\""),
		tlsMode:    fs.string("smtp-tls", notify.TLSStartTLS, "starttls (the server must offer it), tls (port 465) or none (a relay on a trusted network only)"),
		caFile:     fs.string("smtp-ca-file", "", "PEM file of the certificates that may sign the SMTP server's (default: the system's)"),
		lease:      fs.Duration("smtp-lease", 5*time.Minute, "how long mails a replica claimed wait before another may send them, should it die (at least twice --smtp-timeout)"),
		timeout:    fs.Duration("smtp-timeout", 30*time.Second, "how long connecting, or sending one mail, may take"),
		unrecorded: fs.string("smtp-unrecorded", strconv.Itoa(notify.DefaultUnrecorded), fmt.Sprintf("the most mails a connection may have had accepted and not yet recorded as sent, which a crash would send again (1 to %d; 1: at most one, for a commit per mail)", notify.MaxUnrecorded)),
		rate: fs.string("smtp-rate", strconv.Itoa(notify.DefaultMailRate),
			"the most mails a second a replica sends (0: no limit): mail yields to the work that causes it; set your relay's limit if it is lower"),
	}
}

func (m mailFlags) config() (notify.SMTP, error) {
	c := notify.SMTP{Addr: *m.addr, Username: *m.username, Password: *m.password, From: *m.from, TLS: *m.tlsMode, Lease: *m.lease, Timeout: *m.timeout}
	n, err := strconv.Atoi(*m.unrecorded)
	if err != nil || n < 1 || n > notify.MaxUnrecorded {
		return c, usagef("--smtp-unrecorded: %q is not a whole number from 1 to %d", *m.unrecorded, notify.MaxUnrecorded)
	}
	c.Unrecorded = n
	r, err := strconv.ParseFloat(*m.rate, 64)
	if err != nil || r < 0 || r > 1e6 || math.IsNaN(r) {
		return c, usagef("--smtp-rate: %q is not a number of mails a second from 0 (no limit) to 1000000", *m.rate)
	}
	if c.Rate = r; r == 0 {
		c.Rate = -1
	}
	if *m.caFile != "" {
		pem, err := os.ReadFile(*m.caFile)
		if err != nil {
			return c, usagef("--smtp-ca-file: %v", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return c, usagef("--smtp-ca-file: %s holds no PEM certificate", *m.caFile)
		}
	}
	if err := c.Validate(); err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

// mailTest sends a test mail with the SMTP flags.
func mailTest(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "Send a test mail now through the SMTP server the flags name (as serve would), to check the settings.")
	mf := addMailFlags(fs)
	publicURL := fs.string("public-url", "", "the URL people use to reach Steward (the mail links there)")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	n := notify.New(nil, nil, nil, []byte("test mail links are never followed"))
	n.Mail, n.PublicURL = cfg, *publicURL
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := n.SendTest(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sent a test mail to %s through %s\n", fs.Arg(0), cfg.Addr)
	return nil
}

// mailLog prints the mail log.
func mailLog(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "List the notification centre's mails, newest first: sent, queued for a retry (with the server's last answer), or failed.")
	db := addDBFlags(fs)
	status := fs.String("status", "", "only queued, sent or failed mails")
	limit := fs.Int("limit", 50, "at most this many mails")
	a, err := fs.open(ctx, db, args)
	if err != nil {
		return err
	}
	defer a.Close()
	pg, err := a.Notify.Mails(ctx, access.System(), notify.MailFilter{Status: *status, Page: sqldb.Page{Limit: *limit}})
	if err != nil {
		return describe(err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "QUEUED\tTO\tSTATUS\tATTEMPTS\tSUBJECT\tLAST ERROR")
	for _, m := range pg.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", m.CreatedAt.Format(time.RFC3339), m.To, m.Status, m.Attempts, m.Subject, m.LastError)
	}
	return w.Flush()
}
