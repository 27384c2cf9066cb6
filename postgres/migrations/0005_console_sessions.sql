-- 0005_console_sessions: the web console's signed-in sessions; the
-- PostgreSQL twin of sqlite/migrations/0005_console_sessions.sql. Only the
-- SHA-256 digest of a session id is stored.

CREATE TABLE console_sessions (
	digest        BYTEA   PRIMARY KEY,
	user_id       BIGINT  NOT NULL REFERENCES users (id),
	token_id      BIGINT  NOT NULL REFERENCES tokens (id),
	created_at    BIGINT  NOT NULL,
	last_seen_at  BIGINT  NOT NULL,
	ip            TEXT    NOT NULL DEFAULT '',
	user_agent    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);

-- The console's inventory lists a team's tokens by the automations it owns.
CREATE INDEX tokens_automation ON tokens (automation);

-- Requests per token per hour, for the console's charts: the gateway's
-- route usage, added to the hour of each batch's last call (hour is the
-- hour's start in Unix microseconds).
CREATE TABLE token_hourly_usage (
	token_id  BIGINT NOT NULL REFERENCES tokens (id),
	hour      BIGINT NOT NULL,
	requests  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (token_id, hour)
);

CREATE INDEX token_hourly_usage_hour ON token_hourly_usage (hour);
