"""Real SMTP servers on 127.0.0.1 (aiosmtpd): STARTTLS, implicit TLS and plain, with AUTH and scripted refusals.

A self-signed certificate for `localhost` / `127.0.0.1` is made at test time (the `cryptography` package); its
PEM is the CA file a client must be given to trust the servers. Recipients whose local part starts with
`tempfail` get `451 4.3.0`, those starting with `reject` get `550 5.1.1`: real SMTP replies from a real server.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .ports import free_port

USERNAME, PASSWORD = "monitor", "correct horse battery staple"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem): self-signed, valid for DNS:localhost and IP:127.0.0.1 for two days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class RecordingHandler:
    """Keeps every accepted message; refuses scripted recipients with real SMTP replies."""
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 2.0.0 Message accepted for delivery"

    def by_message_id(self, message_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.message["Message-ID"] == message_id]


def authenticate(server, session, envelope, mechanism: str, auth_data) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class SmtpServers:
    handler: RecordingHandler
    ca_file: Path
    starttls_port: int   # STARTTLS required before MAIL; AUTH required (only over TLS)
    tls_port: int        # implicit TLS (SMTPS); AUTH required
    plain_port: int      # no TLS, no AUTH: a local relay


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="session")
def smtp_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServers]:
    cert, key = make_certificate(tmp_path_factory.mktemp("smtp-tls"))
    handler = RecordingHandler()
    ports = free_port(), free_port(), free_port()
    common = dict(hostname="127.0.0.1", server_hostname="localhost", authenticator=authenticate)
    controllers = [
        Controller(handler, port=ports[0], tls_context=_server_context(cert, key), require_starttls=True,
                   auth_required=True, **common),
        Controller(handler, port=ports[1], ssl_context=_server_context(cert, key), auth_required=True,
                   auth_require_tls=False, **common),  # the whole session is TLS; aiosmtpd only knows STARTTLS
        Controller(handler, port=ports[2], **common),
    ]
    started = []
    try:
        for controller in controllers:
            controller.start()
            started.append(controller)
        yield SmtpServers(handler, cert, *ports)
    finally:
        for controller in started:
            controller.stop()
