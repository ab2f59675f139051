package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/notify/smtptest"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// startMailingApp is the demo served with its background workers (the
// outbox dispatcher, the mailer and the webhook deliverer) running,
// mailing through a real SMTP server the test reads; configure, if given,
// changes the app's configuration first.
func startMailingApp(t *testing.T, configure ...func(*app.Config)) (string, *app.App, *smtptest.Server) {
	mail := smtptest.Start(t)
	ctx := context.Background()
	cfg := app.Config{Database: sqldbtest.Config(t),
		Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}},
		Mail:     notify.SMTP{Addr: mail.Addr, Username: smtptest.Username, Password: smtptest.Password, From: "Contoso IT <it@contoso.example>", RootCAs: mail.RootCAs}}
	for _, c := range configure {
		c(&cfg)
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	a.Notify.PublicURL = base
	workers, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	t.Cleanup(func() { stop(); running.Wait() })
	for _, run := range []func(context.Context){
		func(c context.Context) { a.Outbox.Run(c, 100*time.Millisecond) },
		func(c context.Context) { a.Notify.RunMailer(c, 100*time.Millisecond) },
		a.Webhooks.Run,
	} {
		running.Add(1)
		go func() { defer running.Done(); run(workers) }()
	}
	return base, a, mail
}

var mailLink = regexp.MustCompile(`https?://\S+/mail/approvals/\S+`)

// Done-when of issue 19 (the mail part): a consumer orders, the sponsor
// gets the mail and approves from its link in a browser, after a
// confirmation page; the agents' group hears of the task and the requester
// sees the approval in her inbox, with the unread count in the header.
func TestBrowserApproveFromMail(t *testing.T) {
	base, a, mail := startMailingApp(t)
	ctx := context.Background()
	u, err := a.Identity.UserByEmail(ctx, access.System(), "dana@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	dana, err := a.Identity.Principal(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.Orders.CreateOrder(ctx, dana, orders.OrderInput{Items: []orders.ItemInput{{Offering: "vm", Plan: "silver", Quantity: 5,
		Parameters: map[string]any{"hostname": "shop-web"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = a.Orders.Submit(ctx, dana, o.ID); err != nil || o.State != orders.StateAwaitingApproval {
		t.Fatalf("submit: %v (%v)", err, o)
	}
	// The demo's own history is mailed too; this order's mails are those
	// that name it.
	ours := func(m smtptest.Message) bool { return strings.Contains(m.Subject, o.Reference()) }
	msgs := mail.WaitFor(t, "the sponsor's mail", func(m []smtptest.Message) bool {
		for _, x := range m {
			if x.To == "arun@contoso.example" && ours(x) {
				return true
			}
		}
		return false
	})
	var link string
	for _, m := range msgs {
		if m.To == "arun@contoso.example" && ours(m) {
			link = mailLink.FindString(m.Text)
		}
		if m.To == "dana@contoso.example" && ours(m) {
			t.Errorf("the requester was mailed about her own submission: %q", m.Subject)
		}
	}
	if !strings.HasPrefix(link, base+"/mail/approvals/") {
		t.Fatalf("no approval link to %s in the sponsor's mail", base)
	}

	b := newBrowser(t, base)
	for _, w := range widths {
		b.run(chromedp.EmulateViewport(w.w, w.h), chromedp.Navigate(link), waitText("h1", o.Reference()))
		b.screenshot("mail-approval-" + w.name)
	}
	if got := b.text("main"); !strings.Contains(got, "Virtual machine") || !strings.Contains(got, "600.00") {
		t.Fatalf("the confirmation page says:\n%s", got)
	}
	// Opening the link decided nothing.
	if got, _ := a.Orders.Order(ctx, dana, o.ID); got.State != orders.StateAwaitingApproval {
		t.Fatalf("opening the mail's link moved the order to %s", got.State)
	}
	b.run(chromedp.SendKeys("#comment", "fine for the shop launch", chromedp.ByQuery), press(`button[value="approve"]`), waitText("main", "Approved"))
	if got, _ := a.Orders.Order(ctx, dana, o.ID); got.State != orders.StateFulfilling {
		t.Fatalf("after approving from the mail the order is %s", got.State)
	}
	// The link worked once.
	b.run(chromedp.Navigate(link), waitText("main", "used already"))

	mail.WaitFor(t, "the requester's and the agents' mails", func(m []smtptest.Message) bool {
		var requester, agent bool
		for _, x := range m {
			requester = requester || x.To == "dana@contoso.example" && x.Subject == "Order "+o.Reference()+" is approved"
			agent = agent || x.To == "alex@it.contoso.example" && strings.HasPrefix(x.Subject, "New task:") && ours(x)
		}
		return requester && agent
	})

	// Dana sees it in the portal: the count in the header, the inbox, and
	// the notification opens the order and is read.
	for _, w := range widths {
		b.run(chromedp.EmulateViewport(w.w, w.h))
		b.login("dana@contoso.example", demo.Password)
		b.run(chromedp.Navigate(base+"/notifications"), waitText("h1", "Notifications"))
		b.screenshot("notifications-" + w.name)
		b.run(chromedp.Navigate(base+"/account"), waitText("#notifications", "Mail me about"))
		b.screenshot("account-notifications-" + w.name)
	}
	b.run(chromedp.Navigate(base+"/notifications"), waitText("h1", "Notifications"))
	unread, err := a.Notify.Unread(ctx, dana)
	if err != nil || unread < 1 {
		t.Fatalf("dana has %d unread (%v)", unread, err)
	}
	if got := b.text(".bell .count"); got != strconv.Itoa(unread) {
		t.Fatalf("the header counts %q unread, want %d", got, unread)
	}
	if got := b.text(".inbox li.unread"); !strings.Contains(got, "Order "+o.Reference()+" is approved") {
		t.Fatalf("the newest notification is %q", got)
	}
	b.run(chromedp.Navigate(base+"/notifications"), press(`.note-open button`), waitText("h1", o.Reference()))
	if got := b.text(".bell .count"); got != strconv.Itoa(unread-1) {
		t.Fatalf("after opening one the header counts %q unread, want %d", got, unread-1)
	}
	// Her preferences: a digest, and no mail about instances.
	b.run(chromedp.Navigate(base+"/account"), waitText("#notifications", "Mail me about"))
	b.run(press(`input[value="digest"]`))
	b.run(press(`input[name="mail.instance.ready"]`))
	b.run(press(`#notifications button[type="submit"]`))
	b.run(waitText(".flash", "preferences are saved"))
	pr, err := a.Notify.Preferences(ctx, dana)
	if err != nil || pr.Email != notify.EmailDigest || strings.Join(pr.Muted, ",") != "instance.ready" {
		t.Fatalf("saved preferences: %+v, %v", pr, err)
	}
}
