-- Each service's FOCUS ServiceCategory (issue 16): the highest-level
-- classification FinOps tools read in the FOCUS export, one of FOCUS 1.2's
-- allowed values ("Compute", "Storage", … "Other"). Services that exist
-- start as "Other", which FOCUS prescribes when no category fits.
ALTER TABLE services ADD COLUMN focus_category TEXT NOT NULL DEFAULT 'Other';
