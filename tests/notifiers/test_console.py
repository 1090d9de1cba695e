"""The console notifier: readable, complete, and safe for a terminal."""
from __future__ import annotations

import io

from monitor.notifiers.console import ConsoleConfig, ConsoleNotifier, make_console


async def test_prints_a_readable_alert(alert):
    out = io.StringIO()
    delivery = await ConsoleNotifier("console", ConsoleConfig(type="console"), out).send(alert, "k")
    text = out.getvalue()
    assert delivery.notifier_id == "console" and delivery.alert_id == alert.id
    assert "\x1b" not in text  # not a terminal: no colour
    for needle in ("🔴 HIGH · Acme · outage · urgent", "respond by", "Acme login broken again", "😠 negative (-0.80)",
                   "Jane Doe (@jane_doe) · 1,520 followers", 'matched "Acme" exact 100',
                   "https://example.com/posts/1", "Drafted reply:", "Hi Jane"):
        assert needle in text
    assert max(len(line) for line in text.splitlines() if "│" in line) <= 100


async def test_colour_when_asked_and_post_cannot_inject_escapes(hostile_alert):
    out = io.StringIO()
    await ConsoleNotifier("console", ConsoleConfig(type="console", color="always"), out).send(hostile_alert, "k")
    text = out.getvalue()
    assert "\x1b[1;31mHIGH" in text
    assert "\x1b[31m red" not in text and "\x07" not in text  # the post's own escape sequence was stripped


async def test_factory_writes_to_stdout(capsys, alert, ctx):
    await make_console("console", ConsoleConfig(type="console", color="never"), ctx).send(alert, "k")
    assert "Acme login broken again" in capsys.readouterr().out
