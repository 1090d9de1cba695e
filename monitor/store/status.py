"""What `status` and the metrics read: queue counts, dead letters, open alerts."""
from __future__ import annotations

import re
from typing import Any

from .connection import Connection


class Status(Connection):
    def outbox_counts(self, sent_since: float = 0.0) -> dict[str, dict[str, int]]:
        """notifier id -> status -> number of rows; "sent" counts the rows sent since `sent_since` only."""
        counts: dict[str, dict[str, int]] = {}
        for r in self._read(
                "SELECT notifier_id, status, COUNT(*) FROM outbox WHERE status IN ('pending','sending','dead')"
                " GROUP BY notifier_id, status"):
            counts.setdefault(r[0], {})[r[1]] = r[2]
        for r in self._read("SELECT notifier_id, COUNT(*) FROM outbox WHERE sent_at>=? GROUP BY notifier_id",
                            (sent_since,)):  # only sent rows have sent_at: an index-only count
            counts.setdefault(r[0], {})["sent"] = r[1]
        return counts

    def dead_letters(self, limit: int = 10) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read(
            "SELECT id, alert_id, notifier_id, attempts, last_error FROM outbox WHERE status='dead'"
            " ORDER BY id DESC LIMIT ?", (limit,))]

    def open_alerts(self, now: float) -> dict[str, int]:
        row = self._read("SELECT COUNT(*), SUM(CASE WHEN respond_by < ? THEN 1 ELSE 0 END) FROM alert"
                         " WHERE acked_at IS NULL", (now,)).fetchone()
        return {"open": row[0], "late": row[1] or 0}

    def open_alerts_by_issue(self) -> dict[str, dict[str, int]]:
        """Unacknowledged alerts per issue type, and how many of them are urgent (schema 7 on)."""
        return {issue or "unknown": {"open": n, "urgent": urgent or 0} for issue, n, urgent in self._read(
            "SELECT issue, COUNT(*), SUM(urgent) FROM alert WHERE acked_at IS NULL GROUP BY issue"
            " ORDER BY COUNT(*) DESC")}

    def alert_ids_starting(self, prefix: str, limit: int = 2) -> list[str]:
        """Alert ids that start with `prefix` (what people type: the short id shown in alerts and status)."""
        if not re.fullmatch(r"[0-9a-z-]{4,64}", prefix):
            return []
        return [r[0] for r in self._read("SELECT id FROM alert WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                                         (prefix, prefix + "\U0010ffff", limit))]

    def open_alert_list(self, now: float, limit: int = 10) -> list[dict[str, Any]]:
        """The unacknowledged alerts whose respond-by comes first, for `status`."""
        return [{"id": r[0], "severity": r[1], "brand": r[2], "issue": r[3], "urgent": bool(r[4]),
                 "respond_by": r[5], "late": r[5] < now} for r in self._read(
            "SELECT id, severity, brand, issue, urgent, respond_by FROM alert WHERE acked_at IS NULL"
            " ORDER BY respond_by LIMIT ?", (limit,))]
