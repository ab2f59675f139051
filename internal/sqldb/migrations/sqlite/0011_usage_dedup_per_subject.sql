-- A usage event is identified by (source, id, subject), not (source, id):
-- a reporter writes only subjects in its scope, so it can no longer make
-- another org unit's event a duplicate, nor learn from a "duplicate" answer
-- which (source, id) another org unit used (issue 15, finding 5, review).
-- Rows kept are unique on (source, id), so they are unique on the new key.
-- SQLite cannot change a primary key in place: the table is rebuilt.
CREATE TABLE usage_events_new (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    time        TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (source, id, subject)
) WITHOUT ROWID;
INSERT INTO usage_events_new (source, id, type, subject, time, received_at, data)
    SELECT source, id, type, subject, time, received_at, data FROM usage_events;
DROP TABLE usage_events;
ALTER TABLE usage_events_new RENAME TO usage_events;
CREATE INDEX usage_events_received ON usage_events(received_at);
