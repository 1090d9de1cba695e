"""What `status` and the metrics read: queue counts, dead letters, open alerts. The last day's deliveries and the
open alerts come from per-hour tallies that triggers keep (migration 0012), not from counting their rows; on a store
older than the tallies (`status` before its daemon was restarted after an upgrade), `tallied=False` counts rows."""
from __future__ import annotations

import math
import re
from typing import Any

from .connection import Connection

HOUR = 3600


class Status(Connection):
    def outbox_counts(self, sent_since: float = 0.0, tallied: bool = True) -> dict[str, dict[str, int]]:
        """notifier id -> status -> number of rows; "sent" counts the rows sent since `sent_since` only."""
        counts: dict[str, dict[str, int]] = {}
        for r in self._read(
                "SELECT notifier_id, status, COUNT(*) FROM outbox WHERE status IN ('pending','sending','dead')"
                " GROUP BY notifier_id, status"):
            counts.setdefault(r[0], {})[r[1]] = r[2]
        if not math.isfinite(sent_since):
            return counts
        first_hour = math.ceil(sent_since / HOUR) if tallied else math.inf  # whole hours from the tally
        tally = self._read("SELECT notifier_id, SUM(n) FROM sent_hour WHERE hour>=? GROUP BY notifier_id",
                           (first_hour,)) if tallied else []
        for notifier_id, n in [*tally, *self._read("SELECT notifier_id, COUNT(*) FROM outbox WHERE sent_at>=? AND"
                                                   " sent_at<? GROUP BY notifier_id", (sent_since, first_hour * HOUR))]:
            sent = counts.setdefault(notifier_id, {})
            sent["sent"] = sent.get("sent", 0) + int(n)
        return counts

    def dead_letters(self, limit: int = 10) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read(
            "SELECT id, alert_id, notifier_id, attempts, last_error FROM outbox WHERE status='dead'"
            " ORDER BY id DESC LIMIT ?", (limit,))]

    def open_alerts(self, now: float, tallied: bool = True) -> dict[str, int]:
        """Open alerts and those past their respond-by: the tally by respond-by hour, and the rows of this hour."""
        if not tallied:
            total, late = self._read("SELECT COUNT(*), SUM(CASE WHEN respond_by<? THEN 1 ELSE 0 END) FROM alert"
                                     " WHERE acked_at IS NULL", (now,)).fetchone()
            return {"open": total, "late": late or 0}
        hour = int(now // HOUR)
        total, late = self._read("SELECT SUM(n), SUM(CASE WHEN hour<? THEN n ELSE 0 END) FROM open_hour",
                                 (hour,)).fetchone()
        late_this_hour = self._read("SELECT COUNT(*) FROM alert WHERE acked_at IS NULL AND respond_by>=?"
                                    " AND respond_by<?", (hour * HOUR, now)).fetchone()[0]
        return {"open": int(total or 0), "late": int(late or 0) + late_this_hour}

    def open_alerts_by_issue(self, tallied: bool = True) -> dict[str, dict[str, int]]:
        """Unacknowledged alerts per issue type, and how many of them are urgent."""
        sql = ("SELECT issue, SUM(n), SUM(CASE WHEN urgent=1 THEN n ELSE 0 END) FROM open_hour GROUP BY issue"
               " HAVING SUM(n)>0 ORDER BY SUM(n) DESC") if tallied else (
               "SELECT issue, COUNT(*), SUM(CASE WHEN urgent=1 THEN 1 ELSE 0 END) FROM alert WHERE acked_at IS NULL"
               " GROUP BY issue ORDER BY COUNT(*) DESC")
        return {issue or "unknown": {"open": int(n), "urgent": int(urgent)} for issue, n, urgent in self._read(sql)}

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
