"""Typed configuration: YAML -> strict pydantic models, with errors that name file, line and field.

- Unknown keys are errors (extra="forbid"), with a "did you mean" hint.
- `${NAME}` and `${NAME:-default}` in any string are replaced from the environment.
- Any field `x` that holds a secret has a twin `x_file`: the file's content (trimmed) becomes `x`.
- Every secret value met while loading is handed to monitor.redaction, which masks it wherever it would be
  stored, printed or logged: SecretStr fields, `x_file` contents, ${NAME}s whose name says secret (TOKEN, KEY,
  PASSWORD...), and the user info and token-like query values of any URL.
- Durations are strings: "500ms", "90s", "5m", "1h", "1d", "1h30m".
"""
from __future__ import annotations

import difflib
import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr,
                      ValidationError, ValidationInfo, field_validator, model_validator)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent

from . import registry
from .errors import ConfigError
from .models import Category, Issue, Sentiment, Severity
from .redaction import redact, remember, secrets_in

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_NAME = re.compile(r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|PASS|KEY|APIKEY|AUTH|CREDENTIALS?|SIG|WEBHOOK)"
                          r"(?:_|$)", re.I)


def parse_duration(value: Any) -> float:
    """'90s' -> 90.0. A bare number is refused: '5' could mean seconds or minutes."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    raise ValueError(f"expected a duration such as '90s', '5m', '1h' or '1d', got {value!r}")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _digest_schedule(value: Any) -> str:
    from .routing.digest import parse_schedule
    return parse_schedule(value)


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors; `x_file` fills a declared field `x`."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in [k for k in data if isinstance(k, str) and k.endswith("_file")]:
            target = key[: -len("_file")]
            if target not in cls.model_fields or key in cls.model_fields:
                continue
            if data.get(target) is not None:
                raise ValueError(f"give either {target} or {key}, not both")
            path = data.pop(key)
            try:
                data[target] = Path(str(path)).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
            remember(secrets_in(data[target], whole=True))
        return data

    @model_validator(mode="after")
    def _remember_secrets(self) -> "Strict":
        """Hand this section's secret values, and the credentials in its URLs, to the redactor."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, SecretStr):
                    remember(secrets_in(item.get_secret_value(), whole=True))
                elif isinstance(item, str):
                    remember(secrets_in(item, whole=False))
        return self


class OwnAccount(NamedTuple):
    """One of the brand's own accounts: its posts are not alerts, and its replies are the first response."""
    platform: str  # "mastodon" | "bluesky" | "x"
    handle: str    # as sources write authors: "acme@mastodon.social", "acme.bsky.social", "acme"
    home: str      # the Mastodon instance's base URL ("" for the others)


_BLUESKY_PROFILE = re.compile(r"^/profile/([A-Za-z0-9.-]+\.[A-Za-z]{2,})/?$")
_MASTODON_PROFILE = re.compile(r"^/@(\w+)/?$")
_X_PROFILE = re.compile(r"^/(\w{1,15})/?$")
_X_HOSTS = ("x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com")


