"""A throwaway Matrix Synapse homeserver on 127.0.0.1, for the Matrix notifier tests.

Synapse comes from PyPI into a cached venv (`$BM_SYNAPSE_VENV`, default
`~/.cache/brand-monitor-tests/synapse-venv-<version>`), created on first use (~20-40 s) and reused after. Each
test session starts one server on a free loopback port with a fresh SQLite database: client API only, no
federation, no outbound connections, registration closed (users come from the shared-secret admin API).

When Synapse cannot be installed or started the fixture skips, or fails when BM_REQUIRE_SERVERS=1 (CI).
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from .ports import free_port, unavailable

SYNAPSE_VERSION = os.environ.get("BM_SYNAPSE_VERSION", "1.163.2")
INSTALL_TIMEOUT = 600.0
START_TIMEOUT = 60.0
# rc_message for every user without an override: tight, so a real 429 M_LIMIT_EXCEEDED is easy to provoke
LIMITED_RC_MESSAGE = {"per_second": 1, "burst_count": 2}


class SynapseUnavailable(Exception):
    """Synapse could not be installed or started here; the message says why."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "brand-monitor-tests"


def venv_dir() -> Path:
    return Path(os.environ.get("BM_SYNAPSE_VENV") or cache_dir() / f"synapse-venv-{SYNAPSE_VERSION}")


def ensure_venv() -> Path:
    """The venv's python, installing matrix-synapse first if needed (one installer at a time, via a lock)."""
    venv = venv_dir()
    python, marker = venv / "bin" / "python", venv / ".brand-monitor-installed"
    if marker.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)  # a half-made venv from an interrupted install
        _run([sys.executable, "-m", "venv", str(venv)], "creating the Synapse venv")
        requirement = f"matrix-synapse=={SYNAPSE_VERSION}"
        _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--retries", "2",
              "--timeout", "30", requirement], f"pip install {requirement}")
        marker.write_text(SYNAPSE_VERSION + "\n")
    return python


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SynapseUnavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-3:]
        tail = "\n".join(line if len(line) < 300 else line[:300] + " …" for line in errors[-3:])
        raise SynapseUnavailable(f"{what} failed (exit {done.returncode}):\n{tail}")


