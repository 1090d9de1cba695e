"""Apprise: one optional notifier for the long tail of services (Pushover, Gotify, Signal, Zulip, SMS gateways…).

Needs the optional extra `pip install 'brand-monitor[apprise]'`; the package is imported lazily, and a config
that uses this notifier without it is a config error naming the notifier. Apprise reports only a bool per
service (no status, no Retry-After), so a failed service is a TransientError and the delivery worker retries.
Apprise has no idempotency: within one process a retry skips the URLs that already took the alert, but a
restart or a timed-out send can repeat it (at-most-once per call, not exactly-once).
"""
from __future__ import annotations

import asyncio
import importlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields, replace
from types import ModuleType
from typing import Annotated, Any, Literal

import structlog
from pydantic import BeforeValidator, Field, SecretStr, model_validator

from .. import registry
from ..errors import TransientError
from ..models import Alert, Delivery
from ..settings import NotifierConfig
from .base import describe
from .format import AlertView, break_mentions, fit, one_line, plain_text

MISSING = "the apprise notifier needs the optional extra: pip install 'brand-monitor[apprise]'"
MAX_BODY = 4000  # characters; Apprise splits or truncates further per service
REMEMBERED_KEYS = 1000
# Services with a native brand-monitor notifier, where Apprise is known to misbehave with untrusted text
# (re-enabled Slack pings, Teams <at> mentions, Telegram HTML rejects) or to drop messages (Matrix token mode).
NATIVE: dict[str, str] = {"NotifySlack": "slack", "NotifyDiscord": "discord", "NotifyMSTeams": "teams",
                          "NotifyWorkflows": "teams", "NotifyTelegram": "telegram", "NotifyMatrix": "matrix"}
log = structlog.get_logger()


def load_apprise() -> ModuleType:
    try:
        return importlib.import_module("apprise")
    except ImportError:
        raise ValueError(MISSING) from None


def _lines(value: Any) -> Any:
    """`urls_file` arrives as the file's whole text: one URL per line; blank lines and `#` comments skipped."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return value


class AppriseConfig(NotifierConfig):
    type: Literal["apprise"]
    urls: Annotated[list[SecretStr], BeforeValidator(_lines)] = Field(min_length=1)
    title_prefix: str = Field(default="", max_length=100)
    body_format: Literal["text"] = "text"  # never markdown/html: the alert text is untrusted

    @model_validator(mode="before")
    @classmethod
    def _needs_apprise(cls, data: Any) -> Any:
        load_apprise()
        return data

    @model_validator(mode="after")
    def _supported(self) -> AppriseConfig:
        # an "after" model check: pydantic then shows the model (URLs masked) as the input, not the raw URL
        apprise = load_apprise()
        for i, url in enumerate(self.urls):
            plugin = _quietly(apprise.Apprise.instantiate, url.get_secret_value())
            # never echo the URL: it carries credentials
            if plugin is None:
                raise ValueError(f"urls[{i}]: not a URL Apprise understands (see its wiki for the service's format)")
            native = NATIVE.get(type(plugin).__name__)
            if native:
                raise ValueError(f"urls[{i}]: use the native '{native}' notifier for this service; through Apprise "
                                 "untrusted text can ping people or the alert can be lost")
        return self


def _quietly(build: Callable[[str], Any], url: str) -> Any:
    """Apprise logs a rejected URL half-masked at ERROR; a config check must not print credentials."""
    logger = logging.getLogger("apprise")
    before, logger.disabled = logger.disabled, True
    try:
        return build(url)
    finally:
        logger.disabled = before


def render(alert: Alert, title_prefix: str = "") -> tuple[str, str]:
    """(title, body) as plain text with every mention token broken: Apprise passes text on to many services."""
    def text(v: AlertView) -> tuple[str, str]:
        heading, _, rest = plain_text(disarm(v)).partition("\n")
        return heading, rest.strip()
    heading, body = fit(alert, text, lambda pair: len(pair[1]), MAX_BODY)
    return one_line(f"{break_mentions(title_prefix)} {heading}".strip(), 250), body


def disarm(v: AlertView) -> AlertView:
    """Every text field with `@`/`<` broken; the link keeps working with `@` percent-encoded instead."""
    changes: dict[str, Any] = {f.name: break_mentions(getattr(v, f.name)) for f in fields(v)
               if f.name != "url" and isinstance(getattr(v, f.name), str)}
    return replace(v, **changes, url=v.url.replace("@", "%40"))


def _notify_type(apprise: ModuleType, severity: str) -> Any:
    kinds = {"critical": "FAILURE", "high": "FAILURE", "medium": "WARNING"}
    return getattr(apprise.NotifyType, kinds.get(severity, "INFO"))


class AppriseNotifier:
    def __init__(self, notifier_id: str, config: AppriseConfig):
        self.id, self._config = notifier_id, config
        self._what = describe("apprise", notifier_id)
        self._apprise = load_apprise()
        # One Apprise object per URL, kept for the notifier's life so Apprise's own pacing carries over.
        self._targets = []
        for url in config.urls:
            target = self._apprise.Apprise()
            target.add(url.get_secret_value())
            self._targets.append(target)
        # idempotency key -> indices of URLs that already took that alert (bounded; in memory only)
        self._delivered: OrderedDict[str, set[int]] = OrderedDict()

    async def send(self, alert: Alert, idempotency_key: str) -> Delivery:
        title, body = render(alert, self._config.title_prefix)
        done = self._delivered.setdefault(idempotency_key, set())
        self._delivered.move_to_end(idempotency_key)
        while len(self._delivered) > REMEMBERED_KEYS:
            self._delivered.popitem(last=False)
        pending = [i for i in range(len(self._targets)) if i not in done]
        kind = _notify_type(self._apprise, alert.assessment.severity)
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(asyncio.to_thread(self._notify, i, title, body, kind) for i in pending)),
                self._config.timeout)
        except TimeoutError:
            # the threads run on; a late success is not recorded, so a retry may repeat it (documented)
            raise TransientError(f"{self._what}: timed out after {self._config.timeout:g}s") from None
        failed = [i for i, ok in zip(pending, results) if not ok]
        done.update(i for i, ok in zip(pending, results) if ok)
        if failed:
            log.warning("apprise_delivery_failed", notifier_id=self.id, alert_id=alert.id,
                        failed_urls=[f"urls[{i}]" for i in failed], total=len(self._targets))
            raise TransientError(f"{self._what}: apprise: delivery failed for {len(failed)} of "
                                 f"{len(self._targets)} URLs")
        self._delivered.pop(idempotency_key, None)
        return Delivery(notifier_id=self.id, alert_id=alert.id)

    def _notify(self, index: int, title: str, body: str, kind: Any) -> bool:
        return bool(self._targets[index].notify(body=body, title=title, notify_type=kind,
                                                body_format=self._apprise.NotifyFormat.TEXT))


@registry.notifier("apprise", AppriseConfig)
def make_apprise(notifier_id: str, config: AppriseConfig, ctx: registry.PluginContext) -> AppriseNotifier:
    # Apprise's DEBUG lines include full request URLs (tokens in the path for many services)
    logging.getLogger("apprise").setLevel(logging.WARNING)
    return AppriseNotifier(notifier_id, config)
