-- A service's tickets of an org unit (and the org units under it) may go
-- to another assignment group than the service's own (issue 20: per org
-- unit support): the deepest org unit with a route wins.
CREATE TABLE ticket_routes (
    service_id  TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    org_unit_id TEXT NOT NULL REFERENCES org_units(id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES assignment_groups(id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (service_id, org_unit_id)
);
CREATE INDEX ticket_routes_group ON ticket_routes (group_id);