def parse_account(url: str) -> OwnAccount:
    """A profile URL as copied from the browser: https://bsky.app/profile/<handle>, https://<instance>/@<name>,
    https://x.com/<name>."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        if (m := _BLUESKY_PROFILE.match(parts.path)) and parts.netloc.lower() in ("bsky.app", "www.bsky.app"):
            return OwnAccount("bluesky", m.group(1).lower(), "")
        if m := _MASTODON_PROFILE.match(parts.path):
            host = parts.netloc.lower()
            return OwnAccount("mastodon", f"{m.group(1).lower()}@{host}", f"{parts.scheme}://{host}")
        if (m := _X_PROFILE.match(parts.path)) and parts.netloc.lower() in _X_HOSTS:
            return OwnAccount("x", m.group(1).lower(), "")
    raise ValueError(f"'{url}' is not a profile URL like https://mastodon.social/@acme, "
                     "https://bsky.app/profile/acme.bsky.social or https://x.com/acme")


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty: an empty keyword would match nothing (or everything)")
    return value


Term = Annotated[str, AfterValidator(_non_blank)]


def _valid_accounts(urls: list[str]) -> list[str]:
    for url in urls:
        parse_account(url)
    return urls


class BrandConfig(Strict):
    name: str = Field(min_length=1)
    keywords: Annotated[list[Term], BeforeValidator(_as_list)] = []
    aliases: Annotated[list[Term], BeforeValidator(_as_list)] = []
    exclude: Annotated[list[Term], BeforeValidator(_as_list)] = []
    competitor: bool = False
    fuzzy: Literal["auto", "off"] = "auto"
    languages: list[str] = []
    # drafted replies to posts in a language we have no templates for (not en/fa/ru/is) are in this one
    reply_language: Literal["en", "fa", "ru", "is"] = "en"
    # Matching knobs (docs/matching.md): "Simanum" finds "Símanum" unless fold_accents is false;
    # names shorter than fuzzy_min_length get no misspelling tolerance, from fuzzy_two_edits_from two edits.
    fold_accents: bool = True
    fuzzy_min_length: int = Field(default=5, ge=3)
    fuzzy_two_edits_from: int = Field(default=9, ge=4)
    # the brand's own profiles (docs/acks.md): their posts are skipped, their public replies acknowledge alerts
    accounts: Annotated[list[str], BeforeValidator(_as_list), AfterValidator(_valid_accounts)] = []

    @property
    def terms(self) -> list[str]:
        return self.keywords or [self.name]

    @property
    def own_accounts(self) -> list[OwnAccount]:
        return [parse_account(url) for url in self.accounts]


class SourceConfig(Strict):
    """Options every source has; a source kind subclasses this with its own fields."""
    # polling a remote server more often than this is refused unless allow_fast_polling is set; a kind
    # that reads something local may lower it
    min_every: ClassVar[float] = 30.0
    type: str
    allow_fast_polling: bool = False  # for a server of your own (tests, the demo): `every` down to 1s
    every: Duration = 300.0
    jitter: Duration | None = None
    timeout: Duration = 20.0
    max_bytes: int = Field(default=5_000_000, gt=0)
    enabled: bool = True
    brands: list[str] = []
    # every post is about this brand even when it does not name it (the brand's own app reviews, forum, subreddit)
    about: str | None = None
    # may connect to private networks (not only the kind its own URL names); cloud metadata stays refused
    allow_private_network: bool = False

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, every: float, info: ValidationInfo) -> float:
        if info.data.get("allow_fast_polling"):
            if every < 1.0:
                raise ValueError("must be at least 1s, even with allow_fast_polling")
        elif every < cls.min_every:
            raise ValueError(f"less than {cls.min_every:g}s between polls hammers the server; use {cls.min_every:g}s "
                             "or more, or set allow_fast_polling: true if the server is your own")
        return every


class StreamConfig(SourceConfig):
    """Options every streaming source has: it keeps a connection open and is not polled. While it is down for
    `fallback_after`, or refused (401, 404, 429), its `fallback` source (one of kind `fallback_kind`) is polled."""
    fallback_kind: ClassVar[str]
    replays: ClassVar[bool] = True  # False: what is sent while disconnected is lost, a fallback poll catches up
    max_bytes: int = Field(default=262_144, gt=0)  # one message
    fallback: str | None = None
    fallback_after: Duration = 60.0
    reconnect_max: Duration = 60.0

    @model_validator(mode="before")
    @classmethod
    def _not_polled(cls, data: Any) -> Any:
        polling = [k for k in ("every", "jitter", "allow_fast_polling") if isinstance(data, dict) and k in data]
        if polling:
            raise ValueError(f"{', '.join(polling)}: a stream is not polled; set it on its fallback source")
        return data


class NotifierConfig(Strict):
    """Options every notifier has; a notifier kind subclasses this with its own fields."""
    type: str
    fallback: str | None = None
    max_attempts: int = Field(default=12, ge=1)
    max_age: Duration = 86400.0
    timeout: Duration = 10.0
    min_interval: Duration = 0.0


RouteLanguage = Literal["en", "fa", "ru", "is", "other"]  # what triage gives; other languages are "other"


class RouteWhen(Strict):
    brand: Annotated[list[str], BeforeValidator(_as_list)] = []
    severity: Annotated[list[Severity], BeforeValidator(_as_list)] = []
    sentiment: Annotated[list[Sentiment], BeforeValidator(_as_list)] = []
    category: Annotated[list[Category], BeforeValidator(_as_list)] = []
    issue: Annotated[list[Issue], BeforeValidator(_as_list)] = []
    urgent: bool | None = None
    source: Annotated[list[str], BeforeValidator(_as_list)] = []
    language: Annotated[list[RouteLanguage], BeforeValidator(_as_list)] = []
    competitor: bool | None = None


class QuietHours(Strict):
    """Hold this route's alerts from `start` to `end` (local time) and send them when it ends."""
    start: time
    end: time
    timezone: str = "UTC"
    except_severity: Annotated[list[Severity], BeforeValidator(_as_list)] = ["critical"]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Atlantic/Reykjavik)") from None
        return value


