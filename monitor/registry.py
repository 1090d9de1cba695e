"""Kind name -> (config model, factory) for sources and notifiers, and a notifier's acknowledgement listener.

Built-in plugins are the modules of `monitor.sources` and `monitor.notifiers`; third-party ones come from the
entry-point groups `brand_monitor.sources` and `brand_monitor.notifiers`. A plugin whose import fails is
remembered with its error, so a config that uses it is told why instead of "unknown type".
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

    from .acks.common import AckListener
    from .settings import BrandConfig
    from .store import Store


@dataclass(frozen=True)
class PluginContext:
    """What a factory may use. Factories do no I/O; they only build objects."""
    http: "httpx.AsyncClient"
    brands: "tuple[BrandConfig, ...]"


AckListenerFactory = Callable[[str, Any, PluginContext, "Store"], "AckListener | None"]


@dataclass(frozen=True)
class Plugin:
    kind: str
    config_model: "type[BaseModel]"
    factory: Callable[[str, Any, PluginContext], Any]
    ack_listener: AckListenerFactory | None = None


SOURCES: dict[str, Plugin] = {}
NOTIFIERS: dict[str, Plugin] = {}
IMPORT_ERRORS: dict[str, str] = {}
_NOT_PLUGINS = {"base", "format"}
_loaded = False


def source(kind: str, config_model: "type[BaseModel]"):
    """Decorator: register `factory(source_id, config, ctx) -> Source` under `kind`."""
    return _register(SOURCES, kind, config_model)


def notifier(kind: str, config_model: "type[BaseModel]", ack_listener: AckListenerFactory | None = None):
    """Decorator: register `factory(notifier_id, config, ctx) -> Notifier` under `kind`. A notifier that can
    read acknowledgements back (reactions, buttons) also gives `ack_listener(notifier_id, config, ctx, store)
    -> AckListener | None` (None: this instance cannot, e.g. a Slack webhook); see monitor/acks/common.py."""
    return _register(NOTIFIERS, kind, config_model, ack_listener)


def _register(table: dict[str, Plugin], kind: str, config_model, ack_listener: AckListenerFactory | None = None):
    def decorate(factory):
        table[kind] = Plugin(kind, config_model, factory, ack_listener)
        return factory
    return decorate


def load_plugins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for package in ("monitor.sources", "monitor.notifiers"):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            if info.name not in _NOT_PLUGINS:
                _try_import(f"{package}.{info.name}", info.name)
    for group in ("brand_monitor.sources", "brand_monitor.notifiers"):
        for ep in entry_points(group=group):
            _try_import(ep.value, ep.name, ep.load)


def _try_import(module_name: str, kind: str, load: Callable[[], Any] | None = None) -> None:
    try:
        (load or (lambda: importlib.import_module(module_name)))()
    except Exception as exc:  # a broken plugin must not take the daemon down, but must be reported
        IMPORT_ERRORS[kind] = f"{type(exc).__name__}: {exc}"


def lookup(table: dict[str, Plugin], kind: str) -> Plugin | str:
    """The plugin for `kind`, or a message saying why there is none. A built-in kind whose module bears its name
    is imported alone (start-up imports only the kinds a config uses); any other kind loads every plugin."""
    if kind not in table and kind.isidentifier() and kind not in _NOT_PLUGINS:
        package = "monitor.sources" if table is SOURCES else "monitor.notifiers"
        if importlib.util.find_spec(f"{package}.{kind}") is not None:
            _try_import(f"{package}.{kind}", kind)
    if kind not in table:
        load_plugins()
    if kind in table:
        return table[kind]
    if kind in IMPORT_ERRORS:
        return f"type '{kind}' failed to load: {IMPORT_ERRORS[kind]}"
    return f"unknown type '{kind}' (known: {', '.join(sorted(table))})"
