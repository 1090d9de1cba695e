"""The transactional outbox: one row per alert and destination, claimed with a lease, fenced by its token."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ..models import Alert, Send
from .connection import Connection, Transaction


@dataclass(frozen=True)
class OutboxRow:
    """One claimed delivery: a single alert, or (for a digest route) every due alert of its batch."""
    ids: tuple[int, ...]
    alert_ids: tuple[str, ...]
    notifier_id: str
    attempts: int
    lease_token: str
    created_at: float
    payloads: tuple[str, ...]
    batch: str | None = None
    note: str | None = None

    @property
    def alert_id(self) -> str:
        return self.alert_ids[0] if len(self.alert_ids) == 1 else f"{self.alert_ids[0]}+{len(self.alert_ids) - 1}"

    @property
    def idempotency_key(self) -> str:
        return idempotency_key("\0".join(self.alert_ids), self.notifier_id)

    def alert(self) -> Alert:
        alerts = [Alert.from_dict(json.loads(p)) for p in self.payloads]
        if self.batch is None:
            return replace(alerts[0], escalation=self.note or "")
        from ..routing.digest import digest_alert
        return digest_alert(alerts, datetime.now(timezone.utc))


def idempotency_key(alert_id: str, notifier_id: str) -> str:
    return hashlib.sha256(f"{alert_id}\0{notifier_id}".encode()).hexdigest()[:32]


class Outbox(Connection):
    def claim(self, notifier_id: str, now: float, lease: float) -> OutboxRow | None:
        """Lease the oldest due row for one destination (pending and due, or sending with an expired lease);
        a row of a batch brings every due row of that batch with it. Rows another daemon is claiming right now
        are skipped (PostgreSQL), not waited for."""
        token = uuid.uuid4().hex
        with self._write() as conn:
            first = conn.execute(
                "UPDATE outbox SET status='sending', attempts=attempts+1, lease_until=?, lease_token=?"
                f" WHERE id = ({self.dialect.first_due_outbox_row}) RETURNING id, alert_id, attempts, created_at,"
                " batch, note", (now + lease, token, notifier_id, now, notifier_id, now)).fetchone()
            if first is None:
                return None
            rows = [first]
            if first["batch"] is not None:
                rows += conn.execute(
                    "UPDATE outbox SET status='sending', attempts=attempts+1, lease_until=?, lease_token=?"
                    " WHERE id IN (SELECT id FROM outbox WHERE notifier_id=? AND batch=? AND id<>? AND"
                    "   ((status='pending' AND next_attempt_at<=?) OR (status='sending' AND lease_until<?))"
                    f"   {self.dialect.skip_locked}) RETURNING id, alert_id, attempts, created_at, batch",
                    (now + lease, token, notifier_id, first["batch"], first["id"], now, now)).fetchall()
                rows.sort(key=lambda r: r["id"])
            payloads = [conn.execute("SELECT payload FROM alert WHERE id=?", (r["alert_id"],)).fetchone()[0]
                        for r in rows]
        return OutboxRow(ids=tuple(r["id"] for r in rows), alert_ids=tuple(r["alert_id"] for r in rows),
                         notifier_id=notifier_id, attempts=max(r["attempts"] for r in rows), lease_token=token,
                         created_at=min(r["created_at"] for r in rows), payloads=tuple(payloads),
                         batch=first["batch"], note=first["note"])

    def thread_parent(self, notifier_id: str, thread: str) -> str | None:
        """This destination's id (e.g. Slack ts) of the first delivered message of a thread."""
        row = self._read(
            "SELECT d.remote_id FROM alert a JOIN outbox o ON o.alert_id=a.id JOIN delivery d ON d.outbox_id=o.id"
            " WHERE a.thread=? AND o.notifier_id=? AND d.outcome='sent' AND d.remote_id IS NOT NULL"
            " ORDER BY d.at LIMIT 1", (thread, notifier_id)).fetchone()
        return row[0] if row else None

    def next_due_at(self, notifier_id: str) -> float | None:
        return self._read(
            "SELECT MIN(CASE status WHEN 'pending' THEN next_attempt_at ELSE lease_until END) FROM outbox"
            " WHERE notifier_id=? AND status IN ('pending','sending')", (notifier_id,)).fetchone()[0]

    def mark_sent(self, row: OutboxRow, now: float, status_code: int | None, remote_id: str | None) -> bool:
        """Record success; False when our lease was lost (another sender took the row over)."""
        with self._write() as conn:
            cur = conn.execute("UPDATE outbox SET status='sent', sent_at=?, lease_until=NULL, last_error=NULL"
                               f" WHERE id IN ({_marks(row)}) AND lease_token=?", (now, *row.ids, row.lease_token))
            _log_attempt(conn, row, now, "sent", status_code, remote_id, None)
        return cur.rowcount == len(row.ids)

    def mark_retry(self, row: OutboxRow, now: float, next_attempt_at: float, error: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE outbox SET status='pending', next_attempt_at=?, lease_until=NULL, last_error=?"
                         f" WHERE id IN ({_marks(row)}) AND lease_token=?",
                         (next_attempt_at, error, *row.ids, row.lease_token))
            _log_attempt(conn, row, now, "retry", None, None, error)

    def mark_dead(self, row: OutboxRow, now: float, error: str, fallback: str | None) -> None:
        """Dead-letter the row; queue the alert for the fallback destination, if there is one."""
        with self._write() as conn:
            conn.execute(f"UPDATE outbox SET status='dead', lease_until=NULL, last_error=? WHERE id IN ({_marks(row)})"
                         " AND lease_token=?", (error, *row.ids, row.lease_token))
            _log_attempt(conn, row, now, "dead", None, None, error)
            for alert_id in row.alert_ids if fallback else ():
                queue(conn, alert_id, fallback, now)

    def recover_in_flight(self) -> int:
        """At start-up (with the store locked) rows left 'sending' belong to a process that died: make
        them due now instead of waiting for their leases to expire."""
        with self._write() as conn:
            cur = conn.execute("UPDATE outbox SET status='pending', lease_until=NULL, next_attempt_at=0"
                               " WHERE status='sending'")
        return cur.rowcount

    def release(self, row: OutboxRow) -> None:
        """Give a claimed but unsent row back (graceful stop), without counting the attempt."""
        with self._write() as conn:
            conn.execute("UPDATE outbox SET status='pending', attempts=attempts-1, lease_until=NULL"
                         f" WHERE id IN ({_marks(row)}) AND lease_token=? AND status='sending'",
                         (*row.ids, row.lease_token))


def queue(conn: Transaction, alert_id: str, notifier_id: str, now: float, send: Send = Send(),
          note: str | None = None, key: str | None = None) -> int:
    cur = conn.execute(
        "INSERT INTO outbox (idempotency_key, alert_id, notifier_id, status, next_attempt_at, created_at, batch, note)"
        " VALUES (?,?,?,'pending',?,?,?,?) ON CONFLICT (idempotency_key) DO NOTHING",
        (idempotency_key(key or alert_id, notifier_id), alert_id, notifier_id, max(now, send.not_before), now,
         send.batch, note))
    return cur.rowcount


def _marks(row: OutboxRow) -> str:
    return ",".join("?" * len(row.ids))


def _log_attempt(conn: Transaction, row: OutboxRow, now: float, outcome: str, status_code: int | None,
                 remote_id: str | None, detail: str | None) -> None:
    conn.executemany("INSERT INTO delivery (outbox_id, attempt, at, outcome, status_code, remote_id, detail)"
                     " VALUES (?,?,?,?,?,?,?)", [(i, row.attempts, now, outcome, status_code, remote_id, detail)
                                                  for i in row.ids])
