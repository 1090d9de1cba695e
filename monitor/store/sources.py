"""Source state: cursors, validators, backoff and parking, one row per source."""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from ..sources.base import SourceState
from .connection import Connection, Transaction

_STATE_COLUMNS = [f.name for f in fields(SourceState)]


class Sources(Connection):
    def load_source_state(self, source_id: str) -> SourceState:
        row = self._read("SELECT * FROM source_state WHERE source_id=?", (source_id,)).fetchone()
        return state_from_row(row) if row else SourceState(source_id=source_id)

    def source_states(self) -> list[SourceState]:
        return [state_from_row(r) for r in self._read("SELECT * FROM source_state ORDER BY source_id")]

    def save_source_state(self, state: SourceState) -> None:
        with self._write() as conn:
            upsert_state(conn, state)


def state_from_row(row: Any) -> SourceState:
    values = {c: row[c] for c in _STATE_COLUMNS}
    values["parked"] = bool(values["parked"])
    return SourceState(**values)


def upsert_state(conn: Transaction, state: SourceState) -> None:
    values = asdict(state)
    values["parked"] = int(state.parked)
    updates = ", ".join(f"{c}=excluded.{c}" for c in _STATE_COLUMNS[1:])
    conn.execute(f"INSERT INTO source_state ({', '.join(_STATE_COLUMNS)}) VALUES ({', '.join('?' * len(values))})"
                 f" ON CONFLICT (source_id) DO UPDATE SET {updates}", [values[c] for c in _STATE_COLUMNS])
