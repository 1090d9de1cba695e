-- Who acknowledged an alert (cli, telegram, matrix, slack, email link), and how often it was escalated.
ALTER TABLE alert ADD COLUMN acked_by TEXT;
ALTER TABLE alert ADD COLUMN escalations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert ADD COLUMN escalated_at REAL;
