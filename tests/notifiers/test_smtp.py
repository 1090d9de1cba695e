"""SMTP notifier against real aiosmtpd servers on 127.0.0.1 (see tests/servers/smtp.py)."""
from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitor import registry
from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.models import Alert
from monitor.notifiers.base import sample_alert
from monitor.notifiers.smtp import SUBJECT_LIMIT, SmtpConfig, SmtpNotifier, message_id
from monitor.store import idempotency_key
from tests.servers import smtp as servers
from tests.servers.ports import free_port
from tests.servers.smtp import PASSWORD, USERNAME, Received, SmtpServers

smtp_servers = servers.smtp_servers  # real aiosmtpd servers for the session (shared fixtures live in tests/servers)

# the SMTPS server allows AUTH without STARTTLS: its whole session is TLS, which aiosmtpd cannot tell
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

HOSTILE = "@room <!channel> @everyone <script>alert(1)</script> <b>bold</b> & done"


def alert_with(text: str = HOSTILE, title: str = "Acme login broken again") -> Alert:
    base = sample_alert()
    post = replace(base.mention.post, text=text, title=title)
    return replace(base, id=uuid.uuid4().hex[:20], mention=replace(base.mention, post=post))


def notifier(servers: SmtpServers, **overrides: Any) -> SmtpNotifier:
    raw = {"type": "smtp", "host": "127.0.0.1", "port": servers.starttls_port, "security": "starttls",
           "username": USERNAME, "password": PASSWORD, "from": "Brand Monitor <alerts@example.com>",
           "to": ["support@example.com", "On-call <oncall@example.com>"], "ca_file": str(servers.ca_file),
           "timeout": "5s", **overrides}
    return SmtpNotifier("mail", SmtpConfig.model_validate({k: v for k, v in raw.items() if v is not None}))


def key() -> str:
    return uuid.uuid4().hex


def only(servers: SmtpServers, msg_id: str) -> Received:
    found = servers.handler.by_message_id(msg_id)
    assert len(found) == 1, f"expected one message {msg_id}, got {len(found)}"
    return found[0]


def parts(received: Received) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in received.message.iter_parts()}


# --- delivery ---------------------------------------------------------------------------------------------------

async def test_starttls_with_auth_delivers_text_and_escaped_html(smtp_servers: SmtpServers) -> None:
    k = key()
    delivery = await notifier(smtp_servers).send(alert_with(), k)

    assert delivery.remote_id == f"<{k}@brand-monitor>" and delivery.status_code == 250
    got = only(smtp_servers, delivery.remote_id)
    assert got.mail_from == "alerts@example.com"
    assert got.rcpt_tos == ["support@example.com", "oncall@example.com"]
    msg = got.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == "Brand Monitor <alerts@example.com>"
    assert msg["To"] == "support@example.com, On-call <oncall@example.com>"
    assert msg["Subject"] == "[brand-monitor] High · Acme · outage · urgent: Acme login broken again"
    assert msg["Auto-Submitted"] == "auto-generated"
    body = parts(got)
    assert HOSTILE in body["text/plain"] and "Drafted reply:" in body["text/plain"]
    html = body["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt; &amp; done" in html
    assert "<script" not in html and "<b>bold" not in html
    assert '<a href="https://example.com/posts/1">' in html


async def test_implicit_tls_with_auth_delivers(smtp_servers: SmtpServers) -> None:
    delivery = await notifier(smtp_servers, security="tls", port=smtp_servers.tls_port).send(alert_with(), key())
    assert only(smtp_servers, delivery.remote_id).message.get_content_type() == "multipart/alternative"


async def test_plain_local_relay_delivers(smtp_servers: SmtpServers) -> None:
    mail = notifier(smtp_servers, security="none", port=smtp_servers.plain_port, username=None, password=None,
                    ca_file=None)
    delivery = await mail.send(alert_with(), key())
    assert only(smtp_servers, delivery.remote_id).rcpt_tos == ["support@example.com", "oncall@example.com"]


@pytest.mark.parametrize(("security", "cause"), [
    ("starttls", "SMTP STARTTLS extension not supported by server. (the server offers no STARTTLS"),
    ("tls", "TLS handshake failed ("),
])
async def test_a_relay_without_tls_is_a_permanent_error_that_names_the_cause(smtp_servers: SmtpServers,
                                                                              security: str, cause: str) -> None:
    mail = notifier(smtp_servers, security=security, port=smtp_servers.plain_port)
    with pytest.raises(PermanentError) as info:
        await mail.send(alert_with(), key())
    assert str(info.value).startswith(f"smtp notifier 'mail': {cause}"), str(info.value)
    assert PASSWORD not in str(info.value)


async def test_message_id_is_stable_across_retries(smtp_servers: SmtpServers) -> None:
    alert = alert_with()
    mail, k = notifier(smtp_servers), idempotency_key(alert.id, "mail")  # the key the outbox gives the worker
    first = await mail.send(alert, k)
    second = await mail.send(alert, k)
    other = await mail.send(alert_with(), key())

    assert first.remote_id == second.remote_id == f"<{k}@brand-monitor>" != other.remote_id
    assert len(smtp_servers.handler.by_message_id(first.remote_id)) == 2  # e-mail cannot dedupe; clients can


async def test_crlf_in_the_title_injects_no_header_and_no_body(smtp_servers: SmtpServers) -> None:
    title = "Refund?\r\nBcc: victim@evil.example\r\n\r\n<html>injected\u2028X-Evil: 1\x85Y"
    delivery = await notifier(smtp_servers).send(alert_with(title=title), key())

    got = only(smtp_servers, delivery.remote_id)
    assert got.rcpt_tos == ["support@example.com", "oncall@example.com"]
    headers = got.raw.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0].lower() for line in headers.split("\r\n") if line and not line[0].isspace()]
    assert "bcc" not in names and "x-evil" not in names and names.count("subject") == 1
    subject = got.message["Subject"]
    assert subject == ("[brand-monitor] High · Acme · outage · urgent: "
                       "Refund? Bcc: victim@evil.example <html>injected X-Evil: 1Y")  # NEL (\x85) is dropped
    assert "<html>injected" not in parts(got)["text/html"]


