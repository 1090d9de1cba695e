-- Several daemons on one database (PostgreSQL) share the work; SQLite has one, through the same tables.
-- A daemon's row is its heartbeat; a lease ("source:<id>", "timer:escalation") is held until `until` unless renewed.
CREATE TABLE daemon (
    id TEXT PRIMARY KEY,            -- host:pid:random
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    stopped_at REAL
);
CREATE TABLE lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL,
    since REAL NOT NULL             -- when this holder took it (a takeover shows as a new since)
);
CREATE INDEX lease_holder ON lease(holder);
