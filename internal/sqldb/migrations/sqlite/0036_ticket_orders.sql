-- A service request that the catalog can fulfil turns into an order
-- (issue 20): the order is placed for the request's org unit, and the
-- request records it, resolved as fulfilled through that order.
CREATE TABLE ticket_orders (
    ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    order_id   TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, order_id)
);
CREATE INDEX ticket_orders_order ON ticket_orders (order_id);
