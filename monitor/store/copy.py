"""`brand-monitor migrate --from state.db --to postgresql://...`: move an install's history to another store, so
switching backends re-alerts no old post and loses no queued delivery or acknowledgement."""
from __future__ import annotations

from .base import Store
from .connection import StoreError

# parents before children (foreign keys); daemons and leases are not copied: they belong to running processes
# (open_hour fills itself from the alerts copied; sent_hour does not, as rows arrive already sent)
TABLES = ("source_state", "post", "mention", "alert", "outbox", "delivery", "incident", "listener_state", "sent_hour")
BATCH = 1000


def copy_store(source: Store, target: Store) -> dict[str, int]:
    """Copy every row of TABLES into an empty, migrated target; returns rows copied per table."""
    source.migrate()
    if target.migrate() != source.schema_version():
        raise StoreError(target.name, f"schema {target.schema_version()} differs from the source's "
                                      f"{source.schema_version()}: upgrade brand-monitor first")
    if any(target._read(f"SELECT 1 FROM {table} LIMIT 1").fetchone() for table in TABLES):
        raise StoreError(target.name, "is not empty: copying into it could mix two installs' histories")
    copied = {}
    for table in TABLES:
        rows = source._read(f"SELECT * FROM {table}")
        columns = [c[0] for c in rows.description]
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        copied[table] = 0
        while chunk := rows.fetchmany(BATCH):
            with target._write() as conn:
                conn.executemany(insert, [tuple(r) for r in chunk])
            copied[table] += len(chunk)
    target.ids_copied(TABLES)
    return copied
