-- Who acknowledged an alert (cli, telegram, matrix, slack, email link), and how often it was escalated.
ALTER TABLE alert ADD COLUMN acked_by TEXT;
ALTER TABLE alert ADD COLUMN escalations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert ADD COLUMN escalated_at REAL;
-- Why a row exists besides the first notice, e.g. "escalated: not acknowledged after 30m" (shown in the message).
ALTER TABLE outbox ADD COLUMN note TEXT;
