-- Incident notices are alerts of their own kind, not alerts told apart by an "incident-" id prefix.
ALTER TABLE alert ADD COLUMN kind TEXT NOT NULL DEFAULT 'mention';
UPDATE alert SET kind='incident' WHERE id LIKE 'incident-%';
DROP INDEX alert_created;
CREATE INDEX alert_created ON alert(created_at, sentiment, category, brand, kind);  -- recent negatives (covering)
