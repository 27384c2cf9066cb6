-- 0008: reserved for a change merged separately (this file is replaced by it).
SELECT 1;
