-- The service desk, part two (issue 20): attachments, problems and their
-- known errors, incidents linked to a problem.

-- Files attached to a ticket (at most 20 a ticket, 10 MiB each:
-- docs/limits.md), stored in the database so backups, exports and every
-- replica have them. internal files are seen by those who work the
-- ticket only. comment_id names the comment a file came with, if any.
CREATE TABLE ticket_attachments (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    comment_id   TEXT REFERENCES ticket_comments(id) ON DELETE SET NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    data         BYTEA NOT NULL,
    internal     BOOLEAN NOT NULL DEFAULT FALSE,
    uploaded_by  TEXT NOT NULL REFERENCES users(id),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments(ticket_id, created_at, id);

-- Problems: what caused their incidents, the workaround until it is
-- fixed, and whether it is a known error (the known-error database is
-- the problems with known_error set). Incidents name their problem.
ALTER TABLE tickets ADD COLUMN root_cause TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN workaround TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN known_error BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN problem_id TEXT REFERENCES tickets(id);
CREATE INDEX tickets_problem ON tickets(problem_id);
CREATE INDEX tickets_merged_into ON tickets(merged_into_id);
