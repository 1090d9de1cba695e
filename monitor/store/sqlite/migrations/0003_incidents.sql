-- One row per incident: several similar negative reports about one brand within a window.
CREATE TABLE incident (
    id TEXT PRIMARY KEY,
    brand TEXT NOT NULL,
    category TEXT NOT NULL,
    opened_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    members INTEGER NOT NULL,
    notified_members INTEGER NOT NULL,
    language TEXT NOT NULL,
    destinations TEXT NOT NULL
);
CREATE INDEX incident_recent ON incident(brand, category, updated_at);
CREATE INDEX alert_recent ON alert(brand, category, created_at);

-- Alerts that belong together (an incident's notices): a chat that supports threads groups them.
ALTER TABLE alert ADD COLUMN thread TEXT;
CREATE INDEX alert_thread ON alert(thread);
