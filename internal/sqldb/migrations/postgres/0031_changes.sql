-- Change management (issue 20). A request for change is a ticket of kind
-- change with its plan here: type (standard from a pre-approved template,
-- normal through the change advisory board, emergency through the
-- emergency CAB), risk, implementation and backout plans, the planned
-- window, and where its approval stands.
CREATE TABLE change_templates (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    service_id       TEXT NOT NULL REFERENCES services(id),
    summary          TEXT NOT NULL,
    description      TEXT NOT NULL,
    plan             TEXT NOT NULL,
    backout_plan     TEXT NOT NULL,
    risk             TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    active           BOOLEAN NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE ticket_changes (
    ticket_id     TEXT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    change_type   TEXT NOT NULL,
    risk          TEXT NOT NULL,
    plan          TEXT NOT NULL,
    backout_plan  TEXT NOT NULL,
    planned_start TIMESTAMPTZ NOT NULL,
    planned_end   TIMESTAMPTZ NOT NULL,
    template_id   TEXT REFERENCES change_templates(id),
    -- pending, approved or rejected
    approval      TEXT NOT NULL,
    decided_at    TIMESTAMPTZ,
    -- When work on it first started (in progress): its planned outage
    -- runs from then.
    implemented_at TIMESTAMPTZ
);
CREATE INDEX ticket_changes_window ON ticket_changes(planned_start, planned_end);

-- The CAB's decisions: one per change, step and approver, routed by the
-- approval policies whose subject is change.
CREATE TABLE change_approvals (
    id               TEXT PRIMARY KEY,
    ticket_id        TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    step             INTEGER NOT NULL,
    policy_name      TEXT NOT NULL,
    approver_kind    TEXT NOT NULL,
    approver_role    TEXT NOT NULL,
    approver_user_id TEXT REFERENCES users(id),
    state            TEXT NOT NULL,
    decided_by_id    TEXT NOT NULL,
    decided_by_name  TEXT NOT NULL,
    comment          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ
);
CREATE INDEX change_approvals_ticket ON change_approvals(ticket_id, step);
CREATE INDEX change_approvals_state ON change_approvals(state, created_at);

-- Change freezes: no changes to the service (or to any, when service_id
-- is NULL) from starts_at to ends_at.
CREATE TABLE change_freezes (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    service_id TEXT REFERENCES services(id),
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX change_freezes_window ON change_freezes(starts_at, ends_at);

-- Approval policies route orders (the default) or requests for change.
ALTER TABLE approval_policies ADD COLUMN subject TEXT NOT NULL DEFAULT 'order';
