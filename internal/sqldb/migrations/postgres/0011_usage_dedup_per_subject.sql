-- A usage event is identified by (source, id, subject), not (source, id):
-- a reporter writes only subjects in its scope, so it can no longer make
-- another org unit's event a duplicate, nor learn from a "duplicate" answer
-- which (source, id) another org unit used (issue 15, finding 5, review).
-- Rows kept are unique on (source, id), so they are unique on the new key.
ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey,
    ADD PRIMARY KEY (source, id, subject);
