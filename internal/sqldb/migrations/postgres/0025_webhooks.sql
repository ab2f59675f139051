-- Outbound webhooks (issue 19). A subscription names a receiver URL, the
-- event types it wants (none: all) and optionally an org unit whose
-- subtree's events it receives. The outbox dispatcher writes one delivery
-- per (event, subscription) in its own transaction, with the CloudEvents
-- payload built then; the deliverer sends deliveries in seq order per
-- (subscription, subject), retries them with backoff for a day, then
-- dead-letters them. A delivery's id is its webhook-id on every attempt.
CREATE TABLE webhook_subscriptions (
    id               TEXT PRIMARY KEY,
    url              TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    event_types_json TEXT NOT NULL,
    org_unit_id      TEXT REFERENCES org_units(id) ON DELETE CASCADE,
    secret_sealed    TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL,
    disabled_reason  TEXT NOT NULL DEFAULT '',
    owner_id         TEXT NOT NULL,
    failing_since    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_subscriptions_org_unit ON webhook_subscriptions (org_unit_id);

CREATE TABLE webhook_deliveries (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_at          TIMESTAMPTZ NOT NULL,
    retry_until      TIMESTAMPTZ NOT NULL,
    locked_by        TEXT NOT NULL DEFAULT '',
    locked_until     TIMESTAMPTZ,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_duration_ms INTEGER NOT NULL DEFAULT 0,
    last_response    TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    last_attempt_at  TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (subscription_id, subject, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, seq);
