-- Rows that share a batch (a digest route) are claimed and sent together as one message.
ALTER TABLE outbox ADD COLUMN batch TEXT;
CREATE INDEX outbox_batch ON outbox(notifier_id, batch, status, next_attempt_at);