@dataclass
class Synapse:
    url: str
    directory: Path
    shared_secret: str
    process: subprocess.Popen[bytes]

    def call(self, method: str, path: str, token: str | None = None, json: Any = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(method, self.url + path, json=json, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def register(self, username: str, admin: bool = False) -> tuple[str, str]:
        """(user_id, access_token) of a new user, through the shared-secret admin API."""
        password = secrets.token_hex(12)
        nonce = self.call("GET", "/_synapse/admin/v1/register")["nonce"]
        fields = [nonce, username, password, "admin" if admin else "notadmin"]
        mac = hmac.new(self.shared_secret.encode(), "\x00".join(fields).encode(), hashlib.sha1).hexdigest()
        reply = self.call("POST", "/_synapse/admin/v1/register",
                          json={"nonce": nonce, "username": username, "password": password, "admin": admin,
                                "mac": mac})
        return reply["user_id"], reply["access_token"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        out = []
        for name in ("stdout.log", "homeserver.log"):
            path = self.directory / name
            if path.exists():
                out += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)


def write_config(directory: Path, port: int, shared_secret: str) -> Path:
    """A minimal loopback-only homeserver.yaml plus its log config and signing key."""
    (directory / "log.yaml").write_text(
        "version: 1\n"
        "formatters: {precise: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}\n"
        f"handlers: {{file: {{class: logging.FileHandler, filename: '{directory}/homeserver.log', "
        "formatter: precise}}\n"
        "root: {level: WARNING, handlers: [file]}\n"
        "disable_existing_loggers: false\n")
    # Synapse's key file format: "<algorithm> <version> <unpadded base64 seed>"
    seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    (directory / "signing.key").write_text(f"ed25519 a_test {seed}\n")
    generous = "{per_second: 1000, burst_count: 1000}"
    config = f"""
server_name: "localhost"
public_baseurl: "http://127.0.0.1:{port}/"
pid_file: "{directory}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args: {{database: "{directory}/homeserver.db"}}
log_config: "{directory}/log.yaml"
media_store_path: "{directory}/media_store"
signing_key_path: "{directory}/signing.key"
registration_shared_secret: "{shared_secret}"
macaroon_secret_key: "{secrets.token_hex(24)}"
form_secret: "{secrets.token_hex(24)}"
report_stats: false
enable_metrics: false
enable_registration: false
federation_domain_whitelist: []
trusted_key_servers: []
suppress_key_server_warning: true
presence: {{enabled: false}}
url_preview_enabled: false
bcrypt_rounds: 4
rc_message: {{per_second: {LIMITED_RC_MESSAGE['per_second']}, burst_count: {LIMITED_RC_MESSAGE['burst_count']}}}
rc_login:
  address: {generous}
  account: {generous}
  failed_attempts: {generous}
rc_registration: {generous}
rc_room_creation: {generous}
rc_invites:
  per_room: {generous}
  per_user: {generous}
  per_issuer: {generous}
rc_joins:
  local: {generous}
  remote: {generous}
"""
    path = directory / "homeserver.yaml"
    path.write_text(config)
    return path


def start(directory: Path) -> Synapse:
    python = ensure_venv()
    port, shared_secret = free_port(), secrets.token_hex(24)
    config = write_config(directory, port, shared_secret)
    with open(directory / "stdout.log", "wb") as out:
        process = subprocess.Popen([str(python), "-m", "synapse.app.homeserver", "-c", str(config)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=directory, start_new_session=True)
    server = Synapse(f"http://127.0.0.1:{port}", directory, shared_secret, process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SynapseUnavailable(f"Synapse exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/_matrix/client/versions", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise SynapseUnavailable(f"Synapse did not answer within {START_TIMEOUT:g}s:\n{server.log_tail()}")


@dataclass(frozen=True)
class MatrixWorld:
    """Users and rooms on the test homeserver.

    bot: posts alerts into `room_id`; not rate limited. reader: a second member of that room, to see pings.
    limited: has the server's tight rc_message and its own room `limited_room_id`.
    outsider: not a member of `room_id`; not rate limited.
    """
    server: Synapse
    bot_user: str
    bot_token: str
    room_id: str
    reader_user: str
    reader_token: str
    limited_user: str
    limited_token: str
    limited_room_id: str
    outsider_token: str

    @property
    def url(self) -> str:
        return self.server.url

    def room_path(self, room_id: str | None = None) -> str:
        return f"/_matrix/client/v3/rooms/{quote(room_id or self.room_id, safe='')}"


def build_world(server: Synapse) -> MatrixWorld:
    _, admin_token = server.register("admin", admin=True)
    bot_user, bot_token = server.register("alerts-bot")
    reader_user, reader_token = server.register("reader")
    outsider_user, outsider_token = server.register("outsider")
    for user in (bot_user, reader_user, outsider_user):  # 0/0 switches rate limiting off for that user
        server.call("POST", f"/_synapse/admin/v1/users/{quote(user)}/override_ratelimit", admin_token,
                    json={"messages_per_second": 0, "burst_count": 0})
    room_id = server.call("POST", "/_matrix/client/v3/createRoom", bot_token,
                          json={"preset": "private_chat", "name": "brand-alerts", "invite": [reader_user]})["room_id"]
    server.call("POST", f"/_matrix/client/v3/join/{quote(room_id, safe='')}", reader_token, json={})
    limited_user, limited_token = server.register("limited-bot")
    limited_room = server.call("POST", "/_matrix/client/v3/createRoom", limited_token,
                               json={"preset": "private_chat", "name": "limited"})["room_id"]
    return MatrixWorld(server, bot_user, bot_token, room_id, reader_user, reader_token, limited_user,
                       limited_token, limited_room, outsider_token)


@pytest.fixture(scope="session")
def synapse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    problem = server = None
    try:
        server = start(tmp_path_factory.mktemp("synapse"))
    except SynapseUnavailable as exc:
        problem = f"Matrix Synapse is not available: {exc}"
    if server is None:
        unavailable(problem or "Matrix Synapse did not start")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def matrix_world(synapse_server: Synapse) -> MatrixWorld:
    return build_world(synapse_server)
