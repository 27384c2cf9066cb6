-- 0003_route_usage: per-token route usage recorded by the gateway, so that
-- governance can tell which scopes a token actually needed and which routes
-- it called. Times are integer Unix microseconds in UTC.

CREATE TABLE route_usage (
	token_id   INTEGER NOT NULL REFERENCES tokens (id),
	method     TEXT    NOT NULL,
	route      TEXT    NOT NULL,
	scope      TEXT    NOT NULL DEFAULT '',
	count      INTEGER NOT NULL DEFAULT 0,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (token_id, method, route)
) WITHOUT ROWID;
