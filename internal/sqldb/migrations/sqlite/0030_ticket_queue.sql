-- An agent's queue reads the open tickets of a group, least time left
-- first (issue 20, `steward bench desk`): a partial index of the open ones
-- in that order answers the first page without sorting the group's backlog.
CREATE INDEX tickets_open_queue ON tickets(group_id, resolve_by, id) WHERE state NOT IN ('resolved', 'closed');
