-- Several daemons on one database (PostgreSQL) share the work; SQLite has one, through the same tables.
-- A daemon's row is its heartbeat; a lease ("source:<id>", "timer:escalation") is held until `until` unless renewed.
CREATE TABLE daemon (
    id TEXT PRIMARY KEY,            -- host:pid:random
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    stopped_at DOUBLE PRECISION
);
CREATE TABLE lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    since DOUBLE PRECISION NOT NULL             -- when this holder took it (a takeover shows as a new since)
);
CREATE INDEX lease_holder ON lease(holder);
