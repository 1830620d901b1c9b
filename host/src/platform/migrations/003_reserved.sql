-- 003: reserved for the online-PIN migration developed in parallel (branch `pin`). This placeholder
-- only keeps the migration numbers gap-free on branch `platform`; the merge replaces it with the real 003.
SELECT 1;
