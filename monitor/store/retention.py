"""Retention: history is pruned in small batches, each its own short transaction."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .connection import Connection

if TYPE_CHECKING:
    from ..settings import RetentionConfig


class Retention(Connection):
    def prune(self, now: float, keep: RetentionConfig, limit: int = 500) -> dict[str, int]:
        """One small batch of each retention step, each its own short transaction; returns the rows each step
        touched (a step that touched `limit` rows has more to do). Freed pages are reused by new rows, so the file
        stays the same size at a steady rate instead of growing."""
        return {"expired": self._expire_open(now - keep.open_alerts, now, limit),
                "alerts": self._delete_alerts(now - keep.posts, now - keep.dead_letters, limit),
                "mentions": self._delete(
                    "DELETE FROM mention WHERE id IN (SELECT m.id FROM mention m WHERE m.created_at<? AND NOT EXISTS"
                    " (SELECT 1 FROM alert a WHERE a.mention_id=m.id) LIMIT ?)", now - keep.posts, limit),
                "posts": self._delete(
                    "DELETE FROM post WHERE dedup_key IN (SELECT p.dedup_key FROM post p WHERE p.first_seen_at<? AND"
                    " NOT EXISTS (SELECT 1 FROM mention m WHERE m.dedup_key=p.dedup_key) LIMIT ?)",
                    now - keep.posts, limit),
                "incidents": self._delete("DELETE FROM incident WHERE id IN (SELECT id FROM incident WHERE"
                                          " updated_at<? LIMIT ?)", now - keep.incidents, limit),
                "tallies": self._prune_tallies(now - keep.posts)}

    def _expire_open(self, before: float, now: float, limit: int) -> int:
        """Unanswered alerts created before `before` are closed as "expired": escalation stops, status stops
        counting them as open."""
        with self._write() as conn:
            return conn.execute("UPDATE alert SET acked_at=?, acked_by='expired' WHERE id IN (SELECT id FROM alert"
                                " WHERE acked_at IS NULL AND created_at<? LIMIT ?)", (now, before, limit)).rowcount

    def _delete_alerts(self, before: float, dead_before: float, limit: int) -> int:
        """Closed alerts created before `before` whose deliveries are over (sent, or dead before `dead_before`),
        with their outbox rows, delivery records and mentions."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT a.id, a.mention_id FROM alert a WHERE a.created_at<? AND a.acked_at IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id=a.id AND (o.status IN ('pending','sending')"
                " OR (o.status='dead' AND o.created_at>=?))) LIMIT ?", (before, dead_before, limit)).fetchall()
            for alert_id, mention_id in rows:
                conn.execute("DELETE FROM delivery WHERE outbox_id IN (SELECT id FROM outbox WHERE alert_id=?)",
                             (alert_id,))
                conn.execute("DELETE FROM outbox WHERE alert_id=?", (alert_id,))
                conn.execute("DELETE FROM alert WHERE id=?", (alert_id,))
                conn.execute("DELETE FROM mention WHERE id=? AND NOT EXISTS (SELECT 1 FROM alert WHERE mention_id=?)",
                             (mention_id, mention_id))
        return len(rows)

    def _prune_tallies(self, before: float) -> int:
        """Hours of sends older than the history kept, and tally rows whose alerts were all answered (a few rows an
        hour: each run takes them all)."""
        with self._write() as conn:
            return (conn.execute("DELETE FROM sent_hour WHERE hour<?", (int(before // 3600),)).rowcount
                    + conn.execute("DELETE FROM open_hour WHERE n<=0").rowcount)

    def _delete(self, sql: str, before: float, limit: int) -> int:
        with self._write() as conn:
            return conn.execute(sql, (before, limit)).rowcount
