"""Acknowledgements and escalation: who answered which alert, what to escalate, what listeners watch."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog

from ..runtime import counters
from .connection import Connection
from .outbox import queue

if TYPE_CHECKING:
    from ..routing.escalation import Window

log = structlog.get_logger()


class Acks(Connection):
    def ack(self, alert_id: str, now: float, by: str = "cli") -> bool:
        """Acknowledge an alert (stops its escalation); False when unknown or already acknowledged."""
        with self._write() as conn:
            acked = conn.execute("UPDATE alert SET acked_at=?, acked_by=? WHERE acked_at IS NULL AND (id=? OR"
                                 " thread=(SELECT thread FROM alert WHERE id=? AND thread IS NOT NULL))"
                                 " RETURNING id, created_at, severity", (now, by, alert_id, alert_id)).fetchall()
        for row in acked:
            counters.acknowledged(row[2], now - row[1])
            log.info("alert_acknowledged", alert_id=row[0], by=by, severity=row[2],
                     seconds_to_ack=round(now - row[1], 1))
        return bool(acked)

    def escalation_candidates(self, window: Window) -> list[tuple[str, float, int, tuple[str, ...]]]:
        """(alert id, created at, escalations so far, routes) of unacknowledged alerts in the window that were
        sent somewhere (a report folded into an incident was not), an incident counting once (its first notice):
        one indexed range, only the rows near due, their routes read without parsing the whole payload."""
        rows = self._read(
            f"SELECT a.id, a.created_at, a.escalations, {self.dialect.json_field('a.payload', 'routes')} FROM alert a"
            " WHERE a.acked_at IS NULL AND a.created_at>=? AND a.escalations<?"
            " AND a.created_at + ? + a.escalations * ? <= ?"
            " AND EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id=a.id)"
            f" AND (a.thread IS NULL OR a.created_at=(SELECT MIN(b.created_at) FROM alert b"
            f"   {self.dialect.indexed_by('alert_thread')} WHERE b.thread=a.thread))",
            # the hint: else SQLite may walk alert_created in order to find the minimum
            (window.since, window.rounds, window.after, window.repeat, window.now))
        return [(r[0], r[1], r[2], tuple(json.loads(r[3]))) for r in rows]

    def escalate(self, alert_id: str, round_: int, destinations: Sequence[str], note: str, now: float) -> int:
        """Queue escalation number `round_` of an alert; a no-op if that round was queued already."""
        with self._write() as conn:
            cur = conn.execute("UPDATE alert SET escalations=?, escalated_at=? WHERE id=? AND escalations=?",
                               (round_, now, alert_id, round_ - 1))
            if not cur.rowcount:
                return 0
            return sum(queue(conn, alert_id, dest, now, note=note, key=f"{alert_id}#escalation{round_}")
                       for dest in destinations)

    def open_deliveries(self, notifier_id: str, since: float) -> list[tuple[str, str]]:
        """(alert id, remote message id) of alerts delivered to this destination since `since` and not yet
        acknowledged: what an acknowledgement listener watches for reactions or button presses."""
        return [(r[0], r[1]) for r in self._read(
            "SELECT a.id, d.remote_id FROM alert a JOIN outbox o ON o.alert_id=a.id JOIN delivery d ON d.outbox_id=o.id"
            " WHERE o.notifier_id=? AND d.outcome='sent' AND d.remote_id IS NOT NULL AND a.acked_at IS NULL"
            " AND d.at>=? ORDER BY d.at", (notifier_id, since))]

    def open_alerts_for_posts(self, platform: str, post_ids: Sequence[str]) -> list[str]:
        """Unacknowledged alerts about these posts (by the platform's own post id)."""
        if not post_ids:
            return []
        marks = ",".join("?" * len(post_ids))
        rows = self._read(
            "SELECT a.id FROM post p JOIN mention m ON m.dedup_key=p.dedup_key JOIN alert a ON a.mention_id=m.id"
            f" WHERE p.platform=? AND p.post_id IN ({marks}) AND a.acked_at IS NULL", (platform, *post_ids))
        return [r[0] for r in rows]

    def alert_for_remote_id(self, notifier_id: str, remote_id: str) -> str | None:
        """The alert a destination's message id belongs to (e.g. the Matrix event a reaction points at)."""
        row = self._read(
            "SELECT o.alert_id FROM delivery d JOIN outbox o ON o.id=d.outbox_id"
            " WHERE o.notifier_id=? AND d.remote_id=? AND d.outcome='sent' LIMIT 1",
            (notifier_id, remote_id)).fetchone()
        return row[0] if row else None

    # -- acknowledgement listeners ------------------------------------------------------------------------

    def save_listener_state(self, listener: str, ok: bool, since: float, error: str | None, failures: int = 0,
                            last_ok_at: float | None = None, polled_at: float | None = None) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO listener_state (listener, ok, since, last_error, failures, last_ok_at, polled_at)"
                         " VALUES (?,?,?,?,?,?,?) ON CONFLICT (listener) DO UPDATE SET ok=excluded.ok,"
                         " since=excluded.since, last_error=excluded.last_error, failures=excluded.failures,"
                         " last_ok_at=excluded.last_ok_at, polled_at=excluded.polled_at",
                         (listener, int(ok), since, error, failures, last_ok_at, polled_at))

    def forget_listeners_except(self, listeners: Sequence[str]) -> None:
        """Drop the state of listeners no longer configured (after a start or reload)."""
        with self._write() as conn:
            if listeners:
                conn.execute(f"DELETE FROM listener_state WHERE listener NOT IN ({','.join('?' * len(listeners))})",
                             tuple(listeners))
            else:
                conn.execute("DELETE FROM listener_state")

    def listener_states(self, progress: bool = True) -> list[dict[str, Any]]:
        """Each listener's state; `progress=False` for a store older than migration 0010, without its columns."""
        columns = ["listener", "ok", "since", "last_error"]
        if progress:
            columns += ["failures", "last_ok_at", "polled_at"]
        return [dict(zip(columns, row), ok=bool(row[1])) for row in
                self._read(f"SELECT {', '.join(columns)} FROM listener_state ORDER BY listener")]
