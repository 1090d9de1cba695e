CREATE TABLE source_state (
    source_id TEXT PRIMARY KEY,
    cursor TEXT,
    etag TEXT,
    last_modified TEXT,
    next_poll_at REAL NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    parked INTEGER NOT NULL DEFAULT 0,
    last_success_at REAL,
    last_attempt_at REAL
);

-- Every post ever seen (matched or not), so a post is processed once across polls, sources and restarts.
CREATE TABLE post (
    dedup_key TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    post_id TEXT NOT NULL,
    url TEXT,
    author TEXT,
    first_seen_at REAL NOT NULL
);
CREATE INDEX post_first_seen ON post(first_seen_at);

CREATE TABLE mention (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL REFERENCES post(dedup_key),
    brand TEXT NOT NULL,
    competitor INTEGER NOT NULL,
    matches TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (brand, dedup_key)
);

CREATE TABLE alert (
    id TEXT PRIMARY KEY,
    mention_id INTEGER NOT NULL REFERENCES mention(id),
    brand TEXT NOT NULL,
    severity TEXT NOT NULL,
    sentiment TEXT NOT NULL,
    category TEXT NOT NULL,
    language TEXT NOT NULL,
    author TEXT,
    respond_by REAL NOT NULL,
    created_at REAL NOT NULL,
    acked_at REAL,
    payload TEXT NOT NULL
);
CREATE INDEX alert_open ON alert(acked_at, respond_by);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL REFERENCES alert(id),
    notifier_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    lease_token TEXT,
    last_error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX outbox_due ON outbox(notifier_id, status, next_attempt_at);

-- One row per attempt: the audit trail behind `status` and dead letters.
CREATE TABLE delivery (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER,
    remote_id TEXT,
    detail TEXT
);
CREATE INDEX delivery_outbox ON delivery(outbox_id);
