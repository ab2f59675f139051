// Package orders is ordering from the catalog: carts and orders, quotes,
// approvals routed by policy, fulfilment tasks and the service instances
// they create.
//
// An order moves through the states of the design and only these:
//
//	draft → submitted → awaiting_approval → approved | rejected
//	approved → fulfilling → completed | failed
//	draft, submitted, awaiting_approval, approved → cancelled
//
// Every transition is recorded (who, when, comment) and guarded by the state
// it leaves, so two people acting at once cannot both move an order: the
// second gets a conflict that says what happened.
//
// A draft order is the cart. Submitting checks every item again (the
// offering is still orderable, the plan not retired, the parameters fit the
// form), prices it, reserves quota, and evaluates the approval policies: CEL
// expressions over the order and each item (order.total_monthly > 1000,
// item.plan == "gold"), bounded by package expr. Each policy that matches
// asks for a decision at its step, by a role (resolved on a scope covering
// the order's org unit), the service's sponsor or its owner; each approver
// decides once per order and step, however many items matched. A policy that
// fails, or names an approver who cannot decide for the order (a sponsor
// of another org unit, the requester), routes to a fallback approver with
// the reason on the approval: no order goes on unapproved because a policy
// broke, and none waits for nobody. The same bound holds when an approval
// is decided or its order read: a named approver needs order.approve on a
// scope covering the order then; one who has lost it since the approval
// was routed no longer decides it, and it falls to the fallback approver. Steps are decided in order; any
// rejection rejects the order. Pricing and policy evaluation run before
// the write transaction, which re-checks the draft and only writes; an
// order holds at most MaxItemsPerOrder items. An approved order is fulfilled by manual tasks in the
// queue of each service's assignment group; completing a provision task
// creates a service instance owned by the order's org unit, and completing a
// deprovision task ends one. Deprovisioning is an order too, through the
// same approvals.
//
// Lists page by keyset (sqldb.Page in, sqldb.Paged out): Orders newest
// first, Tasks and Inbox oldest first, each with the caller's scope in its
// query so that a page is never short and a cursor grants nothing.
//
// Authorisation: order.create and order.read on the order's org unit;
// approvals by the resolved approver only (never the requester); tasks by
// members of the assignment group or holders of task.work on the service;
// instance.read on the instance's org unit. Being the requester, owner or
// named approver counts only through a role that allows the action
// (access.Principal.Owns), so an API token limited to other roles has none
// of its owner's rights here.
package orders
