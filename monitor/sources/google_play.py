"""Google Play: reviews of the brand's own Android apps through the Play Developer API (`reviews.list`).

Auth is a service account: its JSON key signs an RS256 JWT that the key's `token_uri` exchanges for an access
token (the OAuth 2.0 JWT bearer flow), which is reused until shortly before it expires. The API only holds the
reviews of the last week, newest `lastModified` first; paging stops at the first review already seen (the cursor
keeps, per package, the newest `lastModified` second and the review ids at that second).
"""
from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import AfterValidator, Field

from .. import registry
from ..errors import AuthFailedError, RateLimitedError
from ..http import parse_retry_after, raise_for_status, send_capped
from ..models import Author, Engagement, Post
from ..settings import Duration, SourceConfig
from .base import FetchResult, SourceState
from .common import (
    MAX_TEXT,
    Watermark,
    as_dict,
    dump_cursor,
    from_epoch,
    json_object,
    load_cursor,
    log_backlog_skipped,
    parse_json,
)

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
TOKEN_MARGIN = 120.0  # a token this close to expiry is replaced
_JAVA_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")


def _package_id(value: str) -> str:
    if not _JAVA_PACKAGE.fullmatch(value):
        raise ValueError(f"{value!r} is not an Android package name (like com.example.app)")
    return value


class GooglePlayConfig(SourceConfig):
    type: Literal["google_play"]
    every: Duration = 1800.0
    packages: list[Annotated[str, AfterValidator(_package_id)]] = Field(min_length=1)
    service_account_file: Path        # the service account's JSON key
    token_url: str | None = None      # default: the key's token_uri
    api_url: str = "https://androidpublisher.googleapis.com/androidpublisher/v3"
    translation_language: str | None = None  # e.g. "en": reviews come translated into it
    max_pages: int = Field(default=5, ge=1, le=20)
    lookback: Duration = 86400.0      # how far back the first poll of a package looks (the API keeps a week)


