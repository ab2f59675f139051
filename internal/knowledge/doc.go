// Package knowledge is the service desk's knowledge base (issue 20):
// articles about a catalog service, written in Markdown and rendered
// safely (raw HTML never reaches a page unsanitised), that the "get help"
// page suggests while people describe their problem, before they raise a
// ticket (deflection), that agents link to the tickets they answer, and
// that the service suggestion (internal/desk) learns from.
//
// An article is a draft, published or retired. Whoever may work a
// service's tickets (ticket.work on it), or configure the desk
// (desk.manage), writes, publishes and retires its articles and reads its
// drafts; everyone signed in who may read the catalog reads the published
// ones. Linking an article to a ticket takes the right to work the ticket;
// whoever reads the ticket sees the published articles linked to it.
package knowledge