class EscalateConfig(Strict):
    """Not acknowledged `after` this long: notify these too; again every `repeat`, at most `max` times."""
    after: Duration
    notify: Annotated[list[str], BeforeValidator(_as_list)] = Field(min_length=1)
    repeat: Duration | None = None
    max: int = Field(default=3, ge=1)


class RouteConfig(Strict):
    name: str = Field(min_length=1)
    when: RouteWhen = RouteWhen()
    notify: Annotated[list[str], BeforeValidator(_as_list)] = Field(min_length=1)
    respond_within: Duration = 3600.0
    quiet_hours: QuietHours | None = None
    digest: Annotated[str, BeforeValidator(_digest_schedule)] | None = None
    escalate: EscalateConfig | None = None
    stop: bool = False


class MuteConfig(Strict):
    """Alerts matching `when` are recorded but sent nowhere until `until`."""
    when: RouteWhen = RouteWhen()
    until: AwareDatetime
    reason: str = ""


# money, access, outage, fraud, safety and legal reach "high" (4) on their own, even in calm words
_ISSUE_POINTS: dict[str, float] = {
    "security_fraud": 5.0, "safety": 5.0, "legal": 4.0, "billing": 4.0, "account_access": 4.0, "outage": 4.0,
    "churn": 3.0, "delivery": 2.0, "staff_conduct": 2.0, "question": 2.0, "product_quality": 1.0,
    "news": 0.0, "praise": 0.0, "other": 0.0}


_REPLY_KEY = re.compile(r"(?:en|fa|ru|is)\.(?:outage|complaint|question|praise|other)"
                        r"(?:\.(?:formal|informal))?(?:\.(?:short|long))?")


class SeverityThresholds(Strict):
    critical: float = 7.0
    high: float = 4.0
    medium: float = 2.0


