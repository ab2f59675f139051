-- Blueprints: versioned templates that make a plan's instances in steps,
-- each step a component made by a provider, undone in reverse order when a
-- later step fails.

CREATE TABLE blueprints (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    source      TEXT NOT NULL,
    digest      TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_by  TEXT REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (code, version)
);

ALTER TABLE plans ADD COLUMN blueprint_id TEXT REFERENCES blueprints(id);
ALTER TABLE instances ADD COLUMN blueprint_id TEXT REFERENCES blueprints(id);
ALTER TABLE instances ADD COLUMN outputs TEXT NOT NULL DEFAULT '{}';

CREATE TABLE components (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances(id),
    seq           INTEGER NOT NULL,
    step          TEXT NOT NULL,
    provider_id   TEXT REFERENCES providers(id),
    plan_id       TEXT NOT NULL REFERENCES plans(id),
    parameters    TEXT NOT NULL,
    state         TEXT NOT NULL,
    note          TEXT NOT NULL,
    dashboard_url TEXT NOT NULL,
    outputs       TEXT NOT NULL,
    placement     TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (instance_id, seq)
);

ALTER TABLE operations ADD COLUMN component_id TEXT REFERENCES components(id);
