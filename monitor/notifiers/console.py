"""Console: the alert as readable text on stdout (the offline demo, `once --dry-run`, trying a config).

Post text is cleaned of control characters first, so a post cannot move the cursor or recolour the terminal.
"""
from __future__ import annotations

import os
import sys
import textwrap
from typing import Literal, TextIO

from pydantic import Field

from .. import registry
from ..models import Alert, Delivery
from ..settings import NotifierConfig
from .format import AlertView, view

RESET, BOLD, DIM = "\033[0m", "\033[1m", "\033[2m"
SEVERITY_ANSI = {"critical": "\033[1;97;41m", "high": "\033[1;31m", "medium": "\033[1;33m", "low": "\033[1;34m"}


class ConsoleConfig(NotifierConfig):
    type: Literal["console"]
    color: Literal["auto", "always", "never"] = "auto"
    width: int = Field(default=100, ge=40, le=400)
    excerpt: int = Field(default=600, ge=50, le=10_000)


def render(v: AlertView, *, width: int = 100, color: bool = False) -> str:
    def paint(style: str, text: str) -> str:
        return f"{style}{text}{RESET}" if color else text

    def wrapped(text: str, indent: str = "  ") -> list[str]:
        return [line for para in text.split("\n")
                for line in (textwrap.wrap(para, width, initial_indent=indent, subsequent_indent=indent) or [""])]

    label_width = max(len(label) for label, _ in v.facts()) + 1 if v.facts() else 0
    lines = [paint(DIM, "─" * width),
             f"{v.emoji} " + paint(SEVERITY_ANSI.get(v.severity, BOLD), v.severity.upper()) +
             paint(BOLD, f" · {v.heading.split(' · ', 1)[-1]}") +
             (paint(DIM, f"   respond by {v.respond_by}") if v.respond_by else "")]
    if v.title:
        lines.append(paint(BOLD, v.title))
    if v.excerpt:
        lines += wrapped(v.excerpt, "  │ ")
    lines += [f"  {paint(DIM, (label + ':').ljust(label_width))} {value}"
              for label, value in v.facts() if label not in ("Severity", "Respond by")]
    if v.url:
        lines.append(f"  {paint(DIM, 'Link:'.ljust(label_width))} {v.url}")
    if v.reply:
        lines += [paint(BOLD, f"  {v.reply_label}:"), *wrapped(v.reply, "    ")]
    return "\n".join(lines) + "\n"


def use_color(setting: str, stream: TextIO) -> bool:
    if setting != "auto":
        return setting == "always"
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


class ConsoleNotifier:
    def __init__(self, notifier_id: str, config: ConsoleConfig, stream: TextIO | None = None):
        self.id, self._config, self._stream = notifier_id, config, stream

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        stream = self._stream or sys.stdout  # looked up late so redirected stdout (tests, pipes) is honoured
        text = render(view(alert, excerpt_limit=self._config.excerpt), width=self._config.width,
                      color=use_color(self._config.color, stream))
        stream.write(text)
        stream.flush()
        return Delivery(notifier_id=self.id, alert_id=alert.id)


@registry.notifier("console", ConsoleConfig)
def make_console(notifier_id: str, config: ConsoleConfig, ctx: registry.PluginContext) -> ConsoleNotifier:
    return ConsoleNotifier(notifier_id, config)
