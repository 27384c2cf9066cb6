-- 0008_expiry_notices: the PostgreSQL twin of
-- sqlite/migrations/0008_expiry_notices.sql: each team's notice
-- destinations and the expiry notices sent, one row per (token, threshold
-- in days, channel).

CREATE TABLE team_notify (
	group_id     BIGINT  PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
	webhook_url  TEXT    NOT NULL DEFAULT '',
	emails       TEXT    NOT NULL DEFAULT '',
	updated_at   BIGINT  NOT NULL
);

CREATE TABLE expiry_notices (
	token_id        BIGINT  NOT NULL REFERENCES tokens (id),
	threshold_days  INTEGER NOT NULL,
	channel         TEXT    NOT NULL,
	group_id        BIGINT  NOT NULL,
	expires_at      BIGINT  NOT NULL,
	sent_at         BIGINT  NOT NULL,
	PRIMARY KEY (token_id, threshold_days, channel)
);
