-- Paged lists of provisioning and billing (issue 18): indexes that serve
-- their keyset orders and scopes.

-- Instances, newest first (ids sort by creation time), for a consumer:
-- their org units' (walked by org unit) and their own (walked by owner).
CREATE INDEX instances_org_unit_newest ON instances(org_unit_id, id);
CREATE INDEX instances_owner_newest ON instances(owner_id, id);

-- Billing documents, newest period first, for those who read them all.
CREATE INDEX billing_documents_newest ON billing_documents(period_start, id);

-- A provider's instances in use (the providers list counts them).
CREATE INDEX instances_provider ON instances(provider_id, state);
