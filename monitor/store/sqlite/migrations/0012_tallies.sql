-- `status` and /metrics read the last day's deliveries and the open alerts from per-hour tallies, kept by triggers
-- in the same transaction as the rows they count, instead of counting up to every row of a day or a backlog.
CREATE TABLE sent_hour (                      -- rows sent per destination and hour (sent_at / 3600)
    notifier_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (notifier_id, hour)
);
INSERT INTO sent_hour SELECT notifier_id, CAST(sent_at / 3600 AS INTEGER), COUNT(*) FROM outbox
    WHERE sent_at IS NOT NULL GROUP BY 1, 2;
CREATE TRIGGER outbox_sent_tally AFTER UPDATE OF sent_at ON outbox
    WHEN OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL
BEGIN
    INSERT INTO sent_hour (notifier_id, hour, n) VALUES (NEW.notifier_id, CAST(NEW.sent_at / 3600 AS INTEGER), 1)
        ON CONFLICT (notifier_id, hour) DO UPDATE SET n = n + 1;
END;

CREATE TABLE open_hour (                      -- unacknowledged alerts per respond-by hour, issue type and urgency
    hour INTEGER NOT NULL,
    issue TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, issue, urgent)
);
INSERT INTO open_hour SELECT CAST(respond_by / 3600 AS INTEGER), COALESCE(issue, ''), COALESCE(urgent, 0), COUNT(*)
    FROM alert WHERE acked_at IS NULL GROUP BY 1, 2, 3;
CREATE TRIGGER alert_open_tally_insert AFTER INSERT ON alert WHEN NEW.acked_at IS NULL
BEGIN
    INSERT INTO open_hour (hour, issue, urgent, n)
        VALUES (CAST(NEW.respond_by / 3600 AS INTEGER), COALESCE(NEW.issue, ''), COALESCE(NEW.urgent, 0), 1)
        ON CONFLICT (hour, issue, urgent) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER alert_open_tally_ack AFTER UPDATE OF acked_at ON alert
    WHEN OLD.acked_at IS NULL AND NEW.acked_at IS NOT NULL
BEGIN
    UPDATE open_hour SET n = n - 1
        WHERE hour = CAST(OLD.respond_by / 3600 AS INTEGER) AND issue = COALESCE(OLD.issue, '')
          AND urgent = COALESCE(OLD.urgent, 0);
END;
CREATE TRIGGER alert_open_tally_delete AFTER DELETE ON alert WHEN OLD.acked_at IS NULL
BEGIN
    UPDATE open_hour SET n = n - 1
        WHERE hour = CAST(OLD.respond_by / 3600 AS INTEGER) AND issue = COALESCE(OLD.issue, '')
          AND urgent = COALESCE(OLD.urgent, 0);
END;
