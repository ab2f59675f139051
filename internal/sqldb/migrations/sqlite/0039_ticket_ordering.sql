-- A service request being turned into an order is claimed for the few
-- moments it takes (ordering_at), so that two clicks place one order; a
-- claim older than five minutes (a crash between the order and the
-- request) no longer holds.
ALTER TABLE tickets ADD COLUMN ordering_at TIMESTAMP;
