-- `status` and /metrics read the last day's deliveries and the open alerts from per-hour tallies, kept by triggers
-- in the same transaction as the rows they count, instead of counting up to every row of a day or a backlog.
CREATE TABLE sent_hour (                      -- rows sent per destination and hour (sent_at / 3600)
    notifier_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (notifier_id, hour)
);
INSERT INTO sent_hour SELECT notifier_id, floor(sent_at / 3600)::bigint, COUNT(*) FROM outbox
    WHERE sent_at IS NOT NULL GROUP BY 1, 2;
CREATE FUNCTION outbox_sent_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sent_hour (notifier_id, hour, n) VALUES (NEW.notifier_id, floor(NEW.sent_at / 3600)::bigint, 1)
        ON CONFLICT (notifier_id, hour) DO UPDATE SET n = sent_hour.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_sent_tally AFTER UPDATE OF sent_at ON outbox
    FOR EACH ROW WHEN (OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL) EXECUTE FUNCTION outbox_sent_tally();

CREATE TABLE open_hour (                      -- unacknowledged alerts per respond-by hour, issue type and urgency
    hour BIGINT NOT NULL,
    issue TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, issue, urgent)
);
INSERT INTO open_hour SELECT floor(respond_by / 3600)::bigint, COALESCE(issue, ''), COALESCE(urgent, 0), COUNT(*)
    FROM alert WHERE acked_at IS NULL GROUP BY 1, 2, 3;
CREATE FUNCTION alert_open_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO open_hour (hour, issue, urgent, n)
            VALUES (floor(NEW.respond_by / 3600)::bigint, COALESCE(NEW.issue, ''), COALESCE(NEW.urgent, 0), 1)
            ON CONFLICT (hour, issue, urgent) DO UPDATE SET n = open_hour.n + 1;
    ELSE  -- acknowledged, or deleted while open
        UPDATE open_hour SET n = n - 1 WHERE hour = floor(OLD.respond_by / 3600)::bigint
            AND issue = COALESCE(OLD.issue, '') AND urgent = COALESCE(OLD.urgent, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER alert_open_tally_insert AFTER INSERT ON alert
    FOR EACH ROW WHEN (NEW.acked_at IS NULL) EXECUTE FUNCTION alert_open_tally();
CREATE TRIGGER alert_open_tally_ack AFTER UPDATE OF acked_at ON alert
    FOR EACH ROW WHEN (OLD.acked_at IS NULL AND NEW.acked_at IS NOT NULL) EXECUTE FUNCTION alert_open_tally();
CREATE TRIGGER alert_open_tally_delete AFTER DELETE ON alert
    FOR EACH ROW WHEN (OLD.acked_at IS NULL) EXECUTE FUNCTION alert_open_tally();
