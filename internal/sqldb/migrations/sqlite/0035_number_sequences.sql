-- On PostgreSQL, order, ticket and article numbers move to sequences
-- (sqldb.Tx.Next). SQLite's one writer takes the counters rows in turn:
-- nothing changes here.
SELECT 1;
