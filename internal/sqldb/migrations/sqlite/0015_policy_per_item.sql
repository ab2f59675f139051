-- Issue 17, item 3: an approval policy asks one decision per order and step
-- unless it is explicitly per item: then its approver decides each item
-- it matches.
ALTER TABLE approval_policies ADD COLUMN per_item BOOLEAN NOT NULL DEFAULT FALSE;
