-- 0009_audit_lanes: the audit log's chain becomes lanes, so that writers
-- running side by side (several connections, several nodes) append to
-- different chains instead of queuing on one head; the log's order (seq)
-- comes from a sequence. Lane 0 continues the existing chain: its head is
-- the log's newest event, with the signed head that was kept in the
-- settings, so an existing log keeps verifying. Events written before have
-- lane 0 and lane_seq 0 (their place is their seq, under the first hash
-- form). The authentication revision, bumped by changes that invalidate
-- cached answers, moves into the lanes too (one row per lane instead of
-- one row every writer updates).

CREATE TABLE audit_lanes (
	lane     INTEGER PRIMARY KEY,
	seq      BIGINT NOT NULL DEFAULT 0, -- place of the lane's newest event
	hash     TEXT   NOT NULL DEFAULT '',
	signed   TEXT   NOT NULL DEFAULT '', -- SEQ:HASH:MAC under the audit key
	revision BIGINT NOT NULL DEFAULT 0
);

INSERT INTO audit_lanes (lane) SELECT generate_series(0, 15);

UPDATE audit_lanes SET
	seq = COALESCE((SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), 0),
	hash = COALESCE((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), ''),
	signed = COALESCE((SELECT value FROM settings WHERE key = 'audit_head'), ''),
	revision = COALESCE((SELECT CAST(value AS BIGINT) FROM settings WHERE key = 'auth_revision'), 0)
WHERE lane = 0;

DELETE FROM settings WHERE key IN ('audit_head', 'auth_revision');

ALTER TABLE audit_events ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN lane_seq BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_events_lane ON audit_events (lane, lane_seq) WHERE lane_seq > 0;

CREATE SEQUENCE audit_events_seq;
SELECT setval('audit_events_seq', COALESCE((SELECT MAX(seq) FROM audit_events), 0) + 1, false);