class TriageSettings(Strict):
    """Tunable weights (YAML `triage:`). Defaults are hand-set, not fitted on any data set."""
    issue_points: dict[Issue, float] = Field(default_factory=lambda: dict(_ISSUE_POINTS))
    urgent_at_least: Severity = "high"  # an urgent post (look within the hour) is never below this
    # negative score at or below each cut-off adds one point: -0.35 → +1, -0.75 → +2
    negative_cutoffs: tuple[float, ...] = (-0.35, -0.75)
    followers_cutoffs: tuple[int, ...] = (10_000, 100_000)
    engagement_cutoffs: tuple[int, ...] = (50, 500)  # likes + 2×reposts + replies
    velocity_cutoffs: tuple[int, ...] = (3, 10, 30)  # similar posts in the incident window
    history_cutoffs: tuple[int, ...] = (2, 5)  # the author's earlier complaints
    source_weights: dict[str, float] = Field(default_factory=dict)  # by source id or platform; default 1.0
    thresholds: SeverityThresholds = Field(default_factory=SeverityThresholds)
    # "shipped" (the model in the package), "lexicon" (rules only), or the path of a model you trained
    model: str = "shipped"
    positive_at: float = Field(default=0.25, gt=0, le=1)
    negative_at: float = Field(default=-0.15, ge=-1, lt=0)

    # drafted-reply templates, keys "lang.category[.formal|informal][.short|long]" (see reply.py)
    replies: dict[str, str] = Field(default_factory=dict)

    @field_validator("replies")
    @classmethod
    def _reply_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _REPLY_KEY.fullmatch(key):
                raise ValueError(f"reply template key {key!r}: expected lang.category[.register][.length], "
                                 "e.g. 'en.complaint' or 'ru.outage.formal.long'")
        return value

    @field_validator("issue_points", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        """`issue_points: {question: 0}` changes one issue type, not all of them."""
        return {**_ISSUE_POINTS, **value} if isinstance(value, dict) else value


class IncidentConfig(Strict):
    """Several similar negative reports within `window` become one incident alert."""
    enabled: bool = True
    window: Duration = 1800.0
    threshold: int = Field(default=3, ge=2)
    similarity: float = Field(default=0.1, ge=0, le=1)  # Jaccard of content words with an earlier report
    critical_at: int = Field(default=10, ge=2)
    respond_within: Duration = 900.0


DAY = 86400.0


class RetentionConfig(Strict):
    """How long history is kept; pruned in small batches while the daemon runs."""
    posts: Duration = Field(default=90 * DAY, ge=DAY)  # seen posts (the memory of what was seen), their alerts
    dead_letters: Duration = Field(default=365 * DAY, ge=DAY)  # alerts that could not be delivered
    incidents: Duration = Field(default=365 * DAY, ge=DAY)
    open_alerts: Duration = Field(default=7 * DAY, ge=3600.0)  # unanswered this long: closed as "expired"

    @model_validator(mode="after")
    def _open_alerts_expire_first(self) -> RetentionConfig:
        if self.open_alerts > self.posts:
            raise ValueError("open_alerts must not be longer than posts: an alert is deleted only once it is closed")
        return self


class StoreConfig(Strict):
    path: str | None = None  # SQLite, the default: one daemon
    url: str | None = Field(default=None, pattern=r"^postgres(ql)?://")  # PostgreSQL: several daemons may share it
    password: SecretStr | None = None  # or password_file, or in the URL, or PGPASSWORD
    lease: Duration = Field(default=30.0, ge=1)  # a dead daemon's sources and timers are taken over after this
    retention: RetentionConfig = RetentionConfig()

    @model_validator(mode="after")
    def _one_backend(self) -> "StoreConfig":
        if self.url and self.path:
            raise ValueError("give either path (SQLite) or url (PostgreSQL), not both")
        return self

    def location(self) -> str:
        """What logs and errors call the store (a URL without its password)."""
        return redact(self.url) if self.url else str(self.resolved_path())

    def resolved_path(self) -> Path:
        state_dir = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
        if self.path:
            path = Path(self.path)
            return path if path.is_absolute() or not state_dir else Path(state_dir) / path
        return Path(state_dir or ".") / "state.db"


class PollingConfig(Strict):
    backoff_max: Duration = 3600.0
    park_after: int = Field(default=10, ge=1)
    parked_retry: Duration = 21600.0
    concurrency: int = Field(default=20, ge=1)
    per_host: int = Field(default=4, ge=1)
    workers: int = Field(default=1, ge=1, le=64)  # processes for parsing, matching and triage; 1 = threads only
    proxy: str | None = None  # every HTTP request of the daemon through it; HTTP(S)_PROXY are not read

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, proxy: str | None) -> str | None:
        if not proxy:  # "${HTTPS_PROXY:-}" with the variable unset
            return None
        parts = urlsplit(proxy)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.port == 0:
            raise ValueError("must be the proxy's http:// or https:// URL, e.g. http://proxy.example.com:3128")
        return proxy


class DeliveryConfig(Strict):
    lease: Duration = 60.0
    backoff_initial: Duration = 5.0
    backoff_max: Duration = 1800.0
    drain_timeout: Duration = 15.0


