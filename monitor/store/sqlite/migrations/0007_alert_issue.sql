-- The learned triage's issue type and urgency, for `status` (older alerts keep NULL: judged before issue types).
ALTER TABLE alert ADD COLUMN issue TEXT;
ALTER TABLE alert ADD COLUMN urgent INTEGER;
