"""A throwaway PostgreSQL cluster for the store tests: the server binaries of Debian's `postgresql` package when it
is installed, else those of the `pgserver` wheel (PostgreSQL built for pip, in the test extra), so that a fresh
machine needs nothing but `pip install -e '.[test]'`.

One cluster per test session: initdb into a fresh temporary folder, pg_ctl start on a free 127.0.0.1 port (and a
unix socket in that folder), tuned for speed (fsync off: the data is thrown away), stopped and removed at the end.
Each test that needs one gets its own empty database (`new_database()`).

initdb refuses to run as root, so as root the cluster runs as the `postgres` user (`nobody` where there is no such
user). When the binaries are missing
or the cluster does not start the fixture skips, or fails when BM_REQUIRE_SERVERS=1 (CI).
"""
from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .ports import free_port, unavailable

START_TIMEOUT = 60
SPEED_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


class PostgresUnavailable(Exception):
    """PostgreSQL cannot run here; the message says why."""


def binaries() -> Path:
    """$BM_POSTGRES_BIN, else the newest Debian server's bin folder (/usr/lib/postgresql/<version>/bin), else the
    pgserver wheel's."""
    if os.environ.get("BM_POSTGRES_BIN"):
        return Path(os.environ["BM_POSTGRES_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    spec = importlib.util.find_spec("pgserver")  # not imported: only its binaries are wanted
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable("no /usr/lib/postgresql/*/bin/pg_ctl and no pgserver wheel "
                                  "(pip install -e '.[test]', or apt-get install postgresql)")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _owner() -> str:
    """Who runs the cluster when we are root (initdb and postgres refuse root)."""
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        return "nobody"


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", _owner(), "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=START_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresUnavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise PostgresUnavailable(f"{what} failed (exit {done.returncode}):\n{tail}")


@dataclass
class Postgres:
    bin: Path
    directory: Path
    port: int
    user: str
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "stop", "-D", str(self.directory / "data"),
                                  "-m", "immediate", "-w"]), capture_output=True, timeout=START_TIMEOUT)
        shutil.rmtree(self.directory, ignore_errors=True)


def start() -> Postgres:
    bin_dir = binaries()
    directory = Path(tempfile.mkdtemp(prefix="bm-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(directory, _owner())
    data, port = directory / "data", free_port()
    server = Postgres(bin_dir, directory, port, "postgres")
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync"], "initdb")
        options = " ".join(f"-c {s}" for s in (f"port={port}", "listen_addresses=127.0.0.1",
                                                f"unix_socket_directories={directory}", *SPEED_SETTINGS))
        _run([str(bin_dir / "pg_ctl"), "start", "-D", str(data), "-w", "-t", str(START_TIMEOUT),
              "-l", str(directory / "server.log"), "-o", options], "pg_ctl start")
    except PostgresUnavailable as exc:
        log = directory / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        server.stop()
        raise PostgresUnavailable(f"{exc}\n{tail}".strip()) from None
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    problem = server = None
    try:
        server = start()
    except PostgresUnavailable as exc:
        problem = f"PostgreSQL is not available: {exc}"
    if server is None:
        unavailable(problem or "PostgreSQL did not start")
    try:
        yield server
    finally:
        server.stop()
