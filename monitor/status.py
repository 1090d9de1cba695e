"""`brand-monitor status`: what an operator needs at a glance, read from the store without writing to it."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from .models import short_id
from .redaction import redact_all
from .settings import Settings, SourceConfig, StreamConfig
from .store import ISSUE_SCHEMA, Store, StoreError, open_store

STATUSES = ("pending", "sending", "sent_24h", "dead")  # sent: in the last 24 hours; the rest: all
# `status` reads the stores of daemons not yet restarted after an upgrade too: what each migration added
LISTENER_STATE_SCHEMA = 6  # migrations/0006_listener_state.sql
DAEMON_SCHEMA = 9  # migrations/0009_daemons.sql
LISTENER_PROGRESS_SCHEMA = 10  # migrations/0010_listener_progress.sql
TALLY_SCHEMA = 12  # migrations/0012_tallies.sql


def collect_status(settings: Settings, now: float) -> dict[str, Any]:
    where = settings.store.location()
    states, counts, dead, listeners, daemons = {}, {}, [], [], []
    alerts: dict[str, Any] = {"open": 0, "late": 0, "by_issue": {}, "first": []}
    problem = None
    try:
        store = _open(settings)
    except StoreError as exc:
        store, problem = None, exc.reason
    if store is not None:
        try:
            version = store.schema_version()
            if version > 0:
                states = {s.source_id: asdict(s) for s in store.source_states()}
                tallied = version >= TALLY_SCHEMA
                counts, dead = store.outbox_counts(sent_since=now - 86400, tallied=tallied), store.dead_letters()
                alerts.update(store.open_alerts(now, tallied))
                if version >= ISSUE_SCHEMA:  # the issue and urgent columns
                    alerts.update(by_issue=store.open_alerts_by_issue(tallied), first=[
                        dict(x, respond_by=_iso(x["respond_by"])) for x in store.open_alert_list(now)])
                if version >= LISTENER_STATE_SCHEMA:
                    listeners = [dict(x, **{k: _iso(x.get(k)) for k in ("since", "last_ok_at", "polled_at")})
                                 for x in store.listener_states(progress=version >= LISTENER_PROGRESS_SCHEMA)]
                if version >= DAEMON_SCHEMA:
                    daemons = [_daemon(d, now, settings.store.lease) for d in store.daemons(since=now - 86400)]
        except Exception as exc:  # e.g. "database disk image is malformed" in one index, a lost connection
            if not store.is_failure(exc):
                raise
            problem = store.reason(exc)
        finally:
            store.close()
    sources = [{"id": sid, "type": cfg.type, "health": _health(cfg, states.get(sid)),
                "stream": isinstance(cfg, StreamConfig),
                "last_success": _iso(states.get(sid, {}).get("last_success_at")),
                "next_poll": _iso(states.get(sid, {}).get("next_poll_at")),
                "errors": states.get(sid, {}).get("error_count", 0),
                "last_error": states.get(sid, {}).get("last_error")}
               for sid, cfg in settings.sources.items()]
    deliveries = [{"notifier": nid, "configured": nid in settings.notifiers,
                   **{s: counts.get(nid, {}).get(s.removesuffix("_24h"), 0) for s in STATUSES}}
                  for nid in dict.fromkeys([*settings.notifiers, *counts])]
    # redacted again: errors stored by versions that did not redact them yet may hold a secret
    return redact_all({"store": where, "store_problem": problem, "sources": sources, "deliveries": deliveries,
                       "dead_letters": dead, "ack_listeners": listeners, "daemons": daemons,
                       "alerts": alerts})


def _open(settings: Settings) -> Store | None:
    """The store, read-only where the backend allows; None when the SQLite file was never created."""
    if not settings.store.url and not settings.store.resolved_path().exists():
        return None
    return open_store(settings.store, readonly=True)


def _daemon(d: dict[str, Any], now: float, lease: float) -> dict[str, Any]:
    """A daemon is "running" while it beats; one that stopped beating without saying so died (its leases expire)."""
    state = "stopped" if d["stopped_at"] else "running" if d["heartbeat_at"] >= now - lease else "dead"
    return {"id": d["id"], "host": d["host"], "pid": d["pid"], "state": state, "started": _iso(d["started_at"]),
            "heartbeat": _iso(d["heartbeat_at"]), "holds": d["holds"]}


def _health(cfg: SourceConfig, state: dict | None) -> str:
    stream = isinstance(cfg, StreamConfig)
    if not cfg.enabled:
        return "disabled"
    if not state:
        return "not connected yet" if stream else "not polled yet"
    if state["parked"]:
        return "polling fallback" if stream and cfg.fallback else "PARKED"
    if stream:
        return "reconnecting" if state["error_count"] else "connected"
    return "failing" if state["error_count"] else "ok"


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds") if ts else None


def render_status(report: dict[str, Any]) -> str:
    problem = f"  FAILING: {report['store_problem']}" if report["store_problem"] else ""
    lines = [f"store: {report['store']}{problem}", "", "sources:"]
    for s in report["sources"]:
        last, next_ = ("last event", "reconnect") if s["stream"] else ("last ok", "next")
        next_at = s["next_poll"] if s["errors"] or not s["stream"] else None  # a connected stream has no next
        lines.append(f"  {s['id']:<20} {s['type']:<14} {s['health']:<14} {last} {s['last_success'] or '-'}"
                     f"  {next_} {next_at or '-'}")
        if s["last_error"]:
            lines.append(f"      {s['errors']} error(s), last: {s['last_error']}")
    lines += ["", "deliveries:"]
    for d in report["deliveries"]:
        note = "" if d["configured"] else "  (not in config: waits until it is added back)"
        lines.append(f"  {d['notifier']:<20} " + "  ".join(f"{s.replace('_', ' ')} {d[s]}" for s in STATUSES) + note)
    if report["dead_letters"]:
        lines += ["", "recent dead letters:"]
        lines += [f"  alert {d['alert_id']} -> {d['notifier_id']} after {d['attempts']} attempt(s): {d['last_error']}"
                  for d in report["dead_letters"]]
    if report["ack_listeners"]:
        lines += ["", "acknowledgement listeners:"]
        for x in report["ack_listeners"]:
            polled = f"last polled {x.get('polled_at') or '-'}"  # none before migration 0010
            if x["ok"]:
                lines.append(f"  {x['listener']:<34} ok since {x['since']}, {polled}")
                continue
            lines.append(f"  {x['listener']:<34} FAILING since {x['since']}: {x['last_error']}")
            if x.get("polled_at"):
                lines.append(f"      {x['failures']} failed poll(s) in a row, last ok {x['last_ok_at'] or 'never'}, "
                             f"{polled}")
    if report["daemons"]:
        lines += ["", "daemons:"]
        for d in report["daemons"]:
            sources = sum(name.startswith("source:") for name in d["holds"])
            timers = [name.removeprefix("timer:") for name in d["holds"] if name.startswith("timer:")]
            lines.append(f"  {d['id']:<34} {d['state']:<8} heartbeat {d['heartbeat']}  polls {sources} source(s)"
                         + (f", runs {', '.join(timers)}" if timers else ""))
    a = report["alerts"]
    lines += ["", f"alerts: {a['open']} open, {a['late']} past respond-by"]
    for issue, n in a["by_issue"].items():
        urgent = f", {n['urgent']} urgent" if n["urgent"] else ""
        lines.append(f"  {issue.replace('_', ' '):<16} {n['open']} open{urgent}")
    if a["first"]:
        lines += ["", "first to answer (acknowledge with brand-monitor ack ID):"]
        lines += [_open_alert_line(x) for x in a["first"]]
    return "\n".join(lines)


def _open_alert_line(x: dict[str, Any]) -> str:
    issue = (x["issue"] or "-").replace("_", " ")
    late = "  LATE" if x["late"] else ""
    urgent = "urgent " if x["urgent"] else ""
    return (f"  {short_id(x['id']):<17} {x['severity']:<8} {x['brand'][:20]:<20} {issue:<16} "
            f"{urgent}respond by {x['respond_by']}{late}")
