-- Issue 16, billing exactness.
--
-- The account's balance: a ledger of what the customer is owed beyond
-- their invoices, in the account's minor units. An entry is signed: a
-- positive one adds to the account's credit (a payment beyond what was
-- owed, a credit note beyond an invoice's balance), a negative one uses it
-- (applied to an invoice when it is finalised, or refunded). The credit
-- balance is the sum of the entries; it is never negative. document_id is
-- the invoice the entry arose on or was applied to.
CREATE TABLE billing_account_entries (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES billing_accounts(id),
    kind         TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    document_id  TEXT REFERENCES billing_documents(id),
    reference    TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX billing_account_entries_account ON billing_account_entries(account_id, created_at);
CREATE INDEX billing_account_entries_document ON billing_account_entries(document_id);

-- Costs to date: a draft of a period in progress is billed to the
-- period's end (the projection, total_minor); to_date_minor is what was
-- incurred up to as_of, when the run computed it. Null once the period
-- had ended when the draft was computed (then the total is to date).
ALTER TABLE billing_documents ADD COLUMN to_date_minor BIGINT;
ALTER TABLE billing_documents ADD COLUMN as_of TIMESTAMPTZ;

-- Billing intervals (month, quarter, year; in advance or in arrears) are
-- on the flat components of price versions (components JSON): no column.

-- A credit names the service it relates to (an SLA rebate its
-- agreement's service), so its invoice line and FOCUS row carry it.
ALTER TABLE billing_credits ADD COLUMN service_id TEXT REFERENCES services(id);

-- The cost centre a line charged (an instance segment's, or the org unit
-- a credit was earned by), recorded when the line is rated so that an
-- export of a finalised document never re-derives it. Null for lines of
-- the account as a whole and for lines billed before this column.
ALTER TABLE billing_lines ADD COLUMN cost_centre_id TEXT REFERENCES org_units(id);
