package outbox

// types is every event Steward emits: the contract of webhooks
// (docs/events.md and GET /api/v1/event-types are made from it) and of the
// notification centre. An event's data is the object's fields named here;
// receivers must ignore fields they do not know, as fields may be added.
var types = []Type{
	{Name: "order.submitted", Subject: "orders/{number}", Description: "A consumer submitted an order; it goes to approval or straight on.",
		Data: orderFields},
	{Name: "order.approved", Subject: "orders/{number}", Description: "Every approval step of an order is approved (or none applied); fulfilment follows.",
		Data: orderFields},
	{Name: "order.rejected", Subject: "orders/{number}", Description: "An approver rejected the order.", Data: orderFields},
	{Name: "order.completed", Subject: "orders/{number}", Description: "Every item of the order is fulfilled.", Data: orderFields},
	{Name: "order.failed", Subject: "orders/{number}", Description: "Fulfilment of the order failed.", Data: orderFields},
	{Name: "order.cancelled", Subject: "orders/{number}", Description: "The order was cancelled before fulfilment.", Data: orderFields},
	{Name: "approval.requested", Subject: "orders/{number}", Description: "An order waits for a decision at an approval step.",
		Data: append(orderFields[:len(orderFields):len(orderFields)],
			Field{"approval_id", "string", "the approval to decide"},
			Field{"step", "integer", "the approval step, from 1"},
			Field{"approver", "string", "who decides, in words (\"the sponsor of Retail\", \"a financial manager\")"})},
	{Name: "task.created", Subject: "orders/{number}", Description: "A fulfilment task is waiting for an assignment group.",
		Data: []Field{
			{"task_id", "string", "the task"}, {"order_id", "string", "its order"}, {"order_number", "string", "its order's number"},
			{"title", "string", "what is to be done"}, {"group_id", "string", "the assignment group"}, {"group", "string", "the group's name"},
		}},
	{Name: "ticket.created", Subject: "tickets/{reference}", Description: "A ticket (incident, request, problem or change) was raised; its assignment group is told.", Data: ticketFields},
	{Name: "ticket.assigned", Subject: "tickets/{reference}", Description: "A ticket was assigned to a group (escalated, reclassified) or to a person.", Data: ticketFields},
	{Name: "ticket.commented", Subject: "tickets/{reference}", Description: "A customer-visible comment was added to a ticket (work notes make no event).", Data: ticketFields},
	{Name: "ticket.on_hold", Subject: "tickets/{reference}", Description: "A ticket waits for the customer, a supplier or a change; its clocks stand still.", Data: ticketFields},
	{Name: "ticket.resolved", Subject: "tickets/{reference}", Description: "A ticket was resolved; its requester may rate it, or reopen it within the reopening time.", Data: ticketFields},
	{Name: "ticket.reopened", Subject: "tickets/{reference}", Description: "A resolved ticket was reopened.", Data: ticketFields},
	{Name: "ticket.closed", Subject: "tickets/{reference}", Description: "A ticket was closed.", Data: ticketFields},
	{Name: "ticket.order_ended", Subject: "tickets/{reference}", Description: "An order a service request turned into failed, was rejected or was cancelled; the request stays open and whoever works it is told.",
		Data: ticketFields},
	{Name: "ticket.at_risk", Subject: "tickets/{reference}", Description: "An open incident or request has used three quarters of its resolution time (in service hours, holds added); its assignee (or its group, while nobody has taken it) and its group's manager are told. Told once per warning time: a hold moves it on.", Data: ticketFields},
	{Name: "change.approval_requested", Subject: "tickets/{reference}", Description: "A request for change waits for the CAB (or the change authority, or the emergency CAB) at an approval step; its approvers are told.", Data: ticketFields},
	{Name: "change.approved", Subject: "tickets/{reference}", Description: "Every approval step of a request for change is approved: it may be implemented in its planned window.", Data: ticketFields},
	{Name: "change.rejected", Subject: "tickets/{reference}", Description: "The CAB rejected a request for change; it is closed.", Data: ticketFields},
	{Name: "change.withdrawn", Subject: "tickets/{reference}", Description: "A request for change was withdrawn before it was implemented; it is closed and its open decisions with it.", Data: ticketFields},
	{Name: "instance.ready", Subject: "instances/{id}", Description: "A service instance was provisioned and is active.", Data: instanceFields},
	{Name: "instance.failed", Subject: "instances/{id}", Description: "Provisioning or changing a service instance failed.", Data: instanceFields},
	{Name: "binding.created", Subject: "instances/{id}", Description: "Credentials were issued for a service instance (the credentials are never in the event).",
		Data: []Field{{"binding_id", "string", "the binding"}, {"instance_id", "string", "its instance"}, {"name", "string", "the binding's name"}}},
	{Name: "invoice.finalised", Subject: "invoices/{number}", Description: "An invoice (or statement, for showback) was finalised and can be sent.",
		Data: []Field{
			{"invoice_id", "string", "the invoice"}, {"number", "string", "its number"}, {"kind", "string", "invoice or statement"},
			{"org_unit_id", "string", "the org unit billed"}, {"period", "string", "the billing period, YYYY-MM"},
			{"currency", "string", "ISO 4217"}, {"total", "string", "the total, a decimal in the currency's minor precision"},
		}},
	{Name: "payment.recorded", Subject: "invoices/{number}", Description: "A payment was recorded against an invoice.",
		Data: []Field{{"invoice_id", "string", "the invoice"}, {"number", "string", "its number"}, {"currency", "string", "ISO 4217"},
			{"amount", "string", "the payment, a decimal"}, {"balance", "string", "what remains due, a decimal"}}},
	{Name: "sla.breached", Subject: "agreements/{id}", Description: "A service level target of an agreement was missed in a closed window.",
		Data: []Field{
			{"agreement_id", "string", "the agreement"}, {"agreement", "string", "its name"}, {"target", "string", "the target missed"},
			{"window", "string", "the window, as from/to dates"}, {"achieved", "string", "what was achieved"}, {"objective", "string", "what was promised"},
		}},
	{Name: "sla.at_risk", Subject: "agreements/{id}", Description: "A service level target is at risk in its current window (told once a window; a rolling window at most once a month).",
		Data: []Field{
			{"agreement_id", "string", "the agreement"}, {"agreement", "string", "its name"}, {"target", "string", "the target at risk"},
			{"window", "string", "the current window, as from/to dates"}, {"achieved", "string", "what is achieved so far"},
			{"objective", "string", "what was promised"}, {"budget_used", "string", "the share of what the target allows (downtime, breaks, late incidents, the meter's limit) spent so far, percent"},
			{"at_risk_percent", "integer", "the share of the budget at which an availability or reliability target is at risk (response, resolution and fulfilment targets are at risk while one more late one would miss the objective; an at-least meter target while below its limit)"},
		}},
	{Name: "rebate.credited", Subject: "credits/{id}", Description: "A service level rebate was credited to an org unit; it reaches its next invoice.",
		Data: []Field{{"credit_id", "string", "the credit"}, {"org_unit_id", "string", "the org unit credited"}, {"currency", "string", "ISO 4217"},
			{"amount", "string", "the rebate, a decimal"}, {"description", "string", "what it is for"}, {"source", "string", "what made it (sla_breach)"},
			{"source_id", "string", "the breach"}}},
	{Name: "webhook.disabled", Subject: "webhooks/{id}", Description: "Steward disabled a webhook subscription whose deliveries kept failing; its owner is told.",
		Data: []Field{{"subscription_id", "string", "the subscription"}, {"url", "string", "where it delivered to"}, {"reason", "string", "why it was disabled"}}},
	{Name: "provider.unhealthy", Subject: "providers/{id}", Description: "A provider's health check failed after it was healthy.",
		Data: []Field{{"provider_id", "string", "the provider"}, {"provider", "string", "its name"}, {"error", "string", "what the check found"}}},
}

