-- Issue 18: the lists of service level management page by keyset.
-- Breaches by window, outages by start and incidents by opening, newest
-- first, each with its ID to break ties; these indexes serve those orders
-- (and replace the ones on the time alone).
CREATE INDEX sla_breaches_page ON sla_breaches(window_start, id);
CREATE INDEX outages_page ON outages(started_at, id);
DROP INDEX outages_time;
CREATE INDEX incidents_page ON incidents(opened_at, id);
DROP INDEX incidents_time;

-- What each agreement covers, as rows, so that lists scope agreements to
-- the caller and filter them by service and org unit inside the query:
-- its services (kind service) and the org units it is made with (kind
-- org_unit, with the unit's path, for grants on a subtree). The agreement's
-- scope document stays what it reads; these rows follow it.
CREATE TABLE agreement_scope (
    agreement_id TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    ref_id       TEXT NOT NULL,
    path         TEXT NOT NULL,
    PRIMARY KEY (agreement_id, kind, ref_id)
);
CREATE INDEX agreement_scope_ref ON agreement_scope(kind, ref_id);

INSERT OR IGNORE INTO agreement_scope (agreement_id, kind, ref_id, path)
SELECT a.id, 'service', json_extract(j.value, '$.ID'), '' FROM agreements a, json_each(a.scope, '$.Services') j;
INSERT OR IGNORE INTO agreement_scope (agreement_id, kind, ref_id, path)
SELECT a.id, 'org_unit', json_extract(j.value, '$.ID'), COALESCE(json_extract(j.value, '$.Path'), '') FROM agreements a, json_each(a.scope, '$.OrgUnits') j;
