-- Paged lists of provisioning and billing (issue 18): indexes that serve
-- their keyset orders and scopes.

-- Instances, newest first (ids sort by creation time), for a consumer:
-- their org units' (walked by org unit) and their own (walked by owner),
-- the state in the index so a page of IDs reads no row.
CREATE INDEX instances_org_unit_newest ON instances(org_unit_id, id, state);
CREATE INDEX instances_owner_newest ON instances(owner_id, id, state);

-- Billing documents, newest period first, for those who read them all;
-- and by the document a credit note credits (each listed document sums
-- its credit notes).
CREATE INDEX billing_documents_newest ON billing_documents(period_start, id);
CREATE INDEX billing_documents_credits ON billing_documents(credits_id);

-- A provider's instances in use (the providers list counts them).
CREATE INDEX instances_provider ON instances(provider_id, state);
