-- A ticket names a service and, where the trouble is narrower, one of the
-- configuration items on that service's map (issue 20): an incident about
-- one of two domain controllers, say. Routing stays the service's; an
-- outage the incident declares is the configuration item's, and propagates
-- along the map from there.
ALTER TABLE tickets ADD COLUMN ci_id TEXT REFERENCES config_items(id) ON DELETE SET NULL;
