-- An assignment group has a manager (issue 20), who works the group's
-- tickets and is told when one of them is about to miss its resolution
-- time. A ticket knows when its resolution clock has used three quarters
-- of its time (warn_by, in its service hours, holds added) and when it was
-- last told of (warned_at); tickets open before this migration are told of
-- when they are due.
ALTER TABLE assignment_groups ADD COLUMN manager_id TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN warn_by TIMESTAMP;
ALTER TABLE tickets ADD COLUMN warned_at TIMESTAMP;
UPDATE tickets SET warn_by = resolve_by WHERE state IN ('new', 'assigned', 'in_progress', 'on_hold');
CREATE INDEX tickets_warn ON tickets (warn_by) WHERE state IN ('new', 'assigned', 'in_progress');
