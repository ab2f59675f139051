-- The service desk (issue 20). The incident record that service levels
-- read becomes the ticket: incidents, service requests, problems and
-- requests for change, each about a service (business or technical) and
-- an org unit, routed to an assignment group and a tier, with priority
-- from impact × urgency. Incidents recorded before (SLA input only) keep
-- their number, priority and times, and have no requester or org unit.
ALTER TABLE incidents RENAME TO tickets;
ALTER TABLE tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'incident';
ALTER TABLE tickets ADD COLUMN state TEXT NOT NULL DEFAULT 'new';
ALTER TABLE tickets ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN org_unit_id TEXT REFERENCES org_units(id);
ALTER TABLE tickets ADD COLUMN requester_id TEXT REFERENCES users(id);
-- 1 high, 2 medium, 3 low (ticket_priorities maps them to a priority).
ALTER TABLE tickets ADD COLUMN impact INTEGER NOT NULL DEFAULT 2;
ALTER TABLE tickets ADD COLUMN urgency INTEGER NOT NULL DEFAULT 2;
ALTER TABLE tickets ADD COLUMN group_id TEXT REFERENCES assignment_groups(id);
ALTER TABLE tickets ADD COLUMN tier INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tickets ADD COLUMN assignee_id TEXT REFERENCES users(id);
-- Why an on-hold ticket waits: customer, supplier or change.
ALTER TABLE tickets ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN closed_at TIMESTAMP;
-- When the response and resolution are due (service time, holds added):
-- the queue sorts by them.
ALTER TABLE tickets ADD COLUMN respond_by TIMESTAMP;
ALTER TABLE tickets ADD COLUMN resolve_by TIMESTAMP;
ALTER TABLE tickets ADD COLUMN parent_id TEXT REFERENCES tickets(id);
ALTER TABLE tickets ADD COLUMN merged_into_id TEXT REFERENCES tickets(id);
-- Customer satisfaction on resolution: 1 to 5, with a comment.
ALTER TABLE tickets ADD COLUMN rating INTEGER;
ALTER TABLE tickets ADD COLUMN rating_comment TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
-- Raised with one touch: the service desk resolved it at the first contact.
ALTER TABLE tickets ADD COLUMN first_contact BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE tickets SET resolve_by = opened_at;
UPDATE tickets SET state = CASE WHEN resolved_at IS NOT NULL THEN 'resolved' WHEN responded_at IS NOT NULL THEN 'in_progress' ELSE 'new' END;
UPDATE counters SET name = 'ticket' WHERE name = 'incident';
CREATE INDEX tickets_queue ON tickets(group_id, state, resolve_by, id);
CREATE INDEX tickets_requester ON tickets(requester_id, opened_at, id);
CREATE INDEX tickets_org_unit ON tickets(org_unit_id, opened_at, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id, state);
CREATE INDEX tickets_service ON tickets(service_id, opened_at);
CREATE INDEX tickets_parent ON tickets(parent_id);

-- Comments: customer-visible (internal = FALSE) or work notes.
CREATE TABLE ticket_comments (
    id         TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_id  TEXT NOT NULL REFERENCES users(id),
    internal   BOOLEAN NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments(ticket_id, created_at);

CREATE TABLE ticket_watchers (
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_watchers_user ON ticket_watchers(user_id);

-- The spans a ticket's clocks stood still: on hold (awaiting customer,
-- supplier or change) and resolved until reopened. ended_at is NULL
-- while it holds.
CREATE TABLE ticket_holds (
    ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    started_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP,
    reason     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, started_at)
);

-- Priority from impact × urgency (1 high … 3 low), configurable.
CREATE TABLE ticket_priorities (
    impact   INTEGER NOT NULL,
    urgency  INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    PRIMARY KEY (impact, urgency)
);
INSERT INTO ticket_priorities (impact, urgency, priority) VALUES
    (1, 1, 1), (1, 2, 2), (1, 3, 3),
    (2, 1, 2), (2, 2, 3), (2, 3, 4),
    (3, 1, 3), (3, 2, 4), (3, 3, 4);

-- The desk's settings, one row: a resolved ticket may be reopened for
-- reopen_days.
CREATE TABLE desk_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    reopen_days INTEGER NOT NULL
);
INSERT INTO desk_settings (id, reopen_days) VALUES (1, 7);
