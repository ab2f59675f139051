-- Issue 18, growth of stored data: usage events are partitioned by the
-- month they were received (declarative range partitioning on period), so
-- the retention purge drops a whole expired month instead of deleting its
-- rows, and no query of events reaches a month the purge has let go.
--
-- A primary key of a partitioned table must hold its partition key: the
-- key is (source, id, subject, period). It still makes a replay received in
-- the same month a conflict; a replay received in a later month is found by
-- ingest, which looks up the event's key in the months of the
-- deduplication window before it inserts (docs/metering.md, "Partitions").
--
-- The table is converted in place: a partitioned table is made beside it,
-- with a partition for every month from the oldest event kept to two months
-- ahead (the purge job keeps creating them ahead), the rows are copied, and
-- the old table is dropped. Each partition's comment marks it
-- engine-specific: the schema comparison of the two dialects leaves it out.
CREATE TABLE usage_events_new (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    time        TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    data        TEXT NOT NULL,
    period      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, id, subject, period)
) PARTITION BY RANGE (period);

DO $$
DECLARE
    m    TIMESTAMPTZ;
    last TIMESTAMPTZ := date_trunc('month', now(), 'UTC') + INTERVAL '2 months';
BEGIN
    SELECT LEAST(COALESCE(date_trunc('month', MIN(received_at), 'UTC'), date_trunc('month', now(), 'UTC')),
                 date_trunc('month', now(), 'UTC'))
      INTO m FROM usage_events;
    WHILE m <= last LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF usage_events_new FOR VALUES FROM (%L) TO (%L)',
            'usage_events_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, m + INTERVAL '1 month');
        EXECUTE format('COMMENT ON TABLE %I IS %L', 'usage_events_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'),
            'engine-specific: a month of usage_events (a partition)');
        m := m + INTERVAL '1 month';
    END LOOP;
END
$$;

INSERT INTO usage_events_new (source, id, type, subject, time, received_at, data, period)
    SELECT source, id, type, subject, time, received_at, data, date_trunc('month', received_at, 'UTC') FROM usage_events;
DROP TABLE usage_events;
ALTER TABLE usage_events_new RENAME TO usage_events;
ALTER TABLE usage_events RENAME CONSTRAINT usage_events_new_pkey TO usage_events_pkey;
