"""Daemons and leases: which daemon polls which source and runs which timer, and who is still alive.

A lease is taken with one upsert that succeeds only when the lease is free, expired or already ours, so two
daemons can never both hold it; the holder renews all its leases with its heartbeat, and they expire when it dies.
"""
from __future__ import annotations

from typing import Any

from .connection import Connection


class Daemons(Connection):
    def register_daemon(self, daemon_id: str, host: str, pid: int, now: float) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO daemon (id, host, pid, started_at, heartbeat_at) VALUES (?,?,?,?,?)",
                         (daemon_id, host, pid, now, now))

    def heartbeat(self, daemon_id: str, now: float, lease: float) -> list[str]:
        """This daemon is alive: renew every lease it still holds for another `lease` seconds; their names."""
        with self._write() as conn:
            conn.execute("UPDATE daemon SET heartbeat_at=? WHERE id=?", (now, daemon_id))
            return [row[0] for row in conn.execute("UPDATE lease SET until=? WHERE holder=? AND until>=? RETURNING name",
                                                   (now + lease, daemon_id, now)).fetchall()]

    def take_lease(self, name: str, daemon_id: str, now: float, lease: float) -> bool:
        """Hold `name` for `lease` seconds: True when it was free, expired or already ours."""
        with self._write() as conn:
            row = conn.execute(
                "INSERT INTO lease (name, holder, until, since) VALUES (?,?,?,?) ON CONFLICT (name) DO UPDATE"
                " SET holder=excluded.holder, until=excluded.until,"
                " since=CASE WHEN lease.holder=excluded.holder THEN lease.since ELSE excluded.since END"
                " WHERE lease.holder=excluded.holder OR lease.until<? RETURNING holder",
                (name, daemon_id, now + lease, now, now)).fetchone()
        return row is not None

    def lease_census(self, now: float, lease: float) -> tuple[int, int]:
        """(daemons alive, source leases held): each daemon's fair share. A live daemon beats every lease/3, so one
        silent for lease/2 is not counted: a dead one must not be handed sources it would never poll."""
        live = self._read("SELECT COUNT(*) FROM daemon WHERE stopped_at IS NULL AND heartbeat_at>=?",
                          (now - lease / 2,)).fetchone()[0]
        held = self._read("SELECT COUNT(*) FROM lease WHERE name LIKE 'source:%' AND until>=?", (now,)).fetchone()[0]
        return live, held

    def release_leases(self, daemon_id: str, names: list[str]) -> None:
        """Give these leases up now (another daemon takes them at its next try)."""
        with self._write() as conn:
            conn.executemany("DELETE FROM lease WHERE name=? AND holder=?", [(name, daemon_id) for name in names])

    def stop_daemon(self, daemon_id: str, now: float) -> None:
        """A graceful stop: give every lease back at once, so the others need not wait for them to expire."""
        with self._write() as conn:
            conn.execute("DELETE FROM lease WHERE holder=?", (daemon_id,))
            conn.execute("UPDATE daemon SET stopped_at=? WHERE id=?", (now, daemon_id))

    def daemons(self, since: float) -> list[dict[str, Any]]:
        """Daemons that beat since `since` or still hold a lease, with what each holds, for `status`."""
        leases: dict[str, list[str]] = {}
        for name, holder, until in self._read("SELECT name, holder, until FROM lease ORDER BY name"):
            leases.setdefault(holder, []).append(name)
        return [{"id": r[0], "host": r[1], "pid": r[2], "started_at": r[3], "heartbeat_at": r[4], "stopped_at": r[5],
                 "holds": leases.get(r[0], [])} for r in self._read(
            "SELECT id, host, pid, started_at, heartbeat_at, stopped_at FROM daemon WHERE heartbeat_at>=? OR id IN"
            " (SELECT holder FROM lease) ORDER BY started_at", (since,))]
