-- 0005_workload_identity: trust policies of automations (which workload
-- identities may exchange their platform's token for the automation's, a
-- JSON array) and the identity token IDs already exchanged, kept until the
-- token expires so that a replay is refused on every node; tokens are
-- indexed by automation. Times are
-- integer Unix microseconds in UTC.

ALTER TABLE automations ADD COLUMN trust TEXT NOT NULL DEFAULT '[]';

CREATE TABLE used_token_ids (
	issuer      TEXT    NOT NULL,
	jti         TEXT    NOT NULL,
	expires_at  INTEGER NOT NULL,
	PRIMARY KEY (issuer, jti)
);

CREATE INDEX used_token_ids_expiry ON used_token_ids (expires_at);

-- An exchange finds the automation's bot through its standing token: the
-- newest of its tokens that outlives any workload token.
DROP INDEX IF EXISTS tokens_automation;
CREATE INDEX tokens_automation ON tokens (automation, expires_at);

-- Short-lived upstream tokens minted for one job each (upstream mode of
-- the exchange): revoked upstream when the job ends or expires_at passes.
-- The token value is never stored.
CREATE TABLE upstream_grants (
	id                 INTEGER PRIMARY KEY,
	credential_id      INTEGER NOT NULL REFERENCES upstream_credentials (id) ON DELETE CASCADE,
	upstream_token_id  INTEGER NOT NULL,
	subject            TEXT    NOT NULL DEFAULT '',
	expires_at         INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	revoked_at         INTEGER
);

CREATE INDEX upstream_grants_open ON upstream_grants (expires_at) WHERE revoked_at IS NULL;
