-- Provisioning: providers and what they offer, placement, instances made
-- by providers, their operations and bindings; Steward as an Open Service
-- Broker for registered platforms.

ALTER TABLE offerings ADD COLUMN brokered BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE providers (
    id              TEXT PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    username        TEXT NOT NULL,
    secret          TEXT NOT NULL,
    region          TEXT NOT NULL,
    capacity        INTEGER NOT NULL,
    agreement       TEXT NOT NULL,
    markup          TEXT NOT NULL,
    service_id      TEXT REFERENCES services(id),
    health          TEXT NOT NULL,
    health_error    TEXT NOT NULL,
    health_at       TIMESTAMP,
    synced_at       TIMESTAMP,
    sync_error      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE provider_offers (
    id                TEXT PRIMARY KEY,
    provider_id       TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    plan_id           TEXT NOT NULL REFERENCES plans(id),
    remote_service_id TEXT NOT NULL,
    remote_plan_id    TEXT NOT NULL,
    remote_name       TEXT NOT NULL,
    currency          TEXT NOT NULL,
    price_minor       BIGINT NOT NULL,
    bindable          BOOLEAN NOT NULL,
    plan_updateable   BOOLEAN NOT NULL,
    max_polling       INTEGER NOT NULL,
    retired           BOOLEAN NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (provider_id, plan_id)
);
CREATE INDEX provider_offers_plan ON provider_offers(plan_id);

CREATE TABLE placement_policies (
    offering_id TEXT PRIMARY KEY,
    filter      TEXT NOT NULL,
    rank        TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

ALTER TABLE instances ADD COLUMN provider_id TEXT REFERENCES providers(id);
ALTER TABLE instances ADD COLUMN placement TEXT NOT NULL DEFAULT '{}';
ALTER TABLE instances ADD COLUMN dashboard_url TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN platform_id TEXT;

CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    instance_id      TEXT NOT NULL REFERENCES instances(id),
    binding_id       TEXT,
    item_id          TEXT REFERENCES order_items(id),
    provider_id      TEXT NOT NULL REFERENCES providers(id),
    kind             TEXT NOT NULL,
    state            TEXT NOT NULL,
    remote_operation TEXT NOT NULL,
    plan_id          TEXT NOT NULL,
    description      TEXT NOT NULL,
    polls            INTEGER NOT NULL,
    started_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    deadline         TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP
);
CREATE INDEX operations_instance ON operations(instance_id, started_at);

CREATE TABLE bindings (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances(id),
    name         TEXT NOT NULL,
    state        TEXT NOT NULL,
    credentials  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    revealed_at  TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    deleted_at   TIMESTAMP
);
CREATE INDEX bindings_instance ON bindings(instance_id);

CREATE TABLE platforms (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    org_unit_id   TEXT NOT NULL REFERENCES org_units(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- What platforms asked for, by the IDs they chose.
CREATE TABLE broker_instances (
    platform_id   TEXT NOT NULL REFERENCES platforms(id),
    id            TEXT NOT NULL,
    offering_id   TEXT NOT NULL,
    plan_id       TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    order_id      TEXT NOT NULL REFERENCES orders(id),
    change_order_id TEXT,
    delete_order_id TEXT REFERENCES orders(id),
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (platform_id, id)
);

CREATE TABLE broker_bindings (
    platform_id  TEXT NOT NULL REFERENCES platforms(id),
    instance_id  TEXT NOT NULL,
    id           TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    binding_id   TEXT NOT NULL REFERENCES bindings(id),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (platform_id, id)
);
