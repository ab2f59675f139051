-- Service level management: agreements (SLA, OLA, UC) with their targets,
-- rebate rules, scope and service-hours calendar as one document; outages
-- and incidents; the compliance engine's results and breaches; and credits
-- waiting for an invoice (rebates).

CREATE TABLE agreements (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    state          TEXT NOT NULL,
    provider       TEXT NOT NULL,
    customer       TEXT NOT NULL,
    description    TEXT NOT NULL,
    effective_from TIMESTAMPTZ NOT NULL,
    effective_to   TIMESTAMPTZ,
    review_on      TEXT NOT NULL,
    currency       TEXT NOT NULL,
    scope          TEXT NOT NULL,
    calendar       TEXT NOT NULL,
    targets        TEXT NOT NULL,
    rebates        TEXT NOT NULL,
    underpinned_by TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- An outage of a service or a configuration item. Alertmanager outages
-- are unique by alert fingerprint and start, so a repeated notification
-- is the same outage.
CREATE TABLE outages (
    id             TEXT PRIMARY KEY,
    service_id     TEXT REFERENCES services(id),
    ci_id          TEXT REFERENCES config_items(id),
    started_at     TIMESTAMPTZ NOT NULL,
    ended_at       TIMESTAMPTZ,
    impact         TEXT NOT NULL,
    share_permille INTEGER NOT NULL,
    planned        BOOLEAN NOT NULL,
    announced_at   TIMESTAMPTZ,
    source         TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    incident_id    TEXT,
    summary        TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX outages_time ON outages(started_at);
CREATE UNIQUE INDEX outages_alert ON outages(fingerprint, started_at) WHERE source = 'alertmanager';

CREATE TABLE incidents (
    id           TEXT PRIMARY KEY,
    number       BIGINT NOT NULL UNIQUE,
    service_id   TEXT NOT NULL REFERENCES services(id),
    priority     INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    opened_at    TIMESTAMPTZ NOT NULL,
    responded_at TIMESTAMPTZ,
    resolved_at  TIMESTAMPTZ,
    outage_id    TEXT REFERENCES outages(id),
    recorded_by  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX incidents_time ON incidents(opened_at);

-- The latest figures per agreement × target × window: the current window
-- (current = 1) and the one before it (current = 0).
CREATE TABLE sla_results (
    agreement_id  TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    current       INTEGER NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    window_end    TIMESTAMPTZ NOT NULL,
    final         BOOLEAN NOT NULL,
    status        TEXT NOT NULL,
    measured      TEXT NOT NULL,
    agreed_us     BIGINT NOT NULL,
    downtime_us   BIGINT NOT NULL,
    budget_us     BIGINT NOT NULL,
    excess_us     BIGINT NOT NULL,
    budget_used   TEXT NOT NULL,
    breaks        INTEGER NOT NULL,
    counted       INTEGER NOT NULL,
    within_count  INTEGER NOT NULL,
    late_count    INTEGER NOT NULL,
    running_count INTEGER NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agreement_id, target, current)
);

-- A breach of a target in a window (a calendar period, or for a rolling
-- window the stretch it stayed breached). rebate_kind is credit (to the
-- customer's next invoice), claim (against a supplier) or none.
CREATE TABLE sla_breaches (
    id            TEXT PRIMARY KEY,
    agreement_id  TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    target        TEXT NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    window_end    TIMESTAMPTZ NOT NULL,
    state         TEXT NOT NULL,
    measured      TEXT NOT NULL,
    objective     TEXT NOT NULL,
    excess_us     BIGINT NOT NULL,
    rebate_kind   TEXT NOT NULL,
    rebate_minor  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    rebate_detail TEXT NOT NULL,
    opened_at     TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    closed_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX sla_breaches_window ON sla_breaches(agreement_id, target, window_start);

-- Warnings raised when a target turns at risk or breached.
CREATE TABLE sla_notices (
    id           TEXT PRIMARY KEY,
    agreement_id TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    target       TEXT NOT NULL,
    status       TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sla_notices_time ON sla_notices(created_at);

-- Credits waiting for an invoice: a billing run puts each on the draft of
-- the org unit's account (document_id) and it stays there once finalised.
-- source names what raised it (sla_breach) and source_id which one.
CREATE TABLE billing_credits (
    id           TEXT PRIMARY KEY,
    org_unit_id  TEXT NOT NULL REFERENCES org_units(id),
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    description  TEXT NOT NULL,
    source       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    explain      TEXT NOT NULL,
    document_id  TEXT REFERENCES billing_documents(id),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX billing_credits_pending ON billing_credits(org_unit_id, document_id);
CREATE INDEX billing_credits_source ON billing_credits(source, source_id);

INSERT INTO counters (name, value) VALUES ('incident', 0);
