-- How each acknowledgement listener (chat reactions, buttons, the brands' public replies) fares, for `status`.
-- Written when a listener's state changes, not on every poll.
CREATE TABLE listener_state (
    listener TEXT PRIMARY KEY,      -- "kind:id", e.g. "matrix:room" or "public_reply:mastodon:acme@example.social"
    ok INTEGER NOT NULL,
    since REAL NOT NULL,            -- when it started working or failing
    last_error TEXT
);
