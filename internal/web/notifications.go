package web

import (
	"net/http"
	"slices"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/notify"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/outbox"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The notification centre in the portal: the inbox (its unread count is
// in the header), preferences on the account page, the mail log, and the
// pages the links in mails open, which act only after a confirmation.

func (p *Portal) notificationRoutes() []route {
	return []route{
		{"GET /notifications", false, show(p, "notifications", p.notificationsView)},
		{"POST /notifications/read", false, p.readNotifications},
		{"POST /notifications/{id}/read", false, p.readNotification},
		{"POST /account/notifications", false, p.saveNotificationPreferences},
		{"GET /admin/mails", false, show(p, "mails", p.mailsView)},
		// Links in mails: no session; the signed link says who acts.
		{"GET /mail/approvals/{token}", true, p.mailApprovalPage},
		{"POST /mail/approvals/{token}", true, p.mailApprovalDecide},
		{"GET /mail/unsubscribe/{token}", true, p.unsubscribePage},
		{"POST /mail/unsubscribe/{token}", true, p.unsubscribe},
	}
}

// unread is the header's count of the reader's unread notifications.
func (p *Portal) unread(r *http.Request, pr *access.Principal) int {
	if p.Notify == nil || pr == nil {
		return 0
	}
	n, err := p.Notify.Unread(r.Context(), pr)
	if err != nil {
		p.Log.Warn("unread notifications", "err", err)
	}
	return n
}

type notificationsPage struct {
	Page
	Items      []*notify.Notification
	UnreadOnly bool
	More       string
}

func (p *Portal) notificationsView(r *http.Request) (notificationsPage, error) {
	unread := r.URL.Query().Get("unread") == "true"
	l, err := p.Notify.List(r.Context(), middleware.Principal(r.Context()), notify.Filter{Unread: unread, Page: sqldb.Page{Cursor: r.URL.Query().Get("cursor")}})
	return notificationsPage{Page: p.pageFor(r, "Notifications"), Items: l.Items, UnreadOnly: unread, More: moreLink(r, l.Next)}, err
}

func (p *Portal) readNotifications(w http.ResponseWriter, r *http.Request) error {
	n, err := p.Notify.MarkAllRead(r.Context(), middleware.Principal(r.Context()))
	if err != nil {
		return err
	}
	flash := "Nothing was unread."
	if n > 0 {
		flash = "Marked all read."
	}
	return p.redirect(w, r, "/notifications", flash)
}

// readNotification marks one read and opens what it is about ("open"),
// or stays on the inbox.
func (p *Portal) readNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := p.Notify.MarkRead(r.Context(), middleware.Principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.PostForm.Get("open") != "" && safeLocal(n.Link) {
		return p.redirect(w, r, n.Link, "")
	}
	return p.redirect(w, r, "/notifications", "")
}

// safeLocal reports whether a link is a path of this site (never another
// site: no open redirect through a notification).
func safeLocal(link string) bool {
	return len(link) > 1 && link[0] == '/' && link[1] != '/' && link[1] != '\\'
}

// eventKind is an event type as the preferences form offers it.
type eventKind struct {
	Name, Description string
	Muted             bool
}

func (p *Portal) notificationPrefs(r *http.Request) (*notify.Preferences, []eventKind, error) {
	pr, err := p.Notify.Preferences(r.Context(), middleware.Principal(r.Context()))
	if err != nil {
		return nil, nil, err
	}
	var kinds []eventKind
	for _, t := range outbox.Types() {
		kinds = append(kinds, eventKind{t.Name, t.Description, slices.Contains(pr.Muted, t.Name)})
	}
	return pr, kinds, nil
}

func (p *Portal) saveNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	in := notify.Preferences{Email: f.Get("email")}
	for _, t := range outbox.Types() {
		if f.Get("mail."+t.Name) == "" {
			in.Muted = append(in.Muted, t.Name)
		}
	}
	_, err := p.Notify.SetPreferences(r.Context(), middleware.Principal(r.Context()), in)
	if err == nil {
		return p.redirect(w, r, "/account#notifications", "Your notification preferences are saved.")
	}
	return reshow(p, w, r, "account", err, p.accountView)
}

type mailsPage struct {
	Page
	Mails  []*notify.Mail
	Status string
	Mailer bool // mail is configured
	More   string
}

func (p *Portal) mailsView(r *http.Request) (mailsPage, error) {
	q := r.URL.Query()
	l, err := p.Notify.Mails(r.Context(), middleware.Principal(r.Context()), notify.MailFilter{Status: q.Get("status"), Page: sqldb.Page{Cursor: q.Get("cursor")}})
	return mailsPage{Page: p.pageFor(r, "Mail log"), Mails: l.Items, Status: q.Get("status"), Mailer: p.Notify.Mail.Configured(), More: moreLink(r, l.Next)}, err
}

type mailApprovalPage struct {
	Page
	Token     string
	Item      *orders.InboxItem
	Decidable bool
	Done      string // what was decided, after the POST
}

// mailApproval reads what a mail's approval link is about, as the
// approver it was sent to.
func (p *Portal) mailApproval(r *http.Request) (mailApprovalPage, *access.Principal, error) {
	pg := mailApprovalPage{Page: p.pageFor(r, "Decide an approval"), Token: r.PathValue("token")}
	l, err := p.Notify.OpenLink(r.Context(), pg.Token, notify.ActionApprove)
	if err != nil {
		return pg, nil, err
	}
	who, err := p.Identity.Principal(r.Context(), l.User)
	if err != nil {
		return pg, nil, err
	}
	pg.Item, pg.Decidable, err = p.Orders.Approval(r.Context(), who, l.Object)
	return pg, who, err
}

// mailApprovalPage shows the approval a mail links to and asks to confirm
// the decision: opening a link (a mail scanner does) decides nothing.
func (p *Portal) mailApprovalPage(w http.ResponseWriter, r *http.Request) error {
	pg, _, err := p.mailApproval(r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "mail_approval", pg)
}

func (p *Portal) mailApprovalDecide(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("the form could not be read")
	}
	f := r.PostForm
	d := orders.Decision{Approve: f.Get("decision") == "approve", Comment: f.Get("comment")}
	if f.Get("decision") != "approve" && f.Get("decision") != "reject" {
		return errs.Invalid("choose approve or reject")
	}
	err := p.Notify.UseLink(r.Context(), r.PathValue("token"), notify.ActionApprove, func(l *notify.Link) error {
		who, err := p.Identity.Principal(r.Context(), l.User)
		if err != nil {
			return err
		}
		_, err = p.Orders.Decide(r.Context(), who, l.Object, d)
		return err
	})
	if err != nil {
		if !errs.Is(err, errs.CodeInvalid) {
			return err
		}
		pg, _, verr := p.mailApproval(r) // the approval again, with what is wrong
		if verr != nil {
			return verr
		}
		if ferr := formError(&pg.Page, err); ferr != nil {
			return ferr
		}
		return p.render(w, r, statusOf(pg.Page), "mail_approval", pg)
	}
	pg := mailApprovalPage{Page: p.pageFor(r, "Decided"), Done: "Rejected. The requester is told why."}
	if d.Approve {
		pg.Done = "Approved. The order goes on."
	}
	return p.render(w, r, http.StatusOK, "mail_approval", pg)
}

type unsubscribePage struct {
	Page
	Token string
	Done  bool
}

func (p *Portal) unsubscribePage(w http.ResponseWriter, r *http.Request) error {
	pg := unsubscribePage{Page: p.pageFor(r, "Stop mails"), Token: r.PathValue("token")}
	if _, err := p.Notify.OpenLink(r.Context(), pg.Token, notify.ActionUnsubscribe); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "mail_unsubscribe", pg)
}

// unsubscribe stops the link's user's mail: from the page's button, or a
// mail client's one-click POST (RFC 8058).
func (p *Portal) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	if _, err := p.Notify.Unsubscribe(r.Context(), r.PathValue("token")); err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "mail_unsubscribe", unsubscribePage{Page: p.pageFor(r, "Mails stopped"), Done: true})
}
