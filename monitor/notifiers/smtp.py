"""E-mail over SMTP (aiosmtplib): one multipart/alternative message (plain text + escaped HTML) per alert.

E-mail has no server-side idempotency; the Message-ID is derived from the idempotency key, so a rare duplicate
after a timeout carries the same Message-ID and many clients and list servers collapse it.
"""
from __future__ import annotations

import hashlib
import html
import re
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Annotated, Literal

import aiosmtplib
import structlog
from pydantic import BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator

from .. import registry
from ..errors import AuthFailedError, ExternalError, PermanentError, TransientError
from ..http import redact
from ..models import Alert, Delivery, utc
from ..settings import NotifierConfig
from .format import AlertView, clean, one_line, plain_text, view

log = structlog.get_logger()

SUBJECT_LIMIT = 200
EXCERPT_LIMIT, REPLY_LIMIT = 10_000, 3_000  # mail is read, not skimmed: show more of the post than chat does
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def mailbox(value: str) -> Address:
    """'Name <user@host>' or 'user@host' as an Address; raises ValueError for anything else (no CR/LF ever)."""
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError("an address may not contain line breaks")
    name, spec = parseaddr(value)
    if "@" not in spec:
        raise ValueError(f"not an e-mail address: {value!r}")
    try:
        return Address(display_name=name, addr_spec=spec)
    except (ValueError, IndexError) as exc:  # header parsing defects surface as ValueError subclasses
        raise ValueError(f"not an e-mail address: {value!r} ({exc})") from None


def _check_mailbox(value: str) -> str:
    mailbox(value)
    return value.strip()


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Mailbox = Annotated[str, BeforeValidator(lambda v: _check_mailbox(v) if isinstance(v, str) else v)]


class SmtpConfig(NotifierConfig):
    model_config = ConfigDict(populate_by_name=True)

    type: Literal["smtp"]
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_: Mailbox = Field(alias="from")
    to: Annotated[list[Mailbox], BeforeValidator(_as_list)] = Field(min_length=1)
    subject_prefix: str = "[brand-monitor]"
    ca_file: str | None = None

    @field_validator("subject_prefix")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return one_line(clean(value), 60)

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password (password_file), or neither")
        if self.username is not None and self.security == "none" and self.host not in _LOOPBACK:
            raise ValueError("security: none would send the password in clear text; use starttls or tls")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


def message_id(idempotency_key: str) -> str:
    """`<key@brand-monitor>`; a key that is not valid there is hashed (the result is just as stable)."""
    left = idempotency_key if _DOT_ATOM.fullmatch(idempotency_key) and len(idempotency_key) <= 64 else (
        hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40])
    return f"<{left}@brand-monitor>"


def subject(prefix: str, v: AlertView) -> str:
    """One line, whatever the post contains: no CR/LF can reach the header, and it is capped."""
    return one_line(clean(f"{prefix} {v.heading}: {v.title or v.excerpt}"), SUBJECT_LIMIT)


def html_document(v: AlertView) -> str:
    def esc(text: str) -> str:
        return html.escape(text, quote=True).replace("\n", "<br>\n")

    parts = [f"<p><b>{esc(v.emoji)} {esc(v.heading)}</b></p>"]
    if v.title:
        parts.append(f"<h3>{esc(v.title)}</h3>")
    if v.excerpt:
        parts.append(f'<blockquote style="border-left:3px solid #ccc;margin:0;padding-left:1em">'
                     f"{esc(v.excerpt)}</blockquote>")
    rows = "".join(f'<tr><td style="padding-right:1em"><b>{esc(label)}</b></td><td>{esc(value)}</td></tr>'
                   for label, value in v.facts() if label != "Severity")
    parts.append(f"<table>{rows}</table>")
    if v.url:
        parts.append(f'<p><a href="{esc(v.url)}">Open the post</a></p>')
    if v.reply:
        parts.append(f"<p><b>{v.reply_label}:</b><br>\n{esc(v.reply)}</p>")
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def build_message(alert: Alert, idempotency_key: str, config: SmtpConfig) -> EmailMessage:
    v = view(alert, excerpt_limit=EXCERPT_LIMIT, reply_limit=REPLY_LIMIT)
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject(config.subject_prefix, v)
    msg["From"] = mailbox(config.from_)
    msg["To"] = [mailbox(to) for to in config.to]
    msg["Date"] = format_datetime(utc(alert.created_at))
    msg["Message-ID"] = message_id(idempotency_key)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to a bot
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(plain_text(v))
    msg.add_alternative(html_document(v), subtype="html")
    return msg


