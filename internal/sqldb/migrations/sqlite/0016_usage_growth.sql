-- Issue 18, growth of stored data. On PostgreSQL usage events are
-- partitioned by period, the month they were received, and the purge drops
-- whole months. SQLite has no partitions: its purge deletes expired events
-- a few thousand to a transaction (by the received_at index), so it never
-- holds the write lock long. The column is here so that both dialects have
-- the same schema; SQLite leaves it NULL.
ALTER TABLE usage_events ADD COLUMN period TIMESTAMP;
