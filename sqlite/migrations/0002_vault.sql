-- 0002_vault: the vault's secrets (sealed values only; key material is
-- never a column), the upstream credentials the broker mints, and leases
-- for single-run background jobs. Times are integer Unix microseconds.

CREATE TABLE secrets (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	owner_group_id   INTEGER NOT NULL REFERENCES groups (id),
	name             TEXT    NOT NULL,
	description      TEXT    NOT NULL DEFAULT '',
	key_id           TEXT    NOT NULL,
	sealed           BLOB    NOT NULL,
	bound_family_id  INTEGER NOT NULL DEFAULT 0,
	bound_automation TEXT    NOT NULL DEFAULT '',
	created_by_id    INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	last_read_at     INTEGER,
	version          INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX secrets_owner_name ON secrets (owner_group_id, name);
CREATE INDEX secrets_key_id ON secrets (key_id);
CREATE INDEX secrets_bound_family ON secrets (bound_family_id);

CREATE TABLE upstream_credentials (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
	owner_group_id     INTEGER NOT NULL REFERENCES groups (id),
	automation         TEXT    NOT NULL,
	upstream_url       TEXT    NOT NULL,
	admin_secret_id    INTEGER NOT NULL REFERENCES secrets (id),
	secret_id          INTEGER NOT NULL DEFAULT 0,
	kind               TEXT    NOT NULL,
	target             TEXT    NOT NULL DEFAULT '',
	service_account_id INTEGER NOT NULL DEFAULT 0,
	token_name         TEXT    NOT NULL,
	scopes             TEXT    NOT NULL DEFAULT '',
	access_level       INTEGER NOT NULL DEFAULT 0,
	lifetime_us        INTEGER NOT NULL DEFAULT 0,
	rotate_before_us   INTEGER NOT NULL DEFAULT 0,
	auto_rotate        INTEGER NOT NULL DEFAULT 0,
	notify             TEXT    NOT NULL DEFAULT '',
	state              TEXT    NOT NULL,
	upstream_token_id  INTEGER NOT NULL DEFAULT 0,
	expires_at         INTEGER,
	pending_revoke_id  INTEGER NOT NULL DEFAULT 0,
	attempts           INTEGER NOT NULL DEFAULT 0,
	next_attempt_at    INTEGER,
	last_error         TEXT    NOT NULL DEFAULT '',
	notified_at        INTEGER,
	created_by_id      INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	version            INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX upstream_credentials_owner_automation ON upstream_credentials (owner_group_id, automation);
CREATE INDEX upstream_credentials_state ON upstream_credentials (state);

CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
);