class GooglePlaySource:
    platform = "google_play"

    def __init__(self, source_id: str, config: GooglePlayConfig, ctx: registry.PluginContext,
                 clock: Callable[[], float] = time.time):
        self.source_id, self.config, self.http, self.clock = source_id, config, ctx.http, clock
        self.token, self.token_expires = "", 0.0

    async def fetch(self, state: SourceState) -> FetchResult:
        """Any error fails the whole poll: the cursor stays where it was, so nothing is lost or repeated."""
        marks = load_cursor(state.cursor)
        posts: list[Post] = []
        for package in self.config.packages:
            found, marks[package] = await self._reviews(package, marks.get(package))
            posts += found
        return FetchResult(posts=posts, cursor=dump_cursor(marks))

    async def _reviews(self, package: str, value: Any) -> tuple[list[Post], dict[str, Any]]:
        """New reviews of one package and its new mark (a Watermark at the newest `lastModified` second)."""
        mark = Watermark.load(value) or Watermark(int(self.clock() - self.config.lookback))
        params: dict[str, Any] = {"maxResults": 100}
        if self.config.translation_language:
            params["translationLanguage"] = self.config.translation_language
        found: list[tuple[int, Post]] = []
        for _ in range(self.config.max_pages):
            data = await self._call(package, params)
            for review in _list(data.get("reviews")):
                modified, post = self._to_post(package, review)
                if post is None:
                    continue
                if modified < mark.since():
                    return [p for _, p in found], _advanced(mark, found)
                if mark.is_new(post.id, modified):
                    found.append((modified, post))
            token = as_dict(data.get("tokenPagination")).get("nextPageToken")
            if not isinstance(token, str) or not token:
                break
            params = {**params, "token": token}
        else:
            if value:
                log_backlog_skipped(self.source_id, package, self.config.max_pages)
        return [p for _, p in found], _advanced(mark, found)

    async def _call(self, package: str, params: dict[str, Any]) -> dict[str, Any]:
        what = f"google_play reviews.list {package}"
        response, body = await send_capped(
            self.http, "GET", f"{self.config.api_url.rstrip('/')}/applications/{package}/reviews", params=params,
            headers={"Authorization": f"Bearer {await self._access_token()}"},
            max_bytes=self.config.max_bytes, timeout=self.config.timeout)
        if response.status_code in (401, 403, 429):
            error = as_dict((json_object(body) or {}).get("error"))
            text = f"{what}: HTTP {response.status_code}: {str(error.get('message') or 'no message')[:200]}"
            if response.status_code == 429:
                raise RateLimitedError(text, parse_retry_after(response.headers.get("Retry-After")))
            if response.status_code == 401:
                self.token_expires = 0.0
            raise AuthFailedError(f"{text} (check that the service account is invited in Play Console, under "
                                  "Users and permissions, with access to this app's reviews)")
        raise_for_status(response, what)
        data = parse_json(body, what)
        return data if isinstance(data, dict) else {}

    async def _access_token(self) -> str:
        """The cached access token, or a new one for a JWT signed with the service account's key."""
        if self.token and self.clock() < self.token_expires - TOKEN_MARGIN:
            return self.token
        account = self._service_account()
        token_url = self.config.token_url or account["token_uri"]
        what = f"google_play token exchange for {self.config.service_account_file}"
        response, body = await send_capped(
            self.http, "POST", token_url, data={"grant_type": GRANT_TYPE, "assertion": self._jwt(account)},
            max_bytes=self.config.max_bytes, timeout=self.config.timeout)
        answer = json_object(body) or {}
        if response.status_code in (400, 401) and answer.get("error") in ("invalid_grant", "invalid_client"):
            raise AuthFailedError(f"{what}: {answer['error']}: {str(answer.get('error_description') or '')[:200]} "
                                  f"(check {self.config.service_account_file}: the key may be deleted or disabled)")
        raise_for_status(response, what)
        if not isinstance(answer.get("access_token"), str):
            raise AuthFailedError(f"{what}: the answer has no access_token")
        expires_in = answer.get("expires_in")
        self.token = answer["access_token"]
        self.token_expires = self.clock() + (expires_in if isinstance(expires_in, (int, float)) else TOKEN_LIFETIME)
        return self.token

    def _service_account(self) -> dict[str, Any]:
        """The key file's fields; a missing or broken file parks the source (its content is never shown)."""
        path = self.config.service_account_file
        try:
            account = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a JSON key file"
            raise AuthFailedError(f"google_play: cannot read service_account_file {path}: {reason}") from None
        missing = [k for k in ("client_email", "private_key") if not isinstance(as_dict(account).get(k), str)]
        if missing:
            raise AuthFailedError(f"google_play: service_account_file {path} has no {', '.join(missing)}: "
                                  "download a JSON key of the service account")
        return {"token_uri": "https://oauth2.googleapis.com/token", **account}

    def _jwt(self, account: dict[str, Any]) -> str:
        try:
            key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise AuthFailedError(f"google_play: the private_key in {self.config.service_account_file} "
                                  "is not an RSA key")
        now = int(self.clock())
        header = {"alg": "RS256", "typ": "JWT", **({"kid": account["private_key_id"]}
                                                    if isinstance(account.get("private_key_id"), str) else {})}
        claims = {"iss": account["client_email"], "scope": SCOPE, "aud": account["token_uri"],
                  "iat": now, "exp": now + TOKEN_LIFETIME}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def _to_post(self, package: str, review: dict[str, Any]) -> tuple[int, Post | None]:
        comment = next((as_dict(c.get("userComment")) for c in _list(review.get("comments")) if "userComment" in c),
                       {})
        modified, review_id = _int(as_dict(comment.get("lastModified")).get("seconds")), review.get("reviewId")
        published = from_epoch(modified)
        if not modified or published is None or not isinstance(review_id, str):
            return 0, None
        stars = _int(comment.get("starRating"))
        translated = self.config.translation_language if comment.get("originalText") else None
        text = str(comment.get("text") or "").strip()
        return modified, Post(
            source_id=self.source_id,
            platform=self.platform,
            id=review_id,
            url=f"https://play.google.com/store/apps/details?id={package}&reviewId={review_id}",
            text=(f"{'★' * stars}{'☆' * (5 - stars)} {text}" if 1 <= stars <= 5 else text)[:MAX_TEXT],
            author=Author(display_name=str(review.get("authorName") or "")),
            published_at=published,
            engagement=Engagement(likes=_int(comment.get("thumbsUpCount"))),
            lang_hint=translated or comment.get("reviewerLanguage") or None,
            raw={"package": package, "star_rating": stars, "app_version": comment.get("appVersionName"),
                 "device": comment.get("device"), "original_text": comment.get("originalText")},
        )


def _advanced(mark: Watermark, found: list[tuple[int, Post]]) -> dict[str, Any]:
    return mark.advanced((p.id, modified) for modified, p in found).dump()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: Any) -> int:
    """Google sends int64 fields (lastModified.seconds) as strings."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return max(number, 0)


def _list(value: Any) -> list[dict[str, Any]]:
    return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []



@registry.source("google_play", GooglePlayConfig)
def make_google_play(source_id: str, config: GooglePlayConfig, ctx: registry.PluginContext) -> GooglePlaySource:
    return GooglePlaySource(source_id, config, ctx)
