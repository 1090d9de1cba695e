"""`brand-monitor` command line. Exit status: 0 fine, 1 a runtime failure, 2 bad config or input."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError, ExternalError, describe
from .log import setup_logging
from .models import Author, Engagement, Post
from .settings import Settings, load_settings
from .store import StoreError

DEFAULT_CONFIG = os.environ.get("BRAND_MONITOR_CONFIG", "/etc/brand-monitor/config.yaml")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()  # until a command sets the config's level: even a crash's traceback is redacted
    try:
        return args.handler(args)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"brand-monitor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except (OSError, sqlite3.Error) as exc:
        print(f"brand-monitor: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        structlog.get_logger().exception("internal_error")
        print(f"brand-monitor: {describe(exc)}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brand-monitor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help_text: str, config: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if config:
            sub.add_argument("--config", "-c", default=DEFAULT_CONFIG, type=Path,
                             help=f"config file (default: $BRAND_MONITOR_CONFIG or {DEFAULT_CONFIG})")
        sub.set_defaults(handler=handler)
        return sub

    command("run", cmd_run, "run the daemon in the foreground (what systemd starts)")
    once = command("once", cmd_once, "poll every source once, deliver what is due, exit")
    once.add_argument("--dry-run", action="store_true", help="fetch, match and classify; store and send nothing")
    command("check", cmd_check, "validate the config; exit 2 with file:line: field: problem when invalid")
    replay = command("replay", cmd_replay, "run posts (JSON lines) through matching, triage and routing")
    replay.add_argument("input", nargs="?", default="-", help="JSON-lines file, or - for standard input")
    notify = command("test-notify", cmd_test_notify, "send a sample alert to one destination")
    notify.add_argument("notifier", help="notifier id from the config")
    status = command("status", cmd_status, "sources' health, delivery queue, open and late alerts")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    ack = command("ack", cmd_ack, "acknowledge an alert")
    ack.add_argument("alert_id")
    migrate = command("migrate", cmd_migrate, "apply the store's schema migrations (the daemon does so at start); "
                      "with --from and --to, copy a SQLite store's history into an empty PostgreSQL database")
    migrate.add_argument("--from", dest="source", type=Path, help="the SQLite file to copy from (state.db)")
    migrate.add_argument("--to", dest="target", help="the database to copy into (postgresql://...)")
    command("variants", cmd_variants, "print what the matcher accepts for each brand")
    demo = command("demo", cmd_demo, "offline demo: serve a sample feed on 127.0.0.1 and print alerts", config=False)
    demo.add_argument("--seconds", type=float, default=15.0, help="how long to run (default 15)")
    demo.add_argument("--keep", action="store_true", help="keep the demo's config and database afterwards")
    return parser


def _load(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    setup_logging(settings.log.level, settings.log.format)
    return settings


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    print(f"{args.config}: OK — {len(settings.brands)} brands, {len(settings.sources)} sources, "
          f"{len(settings.notifiers)} notifiers, {len(settings.routes)} routes")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .app import Daemon

    settings = _load(args)
    asyncio.run(Daemon(args.config, settings).run())
    return 0


def cmd_once(args: argparse.Namespace) -> int:
    from .app import run_once

    settings = _load(args)
    reports = asyncio.run(run_once(settings, dry_run=args.dry_run))
    return 0 if all(r.ok for r in reports) else 1


def cmd_test_notify(args: argparse.Namespace) -> int:
    from .app import send_test_alert

    settings = _load(args)
    if args.notifier not in settings.notifiers:
        known = ", ".join(sorted(settings.notifiers)) or "none configured"
        print(f"{args.config}: notifiers.{args.notifier}: no such notifier (known: {known})", file=sys.stderr)
        return 2
    try:
        delivery = asyncio.run(send_test_alert(settings, args.notifier, uuid.uuid4().hex))
    except ExternalError as exc:
        print(f"{args.notifier}: FAILED ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1
    protocol = "SMTP" if settings.notifiers[args.notifier].type == "smtp" else "HTTP"
    detail = ", ".join(f"{k} {v}" for k, v in ((protocol, delivery.status_code), ("id", delivery.remote_id)) if v)
    print(f"{args.notifier}: delivered{f' ({detail})' if detail else ''}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .status import collect_status, render_status

    settings = load_settings(args.config)
    report = collect_status(settings, time.time())
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else render_status(report))
    return 1 if report["store_problem"] else 0


def cmd_ack(args: argparse.Namespace) -> int:
    from .store import open_store

    settings = load_settings(args.config)
    store = open_store(settings.store)
    try:
        found = store.alert_ids_starting(args.alert_id.strip().lower())
        if len(found) > 1:
            print(f"alert {args.alert_id}: more than one alert id starts so; give a few more characters",
                  file=sys.stderr)
            return 1
        if found and store.ack(found[0], time.time()):
            print(f"alert {found[0]} acknowledged")
            return 0
        print(f"alert {args.alert_id}: not found or already acknowledged", file=sys.stderr)
        return 1
    finally:
        store.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    from .store import SqliteStore, open_store
    from .store.copy import copy_store

    if (args.source is None) != (args.target is None):
        print("brand-monitor migrate: give --from and --to together", file=sys.stderr)
        return 2
    if args.source is None:
        store = open_store(load_settings(args.config).store)
        try:
            print(f"{store.name}: schema {store.migrate()}")
        finally:
            store.close()
        return 0
    if not args.source.is_file():
        print(f"brand-monitor migrate: --from {args.source}: no such file", file=sys.stderr)
        return 2
    from .store.postgres import PostgresStore
    source, target = SqliteStore(args.source), PostgresStore(args.target)
    try:
        copied = copy_store(source, target)
    finally:
        source.close()
        target.close()
    print(f"{source.name} -> {target.name}: " + ", ".join(f"{n} {table}" for table, n in copied.items()))
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    from .matching import describe_variants

    settings = load_settings(args.config)
    print(describe_variants(settings.brands))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    setup_logging("warning", "console" if sys.stderr.isatty() else "json")
    return asyncio.run(run_demo(args.seconds, keep=args.keep))


# -- replay ---------------------------------------------------------------------------------------------

class ReplayLine(BaseModel):
    """One input line of `replay` (the contract in DESIGN.md)."""
    model_config = ConfigDict(extra="ignore")
    id: str | int
    text: str
    title: str = ""
    author: str = ""
    url: str = ""
    source: str = "replay"
    published: datetime | None = None
    lang: str | None = None
    followers: int | None = None
    likes: int = 0
    reposts: int = 0

    def to_post(self) -> Post:
        published = self.published
        if published is not None and published.tzinfo is None:
            published = published.replace(tzinfo=timezone.utc)
        return Post(source_id=self.source, platform="replay", id=str(self.id), url=self.url, title=self.title,
                    text=self.text, author=Author(handle=self.author, followers=self.followers),
                    published_at=published, engagement=Engagement(likes=self.likes, reposts=self.reposts),
                    lang_hint=self.lang)


def cmd_replay(args: argparse.Namespace) -> int:
    from .app import build_pipeline

    settings = _load(args)
    pipeline = build_pipeline(settings)
    # bytes, decoded line by line: one line that is not UTF-8 is reported and skipped, from a file or stdin alike
    stream = getattr(sys.stdin, "buffer", sys.stdin) if args.input == "-" else open(args.input, "rb")
    bad = 0
    with stream:
        for number, raw in enumerate(stream, 1):
            try:
                line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                if not line.strip():
                    continue
                item = ReplayLine.model_validate_json(line)
            except UnicodeDecodeError as exc:
                bad += 1
                print(f"{args.input}:{number}: not valid UTF-8 (byte {exc.start + 1}); line skipped", file=sys.stderr)
                continue
            except ValidationError as exc:
                bad += 1
                print(f"{args.input}:{number}: {_first_problem(exc)}; line skipped", file=sys.stderr)
                continue
            print(json.dumps(replay_result(pipeline, item), ensure_ascii=False), flush=True)
    return 2 if bad else 0


def replay_result(pipeline, item: ReplayLine) -> dict:
    now = datetime.now(timezone.utc)
    outcomes = pipeline.process(item.to_post(), now)
    if not outcomes:
        return {"id": item.id, "matched": False}
    best = min(outcomes, key=lambda o: (o.alert.mention.competitor, -max(m.score for m in o.alert.mention.matches)))
    mention, assessment = best.alert.mention, best.alert.assessment
    return {
        "id": item.id, "matched": True, "brand": mention.brand, "competitor": mention.competitor,
        "matches": [{"term": m.term, "kind": m.kind, "score": m.score, "start": m.start, "end": m.end}
                    for m in mention.matches],
        "language": assessment.language, "sentiment": assessment.sentiment, "category": assessment.category,
        "issue": assessment.issue, "urgent": assessment.urgent, "severity": assessment.severity,
        "judged_by": assessment.judged_by, "routes": list(best.routing.routes) if best.routing else [],
        "reply": best.alert.reply,
    }


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "json_invalid":
        return "not valid JSON"
    return f"{where}: {err['msg']}" if where else err["msg"]
