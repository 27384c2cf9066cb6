-- 0004_automations: botgate's automation records, written by `botgate
-- apply` from the manifest: who answers for each automation, what it is
-- for, what it may touch, how fast and where the gateway sends it. Lists
-- (projects, groups, scopes, routes) are JSON arrays; times are integer Unix
-- microseconds in UTC.

CREATE TABLE automations (
	id               INTEGER PRIMARY KEY,
	name             TEXT    NOT NULL UNIQUE,
	owner_group_id   INTEGER NOT NULL REFERENCES groups (id),
	purpose          TEXT    NOT NULL DEFAULT '',
	kind             TEXT    NOT NULL,
	service_account  TEXT    NOT NULL DEFAULT '',
	projects         TEXT    NOT NULL DEFAULT '[]',
	groups_json      TEXT    NOT NULL DEFAULT '[]',
	scopes           TEXT    NOT NULL DEFAULT '[]',
	access_level     INTEGER NOT NULL DEFAULT 0,
	expires_in_days  INTEGER NOT NULL DEFAULT 0,
	is_temporary     INTEGER NOT NULL DEFAULT 0,
	rate             INTEGER NOT NULL DEFAULT 0,
	rate_period_us   INTEGER NOT NULL DEFAULT 0,
	rate_burst       INTEGER NOT NULL DEFAULT 0,
	upstream         TEXT    NOT NULL DEFAULT '',
	routes           TEXT    NOT NULL DEFAULT '[]',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);

CREATE INDEX automations_owner ON automations (owner_group_id);
