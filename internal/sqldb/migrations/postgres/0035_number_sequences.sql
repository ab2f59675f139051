-- Order, ticket and article numbers come from sequences (sqldb.Tx.Next),
-- so that concurrent transactions no longer queue on one row of counters
-- until each commits. They go on from where the counters stand; invoice,
-- statement and credit note numbers, which must not skip, stay in counters.
CREATE SEQUENCE counter_order;
CREATE SEQUENCE counter_ticket;
CREATE SEQUENCE counter_article;
SELECT setval('counter_' || name, GREATEST(value, 1), value > 0) FROM counters WHERE name IN ('order', 'ticket', 'article');
