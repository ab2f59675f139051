package demo

import (
	"context"
	"fmt"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/knowledge"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The knowledge base of the demo (issue 20): articles the service desk
// wrote for the questions people ask most, across the demo's services,
// each linked to a few of the history's tickets it answers. One is still
// a draft, so that writers see the states.

// demoArticle is an article of the demo; link is a word of the summaries
// of the tickets it answers.
type demoArticle struct {
	service, title, body, link string
	draft                      bool
}

var demoArticles = []demoArticle{
	{service: "desktop", title: "Connect to the 3rd floor printer", link: "print", body: `The 3rd floor printer is **PRN-3F** (colour, A4 and A3).

1. Open **Settings → Bluetooth & devices → Printers & scanners**.
2. Choose **Add device**; PRN-3F appears within a minute on the office network (not on the guest Wi-Fi).
3. If it does not appear, choose *Add manually* and enter ` + "`\\\\print01\\PRN-3F`" + `.

Jobs that stay in the queue: open the queue, cancel them, and print again. If they still stay, raise an incident about *Desktop computing*.`},
	{service: "desktop", title: "Your laptop is slow after an update", link: "slow", body: `After a Windows update the laptop indexes and optimises for up to an hour.

- Leave it on mains power and signed in for an hour.
- Restart it once the update says it is done (**Start → Power → Restart**, not *Shut down*).
- Still slow the next day? Raise an incident with the time it started.`},
	{service: "network", title: "Reset your VPN token", link: "vpn", body: `When GlobalProtect says your token is invalid or expired:

1. Go to the self-service portal at https://mfa.contoso.example and sign in.
2. Choose **Tokens → Reset** and scan the new code with the Authenticator app.
3. Reconnect GlobalProtect with the new code.

Lost the phone with the app? Call the Service Desk: they verify who you are and issue a temporary code.`},
	{service: "network", title: "Wi-Fi in the office: Contoso-Corp or Contoso-Guest", link: "wifi", body: `Company laptops join **Contoso-Corp** by themselves (certificate, no password).
Phones and visitors use **Contoso-Guest**: the password is on the screens at reception and changes every Monday.

A company laptop that only sees *Contoso-Guest* has lost its certificate: connect by cable once, sign in, and restart.`},
	{service: "email", title: "Share your calendar or a mailbox", link: "calendar", body: `In Outlook, right-click your calendar → **Sharing permissions** → *Add*, choose the person and what they may see.

For a shared mailbox (for example *sales@*), ask for it with a request about *Email and calendar*: its owner approves who gets it.`},
	{service: "email", title: "Your mailbox is full", link: "mailbox", body: `A mailbox holds 50 GB. When it is full you can receive but not send.

- Empty **Deleted Items** and **Junk**.
- Search for ` + "`size:>10MB`" + ` and remove or archive large attachments.
- Turn on the online archive: **File → Tools → Mailbox cleanup**.`},
	{service: "file-shares", title: "Get access to a department share", link: "share", body: `Each department share has an owner who decides who gets access.
Raise a request about *Departmental file shares* naming the share (for example ` + "`\\\\files01\\finance`" + `); it goes to the owner for approval and access follows within the hour.`},
	{service: "directory", title: "Change or reset your password", link: "password", body: `Change it at https://passwords.contoso.example before it expires (every 90 days).

Forgot it? Choose **Forgot password** on the sign-in page and confirm with the Authenticator app. Your laptop picks up the new password the next time it is on the office network or VPN.`},
	{service: "private-cloud", title: "Resize a virtual machine", link: "vm", body: `Order a plan change from **My services → your VM → Change plan**: Bronze, Silver and Gold differ in support hours and replication, not only size.
A resize restarts the VM in the next maintenance window unless you choose *now*.`},
	{service: "object-storage", title: "Uploads to a bucket fail with 503", link: "upload", body: `Single uploads larger than 5 GB are refused by the gateway: use **multipart** uploads (the AWS CLI and SDKs do so by default above 8 MB).
A 503 for small uploads means the gateway is busy: retry with exponential back-off. If it lasts more than 10 minutes, raise an incident about *Object storage*.`},
	{service: "crm-saas", title: "CRM shows an old price list", link: "crm", body: `Price lists reach the CRM every night at 02:00. After a change, sign out of the CRM and in again the next morning.
Need it sooner? Ask the CRM team with a request about *CRM (SaaS)*.`},
	{service: "mobile-devices", title: "Set up company e-mail on your phone", link: "phone", draft: true, body: `Install **Intune Company Portal**, sign in with your work account, and follow the steps; Outlook for iOS or Android then finds your mailbox by itself.`},
}

// linksPerArticle is how many of the history's tickets each article is
// linked to, at most.
const linksPerArticle = 3

// SeedKnowledge writes the demo's knowledge base as its agent, unless it
// has articles already, and links each published article to a few of the
// desk history's tickets about its service whose summary has its word.
// Run it after SeedDesk, so there are tickets to link.
func SeedKnowledge(ctx context.Context, ids *identity.Service, kb *knowledge.Service, d *desk.Service) error {
	sys := access.System()
	some, err := kb.Articles(ctx, sys, knowledge.Filter{Page: sqldb.Page{Limit: 1}})
	if err != nil || len(some.Items) > 0 {
		return err
	}
	u, err := ids.UserByEmail(ctx, sys, alex)
	if err != nil {
		return fmt.Errorf("the demo's agent: %w", err)
	}
	agent, err := ids.Principal(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, da := range demoArticles {
		a, err := kb.Create(ctx, agent, knowledge.Input{Service: da.service, Title: da.title, Body: da.body})
		if err != nil {
			return fmt.Errorf("demo article %q: %w", da.title, err)
		}
		if da.draft {
			continue
		}
		if _, err := kb.Publish(ctx, agent, a.ID); err != nil {
			return fmt.Errorf("demo article %q: %w", da.title, err)
		}
		ts, err := d.Tickets(ctx, sys, desk.Filter{Service: da.service, Query: da.link, Page: sqldb.Page{Limit: linksPerArticle}})
		if err != nil {
			return err
		}
		for _, t := range ts.Items {
			if _, err := kb.Link(ctx, agent, t.ID, knowledge.LinkInput{Article: a.ID}); err != nil {
				return fmt.Errorf("link %s to %s: %w", a.Reference, t.Reference, err)
			}
		}
	}
	return nil
}
