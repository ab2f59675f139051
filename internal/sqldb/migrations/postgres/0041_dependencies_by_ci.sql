-- A node's surroundings on the service map are read a level at a time
-- (catalog.Around): the edges leaving or reaching configuration items need
-- their index as those of services have one (0002).
CREATE INDEX dependencies_from_ci ON dependencies(from_ci_id);
CREATE INDEX dependencies_to_ci ON dependencies(to_ci_id);