async def test_bidi_controls_cannot_reverse_what_the_subject_and_body_show(smtp_servers: SmtpServers) -> None:
    """U+202E would render "invoice-\u202egnp.exe" as "invoice-exe.png" in the mail client."""
    title = "invoice-\u202egnp.exe \u2066isolated\u2069 \u202aembedded\u202c"
    delivery = await notifier(smtp_servers).send(alert_with(title=title), key())
    got = only(smtp_servers, delivery.remote_id)
    assert got.message["Subject"].endswith(": invoice-gnp.exe isolated embedded")
    for body in parts(got).values():
        assert not any(ch in body for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


async def test_subject_is_capped(smtp_servers: SmtpServers) -> None:
    delivery = await notifier(smtp_servers).send(alert_with(title="very long " * 500), key())
    subject = only(smtp_servers, delivery.remote_id).message["Subject"]
    assert "\n" not in subject and subject.endswith("…")
    # Python's header folder leaves a space before a folded encoded word: unfolding shows it doubled
    assert len(" ".join(subject.split())) == SUBJECT_LIMIT


# --- errors -----------------------------------------------------------------------------------------------------

async def test_wrong_password_is_auth_failed(smtp_servers: SmtpServers) -> None:
    with pytest.raises(AuthFailedError) as caught:
        await notifier(smtp_servers, password="wrong-password-123").send(alert_with(), key())
    assert "535" in str(caught.value) and "wrong-password-123" not in str(caught.value)


async def test_plain_text_to_a_server_requiring_starttls_is_permanent(smtp_servers: SmtpServers) -> None:
    mail = notifier(smtp_servers, security="none", username=None, password=None)
    with pytest.raises(PermanentError) as caught:
        await mail.send(alert_with(), key())
    assert "530" in str(caught.value) and not isinstance(caught.value, AuthFailedError)


async def test_untrusted_certificate_is_permanent(smtp_servers: SmtpServers) -> None:
    with pytest.raises(PermanentError, match="certificate is not trusted"):
        await notifier(smtp_servers, ca_file=None).send(alert_with(), key())


@pytest.mark.parametrize("to, kind, code", [("tempfail@example.com", TransientError, "451"),
                                            ("reject@example.com", PermanentError, "550")])
async def test_refused_recipient(smtp_servers: SmtpServers, to: str, kind: type, code: str) -> None:
    with pytest.raises(kind) as caught:
        await notifier(smtp_servers, to=[to]).send(alert_with(), key())
    assert type(caught.value) is kind and code in str(caught.value)


async def test_some_recipients_refused_still_delivers_to_the_rest(smtp_servers: SmtpServers) -> None:
    with capture_logs() as logs:
        delivery = await notifier(smtp_servers, to=["support@example.com", "reject@example.com"]).send(
            alert_with(), key())
    assert only(smtp_servers, delivery.remote_id).rcpt_tos == ["support@example.com"]
    assert [(e["event"], e["codes"]) for e in logs] == [("smtp_recipients_refused", [550])]


async def test_nothing_listening_is_transient() -> None:
    mail = SmtpNotifier("mail", SmtpConfig.model_validate({
        "type": "smtp", "host": "127.0.0.1", "port": free_port(), "security": "none", "from": "a@example.com",
        "to": "b@example.com"}))
    with pytest.raises(TransientError) as caught:
        await mail.send(alert_with(), key())
    assert not isinstance(caught.value, RateLimitedError)


# --- config and pure parts --------------------------------------------------------------------------------------

def test_config_through_the_registry_with_a_password_file(tmp_path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    plugin = registry.lookup(registry.NOTIFIERS, "smtp")
    cfg = plugin.config_model.model_validate({"type": "smtp", "host": "smtp.example.com", "username": "u",
                                              "password_file": str(tmp_path / "pw"), "from": "a@example.com",
                                              "to": "b@example.com"})
    assert cfg.password.get_secret_value() == "s3cret" and cfg.to == ["b@example.com"]
    assert cfg.effective_port == 587 and cfg.security == "starttls"
    assert "s3cret" not in repr(cfg)


@pytest.mark.parametrize("overrides", [
    {"to": ["ok@example.com", "x@example.com\r\nBcc: y@example.com"]},
    {"to": ["not-an-address"]},
    {"to": []},
    {"from": "Name <nobody>"},
    {"security": "none"},                          # a password in clear text to a remote host
    {"password": None},                            # a username without a password
    {"ca_file": "/nonexistent/ca.pem"},
    {"security": "ssl"},
])
def test_config_rejects(overrides: dict) -> None:
    raw = {"type": "smtp", "host": "smtp.example.com", "username": "u", "password": "p", "from": "a@example.com",
           "to": ["b@example.com"], **overrides}
    with pytest.raises(ValueError):
        SmtpConfig.model_validate({k: v for k, v in raw.items() if v is not None})


def test_message_id_uses_the_key_or_a_stable_hash() -> None:
    assert message_id("3f2a9c") == "<3f2a9c@brand-monitor>"
    odd = message_id("alert 1 <x>@y")
    assert odd == message_id("alert 1 <x>@y") != message_id("alert 2 <x>@y")
    assert odd.startswith("<") and odd.endswith("@brand-monitor>") and " " not in odd and odd.count("@") == 1