var orderFields = []Field{
	{"order_id", "string", "the order"},
	{"number", "string", "the order's number, ORD-…"},
	{"org_unit_id", "string", "the org unit ordering (and charged)"},
	{"requester_id", "string", "the user who ordered"},
	{"state", "string", "the order's state after the event"},
	{"comment", "string", "the comment given with the change, if any"},
}

var instanceFields = []Field{
	{"instance_id", "string", "the instance"}, {"name", "string", "its name"}, {"org_unit_id", "string", "the org unit it belongs to"},
	{"offering", "string", "the offering's code"}, {"plan", "string", "the plan's code"}, {"state", "string", "the instance's state"},
	{"error", "string", "what went wrong, for instance.failed"},
}

// ticketFields are the data of every ticket event.
var ticketFields = []Field{
	{"ticket_id", "string", "the ticket"}, {"reference", "string", "its reference (INC-000042, REQ-…, PRB-…, CHG-…)"},
	{"kind", "string", "incident, request, problem or change"}, {"state", "string", "new, assigned, in_progress, on_hold, resolved or closed"},
	{"service", "string", "the code of the service it is about"}, {"org_unit_id", "string", "whose ticket it is"},
	{"priority", "integer", "1 (highest) to 4"}, {"summary", "string", "what it is about"},
	{"group", "string", "the assignment group's name"}, {"assignee", "string", "the assignee's name, — when none"},
}
