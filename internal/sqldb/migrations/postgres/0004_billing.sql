-- Rating and billing: price versions of catalog plans, the segments of
-- service instances (plan, quantity and cost centre over time), billing
-- accounts, billing runs, invoices, statements and credit notes with their
-- lines, and payments.

-- A price version is immutable: a new price is a new version.
CREATE TABLE price_versions (
    id             TEXT PRIMARY KEY,
    plan_id        TEXT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    effective_from TIMESTAMPTZ NOT NULL,
    currency       TEXT NOT NULL,
    components     TEXT NOT NULL,
    note           TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (plan_id, version)
);
CREATE INDEX price_versions_effective ON price_versions(plan_id, effective_from);

-- The version in effect now (kept with the list price by rating).
ALTER TABLE plans ADD COLUMN price_version_id TEXT;

-- The price version an order item was quoted at; its instance is billed at it.
ALTER TABLE order_items ADD COLUMN price_version_id TEXT REFERENCES price_versions(id);

-- An instance's billable life: one segment per plan, quantity and cost
-- centre it held; ended_at is null while it holds it.
CREATE TABLE instance_segments (
    instance_id      TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    plan_id          TEXT NOT NULL REFERENCES plans(id),
    price_version_id TEXT NOT NULL REFERENCES price_versions(id),
    quantity         INTEGER NOT NULL,
    cost_centre_id   TEXT NOT NULL REFERENCES org_units(id),
    addons           TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ,
    PRIMARY KEY (instance_id, seq)
);
CREATE INDEX instance_segments_cost_centre ON instance_segments(cost_centre_id, started_at);

INSERT INTO meters (id, code, name, description, event_type, aggregation, value_path, group_by, unit, created_at, updated_at)
VALUES ('00000000-0000-7000-8000-000000000001', 'instance-hours', 'Instance hours',
        'Hours each service instance existed, times its quantity; metered from the instance lifecycle, no events needed.',
        '', 'lifecycle', '', '[]', 'instance-hour', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');

CREATE TABLE billing_accounts (
    id          TEXT PRIMARY KEY,
    org_unit_id TEXT NOT NULL UNIQUE REFERENCES org_units(id),
    name        TEXT NOT NULL,
    mode        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    anchor_day  INTEGER NOT NULL,
    terms_days  INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One run per billing month; accounts_done counts progress.
CREATE TABLE billing_runs (
    id             TEXT PRIMARY KEY,
    month          TEXT NOT NULL UNIQUE,
    state          TEXT NOT NULL,
    accounts_total INTEGER NOT NULL,
    accounts_done  INTEGER NOT NULL,
    documents      INTEGER NOT NULL,
    lines          INTEGER NOT NULL,
    cursor         TEXT NOT NULL,
    error          TEXT NOT NULL,
    started_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ
);

-- Invoices (chargeback), statements (showback) and credit notes. number is
-- set when finalised, from a gapless counter per kind.
CREATE TABLE billing_documents (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES billing_accounts(id),
    run_id         TEXT REFERENCES billing_runs(id),
    kind           TEXT NOT NULL,
    state          TEXT NOT NULL,
    number         TEXT UNIQUE,
    currency       TEXT NOT NULL,
    period_start   TIMESTAMPTZ NOT NULL,
    period_end     TIMESTAMPTZ NOT NULL,
    total_minor    BIGINT NOT NULL,
    paid_minor     BIGINT NOT NULL,
    credits_id     TEXT REFERENCES billing_documents(id),
    reason         TEXT NOT NULL,
    issued_at      TIMESTAMPTZ,
    due_at         TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX billing_documents_period ON billing_documents(account_id, period_start) WHERE kind <> 'credit_note' AND state <> 'void';
CREATE INDEX billing_documents_account ON billing_documents(account_id, period_start);

-- A line explains itself: the plan, price version and component, the
-- quantity and its source (explain: proration, tiers, the rollups read).
-- usage_key names what a usage line charged (instance, component, period)
-- so late usage becomes an adjustment of exactly the difference.
CREATE TABLE billing_lines (
    document_id      TEXT NOT NULL REFERENCES billing_documents(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    description      TEXT NOT NULL,
    instance_id      TEXT,
    service_id       TEXT,
    offering_id      TEXT,
    plan_id          TEXT,
    price_version_id TEXT,
    component        TEXT NOT NULL,
    meter            TEXT NOT NULL,
    quantity         TEXT NOT NULL,
    unit             TEXT NOT NULL,
    unit_price       TEXT NOT NULL,
    amount_minor     BIGINT NOT NULL,
    period_start     TIMESTAMPTZ NOT NULL,
    period_end       TIMESTAMPTZ NOT NULL,
    usage_key        TEXT NOT NULL,
    explain          TEXT NOT NULL,
    PRIMARY KEY (document_id, position)
);
CREATE INDEX billing_lines_usage_key ON billing_lines(usage_key);

CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES billing_documents(id),
    amount_minor BIGINT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    reference    TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_document ON payments(document_id);

INSERT INTO counters (name, value) VALUES ('invoice', 0), ('statement', 0), ('credit_note', 0);
