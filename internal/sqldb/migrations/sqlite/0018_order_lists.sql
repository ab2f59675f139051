-- Issue 18: the orders lists page by keyset. Each index serves a list's
-- order (newest or oldest first, then id) under its common filters, so a
-- page, first or deep, reads its own rows and no more.

-- GET /api/v1/orders, newest first: everyone's (admins), by org unit (the
-- scope of a consumer or manager, and the org_unit filter), by requester
-- (one's own, and the requester filter), by state.
CREATE INDEX orders_created ON orders(created_at, id);
CREATE INDEX orders_org_unit_created ON orders(org_unit_id, created_at, id);
CREATE INDEX orders_requester_created ON orders(requester_id, created_at, id);
CREATE INDEX orders_state_created ON orders(state, created_at, id);

-- The service and offering filters find an offering's order items.
CREATE INDEX order_items_offering ON order_items(offering_id, order_id);

-- GET /api/v1/approvals (the inbox): pending approvals, oldest first.
CREATE INDEX approvals_state_created ON approvals(state, created_at, id);
DROP INDEX approvals_state;

-- GET /api/v1/tasks (the queue): tasks in a state, oldest first.
CREATE INDEX tasks_state_created ON tasks(state, created_at, id);
