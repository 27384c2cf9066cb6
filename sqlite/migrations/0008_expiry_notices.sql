-- 0008_expiry_notices: where each team wants its notices (the manifest's
-- teams[].notify), and the expiry notices sent, one row per (token,
-- threshold in days, channel) so that each is sent once across restarts
-- and nodes. The webhook URL may embed a credential: botgate never prints
-- it. Times are integer Unix microseconds in UTC.

CREATE TABLE team_notify (
	group_id     INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
	webhook_url  TEXT    NOT NULL DEFAULT '',
	emails       TEXT    NOT NULL DEFAULT '',
	updated_at   INTEGER NOT NULL
);

CREATE TABLE expiry_notices (
	token_id        INTEGER NOT NULL REFERENCES tokens (id),
	threshold_days  INTEGER NOT NULL,
	channel         TEXT    NOT NULL,
	group_id        INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	sent_at         INTEGER NOT NULL,
	PRIMARY KEY (token_id, threshold_days, channel)
);
