-- Reserved for issue 16 (placeholder until its change lands).
SELECT 1;