def error_for(exc: BaseException, what: str) -> ExternalError:
    """4xx replies and connection trouble retry; 5xx replies do not; a refused login needs a human."""
    if _certificate_problem(exc):
        return PermanentError(f"{what}: the server's TLS certificate is not trusted (private CA? set ca_file)")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        kind = TransientError if any(400 <= c < 500 for c in codes) else PermanentError
        return kind(f"{what}: every recipient was refused (SMTP {', '.join(map(str, codes))})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        message = f"{what}: SMTP {exc.code} {redact(one_line(clean(exc.message), 200))}"
        if (isinstance(exc, aiosmtplib.SMTPAuthenticationError) and exc.code >= 500) or exc.code == 535:
            return AuthFailedError(message)
        return PermanentError(message) if exc.code >= 500 else TransientError(message)
    detail = redact(one_line(clean(str(exc)), 200)) or type(exc).__name__
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or type(exc) is aiosmtplib.SMTPException:
        # "STARTTLS extension not supported by server", "SMTP AUTH extension not supported": asking again won't help
        hint = " (the server offers no STARTTLS: use security: tls on port 465, or a relay that offers it)" \
            if "starttls" in detail.lower() else ""
        return PermanentError(f"{what}: {detail}{hint}")
    if _tls_problem(exc):
        return PermanentError(f"{what}: TLS handshake failed ({detail}); is `security` right for this port "
                              "(tls: 465, starttls: 587)?")
    return TransientError(f"{what}: {detail}")


def _tls_problem(exc: BaseException | None) -> bool:
    return _caused_by(exc, ssl.SSLError)


def _certificate_problem(exc: BaseException | None) -> bool:
    return _caused_by(exc, ssl.SSLCertVerificationError)


def _caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    """`exc` or one of the exceptions it was raised from (ten deep at most) is a `kind`."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class SmtpNotifier:
    def __init__(self, notifier_id: str, config: SmtpConfig):
        self.id, self._config = notifier_id, config
        self._what = f"smtp notifier {notifier_id!r}"
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:  # built on first use: a factory does no I/O
            self._tls = ssl.create_default_context(cafile=self._config.ca_file)
        return self._tls

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        cfg = self._config
        msg = build_message(alert, idempotency_key, cfg)
        try:
            refused, _ = await aiosmtplib.send(
                msg, sender=mailbox(cfg.from_).addr_spec, recipients=[mailbox(to).addr_spec for to in cfg.to],
                hostname=cfg.host, port=cfg.effective_port, timeout=cfg.timeout,
                use_tls=cfg.security == "tls", start_tls=cfg.security == "starttls",
                tls_context=self._tls_context() if cfg.security != "none" else None,
                username=cfg.username, password=cfg.password.get_secret_value() if cfg.password else None)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise error_for(exc, self._what) from None  # `from None`: keep the password-bearing frames out
        if refused:
            log.warning("smtp_recipients_refused", notifier_id=self.id, alert_id=alert.id,
                        codes=sorted(r.code for r in refused.values()))
        return Delivery(notifier_id=self.id, alert_id=alert.id, status_code=250, remote_id=msg["Message-ID"])


@registry.notifier("smtp", SmtpConfig)
def make_smtp(notifier_id: str, config: SmtpConfig, ctx: registry.PluginContext) -> SmtpNotifier:
    return SmtpNotifier(notifier_id, config)
