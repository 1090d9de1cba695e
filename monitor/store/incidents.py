"""Incidents: several similar negative reports about one brand within a window, one row each."""
from __future__ import annotations

import json

from ..models import Alert
from ..routing.incidents import Incident, Report, report_words
from .connection import Connection, Transaction


class Incidents(Connection):
    def incident_context(self, keys: set[tuple[str, str]], since: float
                         ) -> tuple[dict[tuple[str, str], Incident], dict[tuple[str, str], list[Report]]]:
        """For (brand, category) keys: the incidents still open (updated since `since`) and the recent
        reports (negative alerts since `since`) that may join with a new one to open an incident."""
        incidents: dict[tuple[str, str], Incident] = {}
        reports: dict[tuple[str, str], list[Report]] = {}
        for brand, category in keys:
            row = self._read("SELECT * FROM incident WHERE brand=? AND category=? AND updated_at>=?"
                             " ORDER BY updated_at DESC LIMIT 1", (brand, category, since)).fetchone()
            if row is not None:
                incidents[(brand, category)] = Incident(
                    **{**dict(row), "destinations": tuple(json.loads(row["destinations"]))})
                continue
            rows = self._read("SELECT id, created_at, payload FROM alert WHERE brand=? AND category=?"
                              " AND sentiment='negative' AND created_at>=? AND kind='mention'"
                              " ORDER BY created_at DESC LIMIT 200", (brand, category, since))
            reports[(brand, category)] = [
                Report(r["id"], r["created_at"], report_words(Alert.from_dict(json.loads(r["payload"]))))
                for r in rows]
        return incidents, reports

    def _upsert_incident(self, conn: Transaction, incident: Incident) -> None:
        most = self.dialect.greatest
        conn.execute(
            "INSERT INTO incident (id, brand, category, opened_at, updated_at, members, notified_members, language,"
            " destinations) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET updated_at=excluded.updated_at,"
            f" members={most}(incident.members, excluded.members),"
            f" notified_members={most}(incident.notified_members, excluded.notified_members)",
            (incident.id, incident.brand, incident.category, incident.opened_at, incident.updated_at,
             incident.members, incident.notified_members, incident.language,
             json.dumps(list(incident.destinations))))
