-- 0007_enforcement: how the gateway applies each automation's rate limit
-- and loop breaker: 'enforce' refuses, 'shadow' lets the request through
-- and counts, marks and audits what would have been refused.

ALTER TABLE automations ADD COLUMN enforcement TEXT NOT NULL DEFAULT 'enforce';
