-- 0001_init: users, groups, projects, memberships, tokens, the audit chain
-- and settings. Times are integer Unix microseconds in UTC; dates are 00:00
-- UTC of the day. Empty optional references are NULL.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	username      TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	name          TEXT    NOT NULL DEFAULT '',
	email         TEXT    COLLATE NOCASE UNIQUE, -- NULL when the user has none
	kind          TEXT    NOT NULL,
	admin         INTEGER NOT NULL DEFAULT 0,
	state         TEXT    NOT NULL,
	owner_type    TEXT    NOT NULL DEFAULT '',
	owner_id      INTEGER NOT NULL DEFAULT 0,
	created_by_id INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);
CREATE INDEX users_owner ON users (owner_type, owner_id);

CREATE TABLE groups (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT    NOT NULL,
	path        TEXT    NOT NULL,
	full_path   TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	parent_id   INTEGER REFERENCES groups (id),
	description TEXT    NOT NULL DEFAULT '',
	visibility  TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX groups_parent ON groups (parent_id);

CREATE TABLE projects (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	name                TEXT    NOT NULL,
	path                TEXT    NOT NULL,
	path_with_namespace TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	namespace_id        INTEGER NOT NULL REFERENCES groups (id),
	description         TEXT    NOT NULL DEFAULT '',
	visibility          TEXT    NOT NULL,
	default_branch      TEXT    NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX projects_namespace_path ON projects (namespace_id, path COLLATE NOCASE);

-- A membership is on exactly one group or one project.
CREATE TABLE members (
	group_id      INTEGER REFERENCES groups (id),
	project_id    INTEGER REFERENCES projects (id),
	user_id       INTEGER NOT NULL REFERENCES users (id),
	access_level  INTEGER NOT NULL,
	expires_at    INTEGER,
	created_by_id INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	CHECK ((group_id IS NULL) <> (project_id IS NULL))
);
CREATE UNIQUE INDEX members_group_user ON members (group_id, user_id);
CREATE UNIQUE INDEX members_project_user ON members (project_id, user_id);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE tokens (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id       INTEGER NOT NULL REFERENCES users (id),
	kind          TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	description   TEXT    NOT NULL DEFAULT '',
	scopes        TEXT    NOT NULL DEFAULT '', -- space-separated scope names
	access_level  INTEGER NOT NULL DEFAULT 0,
	resource_type TEXT    NOT NULL DEFAULT '',
	resource_id   INTEGER NOT NULL DEFAULT 0,
	digest        BLOB    NOT NULL UNIQUE,
	revoked       INTEGER NOT NULL DEFAULT 0,
	revoked_at    INTEGER,
	expires_at    INTEGER,
	created_at    INTEGER NOT NULL,
	created_by_id INTEGER NOT NULL DEFAULT 0,
	last_used_at  INTEGER,
	last_used_ips TEXT    NOT NULL DEFAULT '', -- JSON array, newest first
	user_agents   TEXT    NOT NULL DEFAULT '', -- JSON array, newest first
	previous_id   INTEGER REFERENCES tokens (id),
	family_id     INTEGER NOT NULL,
	automation    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_family ON tokens (family_id);
CREATE INDEX tokens_previous ON tokens (previous_id);
CREATE INDEX tokens_resource ON tokens (resource_type, resource_id);

CREATE TABLE audit_events (
	seq         INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	actor_id    INTEGER NOT NULL DEFAULT 0,
	actor_name  TEXT    NOT NULL DEFAULT '',
	token_id    INTEGER NOT NULL DEFAULT 0,
	action      TEXT    NOT NULL,
	target_type TEXT    NOT NULL DEFAULT '',
	target_id   INTEGER NOT NULL DEFAULT 0,
	target_name TEXT    NOT NULL DEFAULT '',
	ip          TEXT    NOT NULL DEFAULT '',
	user_agent  TEXT    NOT NULL DEFAULT '',
	details     TEXT, -- JSON object, NULL when empty
	prev_hash   TEXT    NOT NULL,
	hash        TEXT    NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor_id);
CREATE INDEX audit_events_token ON audit_events (token_id);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
