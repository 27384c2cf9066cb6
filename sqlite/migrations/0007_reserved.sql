-- 0007: reserved for the gateway's shadow mode; this placeholder changes
-- nothing and gives way to that migration.
SELECT 1;
