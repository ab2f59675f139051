-- Reserved for work in progress (issue 18/19); replaced by its migration.
SELECT 1;
