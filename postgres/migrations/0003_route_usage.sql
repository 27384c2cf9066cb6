-- 0003_route_usage: per-token route usage recorded by the gateway, so that
-- governance can tell which scopes a token actually needed and which routes
-- it called; the PostgreSQL twin of sqlite/migrations/0003_route_usage.sql.
-- Times are integer Unix microseconds in UTC.

CREATE TABLE route_usage (
	token_id   BIGINT NOT NULL REFERENCES tokens (id),
	method     TEXT   NOT NULL,
	route      TEXT   NOT NULL,
	scope      TEXT   NOT NULL DEFAULT '',
	count      BIGINT NOT NULL DEFAULT 0,
	first_seen BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	PRIMARY KEY (token_id, method, route)
);
