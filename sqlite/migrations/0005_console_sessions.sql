-- 0005_console_sessions: the web console's signed-in sessions. Only the
-- SHA-256 digest of a session id is stored, with the person and the
-- personal access token they signed in with (never its secret); times are
-- integer Unix microseconds in UTC.

CREATE TABLE console_sessions (
	digest        BLOB    PRIMARY KEY,
	user_id       INTEGER NOT NULL REFERENCES users (id),
	token_id      INTEGER NOT NULL REFERENCES tokens (id),
	created_at    INTEGER NOT NULL,
	last_seen_at  INTEGER NOT NULL,
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
	token_id  INTEGER NOT NULL REFERENCES tokens (id),
	hour      INTEGER NOT NULL,
	requests  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (token_id, hour)
);

CREATE INDEX token_hourly_usage_hour ON token_hourly_usage (hour);
