-- Issue 16 (OSB 4): a platform's update in progress is answered again with
-- its operation when the platform repeats the identical request, so the
-- broker remembers which request made the change order.
ALTER TABLE broker_instances ADD COLUMN change_hash TEXT;
