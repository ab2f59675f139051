-- Portfolio, service map, catalog, orders and approvals, fulfilment tasks,
-- service instances, quotas, idempotency keys.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('order', 0);

CREATE TABLE services (
    id                      TEXT PRIMARY KEY,
    code                    TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    lifecycle               TEXT NOT NULL,
    description             TEXT NOT NULL,
    owner_id                TEXT REFERENCES users(id),
    sponsor_id              TEXT REFERENCES users(id),
    relationship_manager_id TEXT REFERENCES users(id),
    assignment_group_id     TEXT REFERENCES assignment_groups(id),
    successor_id            TEXT REFERENCES services(id),
    category                TEXT NOT NULL,
    criticality             TEXT NOT NULL,
    value_statement         TEXT NOT NULL,
    help                    TEXT NOT NULL,
    rpo_minutes             INTEGER NOT NULL,
    rto_minutes             INTEGER NOT NULL,
    continuity              TEXT NOT NULL,
    details                 TEXT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX services_lifecycle ON services(lifecycle);

CREATE TABLE service_transitions (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_transitions_service ON service_transitions(service_id, at);

CREATE TABLE config_items (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE dependencies (
    id               TEXT PRIMARY KEY,
    from_service_id  TEXT REFERENCES services(id) ON DELETE CASCADE,
    from_ci_id       TEXT REFERENCES config_items(id) ON DELETE CASCADE,
    to_service_id    TEXT REFERENCES services(id) ON DELETE CASCADE,
    to_ci_id         TEXT REFERENCES config_items(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    redundancy_group TEXT NOT NULL,
    group_needs      INTEGER NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX dependencies_from_service ON dependencies(from_service_id);
CREATE INDEX dependencies_to_service ON dependencies(to_service_id);

CREATE TABLE offerings (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    service_id  TEXT NOT NULL REFERENCES services(id),
    name        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    description TEXT NOT NULL,
    view        TEXT NOT NULL,
    form_schema TEXT NOT NULL,
    audience    TEXT NOT NULL,
    addons      TEXT NOT NULL,
    bundle      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX offerings_service ON offerings(service_id);

CREATE TABLE plans (
    id             TEXT PRIMARY KEY,
    offering_id    TEXT NOT NULL REFERENCES offerings(id) ON DELETE CASCADE,
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    currency       TEXT NOT NULL,
    recurring_minor BIGINT NOT NULL,
    one_time_minor BIGINT NOT NULL,
    agreement      TEXT NOT NULL,
    max_quantity   INTEGER NOT NULL,
    retired        BOOLEAN NOT NULL,
    position       INTEGER NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (offering_id, code)
);

CREATE TABLE quotas (
    org_unit_id    TEXT NOT NULL REFERENCES org_units(id) ON DELETE CASCADE,
    offering_id    TEXT NOT NULL REFERENCES offerings(id) ON DELETE CASCADE,
    max_instances  INTEGER NOT NULL,
    max_quantity   INTEGER NOT NULL,
    used_instances INTEGER NOT NULL,
    used_quantity  INTEGER NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_unit_id, offering_id)
);

CREATE TABLE approval_policies (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL,
    expression    TEXT NOT NULL,
    step          INTEGER NOT NULL,
    approver_kind TEXT NOT NULL,
    approver_role TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE orders (
    id             TEXT PRIMARY KEY,
    number         BIGINT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    org_unit_id    TEXT NOT NULL REFERENCES org_units(id),
    requester_id   TEXT NOT NULL REFERENCES users(id),
    state          TEXT NOT NULL,
    currency       TEXT NOT NULL,
    monthly_minor  BIGINT NOT NULL,
    one_time_minor BIGINT NOT NULL,
    note           TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    submitted_at   TIMESTAMPTZ
);
CREATE INDEX orders_org_unit ON orders(org_unit_id, state);
CREATE INDEX orders_requester ON orders(requester_id, state);

CREATE TABLE instances (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    service_id  TEXT NOT NULL REFERENCES services(id),
    offering_id TEXT NOT NULL REFERENCES offerings(id),
    plan_id     TEXT NOT NULL REFERENCES plans(id),
    org_unit_id TEXT NOT NULL REFERENCES org_units(id),
    owner_id    TEXT NOT NULL REFERENCES users(id),
    order_id    TEXT NOT NULL REFERENCES orders(id),
    parameters  TEXT NOT NULL,
    quantity    INTEGER NOT NULL,
    state       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ
);
CREATE INDEX instances_org_unit ON instances(org_unit_id, state);

CREATE TABLE order_items (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    offering_id    TEXT NOT NULL REFERENCES offerings(id),
    plan_id        TEXT NOT NULL REFERENCES plans(id),
    quantity       INTEGER NOT NULL,
    parameters     TEXT NOT NULL,
    addons         TEXT NOT NULL,
    requested_for  TEXT NOT NULL REFERENCES users(id),
    cost_centre_id TEXT NOT NULL REFERENCES org_units(id),
    monthly_minor  BIGINT NOT NULL,
    one_time_minor BIGINT NOT NULL,
    instance_id    TEXT REFERENCES instances(id),
    bundle_item_id TEXT REFERENCES order_items(id),
    state          TEXT NOT NULL
);
CREATE INDEX order_items_order ON order_items(order_id, position);

CREATE TABLE order_events (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    comment    TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, at);

CREATE TABLE approvals (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    step             INTEGER NOT NULL,
    policy_name      TEXT NOT NULL,
    approver_kind    TEXT NOT NULL,
    approver_role    TEXT NOT NULL,
    approver_user_id TEXT REFERENCES users(id),
    service_id       TEXT REFERENCES services(id),
    state            TEXT NOT NULL,
    decided_by_id    TEXT NOT NULL,
    decided_by_name  TEXT NOT NULL,
    comment          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ
);
CREATE INDEX approvals_order ON approvals(order_id, step);
CREATE INDEX approvals_state ON approvals(state);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL REFERENCES order_items(id) ON DELETE CASCADE,
    service_id  TEXT NOT NULL REFERENCES services(id),
    group_id    TEXT REFERENCES assignment_groups(id),
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    assignee_id TEXT REFERENCES users(id),
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    closed_at   TIMESTAMPTZ
);
CREATE INDEX tasks_group ON tasks(group_id, state);

CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
