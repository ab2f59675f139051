-- Metering: meters, usage events (kept for deduplication), hourly rollups,
-- the distinct values of unique-count meters and the samples of gauges.
CREATE TABLE meters (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    aggregation TEXT NOT NULL,
    value_path  TEXT NOT NULL,
    group_by    TEXT NOT NULL,
    unit        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX meters_event_type ON meters(event_type);

-- Every accepted event, kept at least the deduplication window: (source, id)
-- is accepted once.
CREATE TABLE usage_events (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    time        TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE INDEX usage_events_received ON usage_events(received_at);

-- One row per meter, subject, group-by values and hour. quantity is in
-- micro-units (10^-6): the sum, count, maximum, latest value or count of
-- distinct values of the hour, by the meter's aggregation.
CREATE TABLE usage_rollups (
    meter_id TEXT NOT NULL REFERENCES meters(id) ON DELETE CASCADE,
    subject  TEXT NOT NULL,
    dims     TEXT NOT NULL,
    hour     TIMESTAMP NOT NULL,
    quantity BIGINT NOT NULL,
    events   BIGINT NOT NULL,
    last_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (meter_id, subject, dims, hour)
) WITHOUT ROWID;
CREATE INDEX usage_rollups_hour ON usage_rollups(meter_id, hour);

CREATE TABLE usage_uniques (
    meter_id TEXT NOT NULL REFERENCES meters(id) ON DELETE CASCADE,
    subject  TEXT NOT NULL,
    dims     TEXT NOT NULL,
    hour     TIMESTAMP NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (meter_id, subject, dims, hour, value)
) WITHOUT ROWID;

CREATE TABLE usage_gauges (
    meter_id TEXT NOT NULL REFERENCES meters(id) ON DELETE CASCADE,
    subject  TEXT NOT NULL,
    dims     TEXT NOT NULL,
    at       TIMESTAMP NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (meter_id, subject, dims, at)
) WITHOUT ROWID;