class MetricsConfig(Strict):
    """Prometheus /metrics and /healthz over HTTP (no authentication: keep it on loopback)."""
    enabled: bool = False
    listen: str = Field(default="127.0.0.1:9464", pattern=r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$")

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class PublicRepliesConfig(Strict):
    """How often the brands' own accounts are read for public replies (the first response, acknowledged)."""
    every: Duration = 60.0
    bluesky_api: str = Field(default="https://public.api.bsky.app", pattern=r"^https?://\S+$")
    x_bearer_token: SecretStr | None = None  # X has no public API: an App's bearer token, as the `x` source's
    x_api: str = Field(default="https://api.x.com/2", pattern=r"^https?://\S+$")

    @field_validator("every")
    @classmethod
    def _not_hammering(cls, every: float) -> float:
        if every < 30.0:
            raise ValueError("less than 30s between reads hammers the public APIs; use 30s or more")
        return every


class AckLinksConfig(Strict):
    """Signed "Acknowledge" links in alerts, answered by the local listener (metrics.listen) behind
    `public_url` (a reverse proxy); for destinations without reactions or buttons, e-mail first."""
    public_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    secret: SecretStr | None = None

    @model_validator(mode="after")
    def _secret_with_url(self) -> "AckLinksConfig":
        if self.public_url and not self.secret:
            raise ValueError("public_url needs a secret (or secret_file) to sign the links")
        return self


class LogConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(Strict):
    store: StoreConfig = StoreConfig()
    brands: list[BrandConfig] = Field(min_length=1)
    sources: dict[str, SourceConfig] = {}
    notifiers: dict[str, NotifierConfig] = {}
    routes: list[RouteConfig] = []
    mutes: list[MuteConfig] = []
    triage: TriageSettings = TriageSettings()
    incidents: IncidentConfig = IncidentConfig()
    polling: PollingConfig = PollingConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    metrics: MetricsConfig = MetricsConfig()
    ack_links: AckLinksConfig = AckLinksConfig()
    public_replies: PublicRepliesConfig = PublicRepliesConfig()
    log: LogConfig = LogConfig()


Loc = tuple[Any, ...]

# A config is a few kilobytes, a few levels deep, with a handful of aliases. Far bigger, deeper or more aliased
# YAML is refused before it is loaded: loading it could take minutes or exhaust the stack (billion laughs).
MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_ALIASED_NODES = 10_000


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a config file; raise ConfigError listing every problem found."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; is this really the config file?"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    return parse_settings(text, str(path))


def parse_settings(text: str, filename: str = "<config>") -> Settings:
    try:
        _refuse_costly_yaml(text, filename)
    except MarkedYAMLError as exc:
        raise _invalid_yaml(exc, filename) from None
    doc = _load_yaml(text, filename, "safe")  # libyaml when installed; the line numbers only when needed
    if not isinstance(doc, dict):
        raise ConfigError([f"{filename}:1: the file must be a mapping with at least 'brands:'"])

    problems: list[tuple[Loc, str]] = []
    _substitute_env(doc, (), problems)
    unset = list(problems)
    validated_doc, plugin_problems = _validate_plugins(doc)
    problems += plugin_problems
    settings = None
    try:
        settings = Settings.model_validate(validated_doc)
    except ValidationError as exc:
        problems += [_describe(err, Settings) for err in exc.errors()]
    problems = [p for p in problems if not _follows_unset_variable(p, unset)]
    if settings is not None:
        problems += _cross_check(settings)
    if problems:
        marked = _load_yaml(text, filename, "rt")  # the round-trip loader knows each value's line
        located = sorted(((_line_of(marked, loc), _field_path(loc), msg) for loc, msg in problems),
                         key=lambda p: p[0])
        raise ConfigError([f"{filename}:{line}: {field}: {msg}" for line, field, msg in located])
    return settings


def _load_yaml(text: str, filename: str, typ: str) -> Any:
    try:
        return YAML(typ=typ, pure=typ == "rt").load(text)
    except MarkedYAMLError as exc:
        raise _invalid_yaml(exc, filename) from None


def _invalid_yaml(exc: MarkedYAMLError, filename: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = f"{mark.line + 1}" if mark else "?"
    return ConfigError([f"{filename}:{line}: invalid YAML: {exc.problem or exc.context}"])


def _refuse_costly_yaml(text: str, filename: str) -> None:
    """Walk the YAML events, stopping at the first collection nested deeper than MAX_DEPTH or the alias that
    brings the nodes reached through aliases over MAX_ALIASED_NODES (each alias counts its anchor's whole tree)."""
    open_collections: list[list] = []  # [anchor, nodes so far] of each collection not yet closed
    tree_sizes: dict[str, int] = {}    # anchor -> nodes in its tree, aliases inside it expanded
    aliased = 0
    for event in YAML(typ="safe").parse(text):  # libyaml's C parser when installed: 15x faster
        line = event.start_mark.line + 1
        if isinstance(event, CollectionStartEvent):
            if len(open_collections) == MAX_DEPTH:
                raise ConfigError([f"{filename}:{line}: nested more than {MAX_DEPTH} levels deep"])
            open_collections.append([event.anchor, 1])
            continue
        if isinstance(event, CollectionEndEvent):
            anchor, size = open_collections.pop()
        elif isinstance(event, ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, AliasEvent):
            anchor, size = None, tree_sizes.get(event.anchor, 1)
            aliased += size
            if aliased > MAX_ALIASED_NODES:
                raise ConfigError([f"{filename}:{line}: aliases expand to more than {MAX_ALIASED_NODES:,} values "
                                   "(an alias bomb?)"])
        else:
            continue
        if anchor:
            tree_sizes[anchor] = size
        if open_collections:
            open_collections[-1][1] += size


def _follows_unset_variable(problem: tuple[Loc, str], unset: list[tuple[Loc, str]]) -> bool:
    """`x_file: ${UNSET}/x` is reported once, as the unset variable, not again as an unreadable file (nor is
    the empty value it leaves behind reported as empty)."""
    loc, message = problem
    return any((loc == where[:-1] and message.startswith(f"{where[-1]}: cannot read"))
               or (loc == where and message.startswith("must not be empty")) for where, _ in unset)


def _substitute_env(node: Any, loc: Loc, problems: list[tuple[Loc, str]]) -> None:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str) and "${" in value:
            def replace(m: re.Match[str]) -> str:
                found = os.environ.get(m.group(1))
                if found is None and m.group(2) is None:
                    problems.append((loc + (key,), _unset_variable(m.group(1), key, value)))
                found = found if found is not None else (m.group(2) or "")
                if _SECRET_NAME.search(m.group(1)):
                    remember(secrets_in(found, whole=True))
                return found
            node[key] = _ENV_REF.sub(replace, value)
        else:
            _substitute_env(value, loc + (key,), problems)


def _unset_variable(name: str, key: Any, value: str) -> str:
    """The problem of an unset variable; for systemd's credentials folder, also the ways to provide the secret."""
    problem = f"environment variable {name} is not set"
    credential = value.partition("${CREDENTIALS_DIRECTORY}/")[2]
    if name != "CREDENTIALS_DIRECTORY" or not credential or not str(key).endswith("_file"):
        return problem
    return (f"{problem}: run under systemd with LoadCredential={credential}:/etc/brand-monitor/secrets/{credential}, "
            f"or set CREDENTIALS_DIRECTORY=/path/to/a/folder holding a file named {credential}, "
            f"or give {str(key).removesuffix('_file')}: ${{{credential.upper()}}} instead")


def _validate_plugins(doc: dict) -> tuple[dict, list[tuple[Loc, str]]]:
    """Validate each source/notifier against its kind's model; return the doc with model instances in place."""
    problems: list[tuple[Loc, str]] = []
    doc = dict(doc)
    for section, table, base in (("sources", registry.SOURCES, SourceConfig),
                                 ("notifiers", registry.NOTIFIERS, NotifierConfig)):
        entries = doc.get(section)
        if not isinstance(entries, dict):
            continue
        validated = {}
        for instance_id, raw in entries.items():
            loc = (section, instance_id)
            if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
                problems.append((loc + ("type",), "required: the kind of this entry, e.g. type: rss"))
                validated[instance_id] = base.model_construct(type="?")
                continue
            plugin = registry.lookup(table, raw["type"])
            if isinstance(plugin, str):
                problems.append((loc + ("type",), plugin))
                validated[instance_id] = base.model_construct(type=raw["type"])
                continue
            try:
                validated[instance_id] = plugin.config_model.model_validate(raw)
            except ValidationError as exc:
                problems += [_describe(err, plugin.config_model, loc) for err in exc.errors()]
                validated[instance_id] = base.model_construct(type=raw["type"])
        doc[section] = validated
    return doc, problems


def _cross_check(settings: Settings) -> list[tuple[Loc, str]]:
    """References between sections: route -> notifier, notifier -> fallback, filters -> brands/sources."""
    problems: list[tuple[Loc, str]] = []
    brands = {b.name for b in settings.brands}
    for i, route in enumerate(settings.routes):
        for j, target in enumerate(route.notify):
            if target not in settings.notifiers:
                problems.append((("routes", i, "notify", j), _unknown("notifier", target, settings.notifiers)))
        for j, target in enumerate(route.escalate.notify if route.escalate else []):
            if target not in settings.notifiers:
                problems.append((("routes", i, "escalate", "notify", j),
                                 _unknown("notifier", target, settings.notifiers)))
        for j, brand in enumerate(route.when.brand):
            if brand not in brands:
                problems.append((("routes", i, "when", "brand", j), _unknown("brand", brand, brands)))
        for j, source_id in enumerate(route.when.source):
            if source_id not in settings.sources:
                problems.append((("routes", i, "when", "source", j), _unknown("source", source_id, settings.sources)))
    for notifier_id, notifier in settings.notifiers.items():
        fallback = getattr(notifier, "fallback", None)
        if fallback is not None and (fallback == notifier_id or fallback not in settings.notifiers):
            problems.append((("notifiers", notifier_id, "fallback"),
                             _unknown("notifier", fallback, set(settings.notifiers) - {notifier_id})))
    for source_id, source in settings.sources.items():
        for j, brand in enumerate(getattr(source, "brands", [])):
            if brand not in brands:
                problems.append((("sources", source_id, "brands", j), _unknown("brand", brand, brands)))
        about = getattr(source, "about", None)
        if about is not None and about not in brands:
            problems.append((("sources", source_id, "about"), _unknown("brand", about, brands)))
        if isinstance(source, StreamConfig) and source.fallback is not None:
            problems += _fallback_problems(source_id, source, settings.sources)
    for i, brand in enumerate(settings.brands):
        for j, account in enumerate(brand.own_accounts):
            if account.platform == "x" and settings.public_replies.x_bearer_token is None:
                problems.append((("brands", i, "accounts", j), "reading X replies needs an X App's token: set "
                                 "public_replies.x_bearer_token_file (or x_bearer_token)"))
    problems += _duplicates("brands", "brand", [b.name for b in settings.brands])
    problems += _duplicates("routes", "route", [r.name for r in settings.routes])
    return problems


def _fallback_problems(source_id: str, stream: StreamConfig,
                       sources: dict[str, SourceConfig]) -> list[tuple[Loc, str]]:
    target = sources.get(stream.fallback or "")
    if target is None:
        return [(("sources", source_id, "fallback"), _unknown("source", stream.fallback, sources))]
    if target.type != stream.fallback_kind:
        return [(("sources", source_id, "fallback"), f"'{stream.fallback}' is a {target.type} source; the fallback "
                 f"of a {stream.type} stream polls the same network: a {stream.fallback_kind} source")]
    return []


def _duplicates(section: str, what: str, names: list[str]) -> list[tuple[Loc, str]]:
    seen: set[str] = set()
    problems: list[tuple[Loc, str]] = []
    for i, name in enumerate(names):
        if name in seen:
            problems.append(((section, i, "name"), f"duplicate {what} name '{name}'"))
        seen.add(name)
    return problems


def _unknown(what: str, name: str, known) -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    choices = f"did you mean '{hint[0]}'?" if hint else f"known: {', '.join(sorted(known)) or 'none'}"
    return f"unknown {what} '{name}' ({choices})"


def _describe(err: dict, model: type[BaseModel], prefix: Loc = ()) -> tuple[Loc, str]:
    """(location, message) for one pydantic error; `model` is what `err["loc"]` is relative to."""
    inner = tuple(part for part in err["loc"] if not _is_validator_tag(part))
    if err["type"] == "extra_forbidden":
        return prefix + inner, "unknown field" + _field_hint(model, inner)
    if err["type"] == "missing":
        return prefix + inner, "required field is missing"
    return prefix + inner, err["msg"].removeprefix("Value error, ")


def _is_validator_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _field_hint(model: type[BaseModel], loc: Loc) -> str:
    """Suggest the declared field closest to a misspelled key."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _inner_model(field.annotation) if field else None
        if inner is None:
            return ""
        model = inner
    names = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    candidates = (annotation, *(getattr(annotation, "__args__", ()) or ()))
    for arg in candidates:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _field_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(doc: Any, loc: Loc) -> int:
    """The line of the deepest part of `loc` that exists in the YAML document (1 when none does)."""
    line, node = 1, doc
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
        else:
            break
        node = node[part]
    return line
