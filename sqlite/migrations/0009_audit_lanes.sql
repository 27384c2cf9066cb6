-- 0009_audit_lanes: the audit log's chain becomes lanes, so that writers
-- running side by side (PostgreSQL, several nodes) append to different
-- chains instead of queuing on one head. Lane 0 continues the existing
-- chain: its head is the log's newest event, with the signed head that was
-- kept in the settings, so an existing log keeps verifying. Events written
-- before have lane 0 and lane_seq 0 (their place is their seq, under the
-- first hash form). The authentication revision, bumped by changes that
-- invalidate cached answers, moves into the lanes too (one row per lane
-- instead of one row every writer updates).

CREATE TABLE audit_lanes (
	lane     INTEGER PRIMARY KEY,
	seq      INTEGER NOT NULL DEFAULT 0, -- place of the lane's newest event
	hash     TEXT    NOT NULL DEFAULT '',
	signed   TEXT    NOT NULL DEFAULT '', -- SEQ:HASH:MAC under the audit key
	revision INTEGER NOT NULL DEFAULT 0
);

WITH RECURSIVE n(lane) AS (SELECT 0 UNION ALL SELECT lane + 1 FROM n WHERE lane < 15)
INSERT INTO audit_lanes (lane) SELECT lane FROM n;

UPDATE audit_lanes SET
	seq = COALESCE((SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), 0),
	hash = COALESCE((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), ''),
	signed = COALESCE((SELECT value FROM settings WHERE key = 'audit_head'), ''),
	revision = COALESCE((SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'auth_revision'), 0)
WHERE lane = 0;

DELETE FROM settings WHERE key IN ('audit_head', 'auth_revision');

ALTER TABLE audit_events ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN lane_seq INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_events_lane ON audit_events (lane, lane_seq) WHERE lane_seq > 0;
