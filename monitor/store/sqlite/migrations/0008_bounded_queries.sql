-- Every per-poll, per-send and per-tick query reads by an index bounded by its window, not by history; and
-- retention finds what it may delete without scanning (issue "Stay fast as history grows").
CREATE INDEX alert_author ON alert(author, category);              -- author history
CREATE INDEX alert_created ON alert(created_at, sentiment, category, brand, id);  -- recent negatives (covering)
CREATE INDEX alert_open_created ON alert(acked_at, created_at);    -- escalation candidates, expiry
CREATE INDEX alert_mention ON alert(mention_id);                   -- retention: mentions left without an alert
CREATE INDEX outbox_alert ON outbox(alert_id);                     -- escalation candidates, retention
CREATE INDEX outbox_unsent ON outbox(status, notifier_id);         -- queue counts without the sent rows
CREATE INDEX outbox_sent ON outbox(sent_at, notifier_id);          -- sent in the last day, for status
CREATE INDEX mention_post ON mention(dedup_key);                   -- retention: posts left without a mention
CREATE INDEX mention_created ON mention(created_at);
CREATE INDEX incident_updated ON incident(updated_at);
