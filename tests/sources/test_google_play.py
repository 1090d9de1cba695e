"""Google Play source against a fake token endpoint and a fake Play Developer API (reviews.list) on loopback.

The bodies in data/google_*.json follow the published references (androidpublisher v3 reviews.list, Google's
OAuth 2.0 token endpoint). The test makes a throwaway RSA key; the token endpoint checks the JWT's signature
with its public key and its claims, as Google does."""
from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug import Request, Response

from monitor import registry
from monitor.errors import AuthFailedError, ConfigError, RateLimitedError
from monitor.registry import PluginContext
from monitor.settings import BrandConfig, parse_settings
from monitor.sources.base import SourceState
from monitor.sources.google_play import GooglePlayConfig

DATA = Path(__file__).parent / "data"
NOW = 1795166000.0
PACKAGE = "com.acme.selfcare"
ACCESS_TOKEN = "ya29.c.b0AXv0zTOf1Jr8-play-test-access-token"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGoogle:
    """The token endpoint (JWT bearer grant, signature checked) and reviews.list with token paging."""

    def __init__(self, token_url: str):
        self.key, self.token_url = new_key(), token_url
        self.pages = {"": load("google_play_reviews_page1.json"), "page2": load("google_play_reviews_page2.json")}
        self.pages[""]["tokenPagination"]["nextPageToken"] = "page2"
        self.error: tuple[int, str] | None = None
        self.exchanges: list[dict] = []
        self.calls: list[dict] = []

    def token(self, request: Request) -> Response:
        form = request.form.to_dict()
        header, claims, signature = form["assertion"].split(".")
        try:
            self.key.public_key().verify(unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(),
                                         hashes.SHA256())
        except InvalidSignature:
            return self._reply(load("google_oauth2_invalid_grant.json"), 400)
        self.exchanges.append({"grant_type": form["grant_type"], "header": json.loads(unb64(header)),
                               "claims": json.loads(unb64(claims))})
        return self._reply(load("google_oauth2_token.json"))

    def reviews(self, request: Request) -> Response:
        self.calls.append({"path": request.path, **request.args.to_dict()})
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return self._reply({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                          "status": "UNAUTHENTICATED"}}, 401)
        if self.error:
            status, name = self.error
            return self._reply(load(name), status, {"Retry-After": "30"} if status == 429 else {})
        return self._reply(self.pages[request.args.get("token", "")])

    @staticmethod
    def _reply(body: dict, status: int = 200, headers: dict | None = None) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                        content_type="application/json; charset=UTF-8")


@pytest.fixture
def google(httpserver) -> FakeGoogle:
    fake = FakeGoogle(httpserver.url_for("/token"))
    httpserver.expect_request("/token", method="POST").respond_with_handler(fake.token)
    httpserver.expect_request(f"/androidpublisher/v3/applications/{PACKAGE}/reviews").respond_with_handler(
        fake.reviews)
    return fake


def key_file(tmp_path: Path, google: FakeGoogle, key: rsa.RSAPrivateKey | None = None) -> Path:
    pem = (key or google.key).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    path = tmp_path / "play-service-account.json"
    path.write_text(json.dumps(load("google_service_account.json") | {"private_key": pem,
                                                                       "token_uri": google.token_url}))
    return path


def make_source(httpserver, client, path: Path):
    config = GooglePlayConfig.model_validate({
        "type": "google_play", "packages": [PACKAGE], "service_account_file": str(path),
        "api_url": httpserver.url_for("/androidpublisher/v3")})
    source = registry.lookup(registry.SOURCES, "google_play").factory(
        "play", config, PluginContext(client, (BrandConfig(name="Acme"),)))
    source.clock = lambda: NOW
    return source


async def test_exchanges_a_signed_jwt_once_maps_reviews_and_resumes(httpserver, client, google, tmp_path):
    source = make_source(httpserver, client, key_file(tmp_path, google))
    first = await source.fetch(SourceState("play"))

    assert [p.id for p in first.posts] == ["gp:AOqpTOH3u9mVcQk1DzT0ft6Z8kR2Xb4Wq1",
                                           "gp:AOqpTOGx7Lr2pN0sYe5Kb8Vd3Hq6Jm9Tz2",
                                           "gp:AOqpTOEn4Wc8Rt1Ua7Ys2Qp5Mk0Ld3Vb6"]
    post = first.posts[0]
    assert post.platform == "google_play"
    assert post.url == f"https://play.google.com/store/apps/details?id={PACKAGE}&reviewId={post.id}"
    assert post.text == "★★☆☆☆ App crashes every time I open the bill screen since the update. Acme please fix"
    assert (post.author.display_name, post.engagement.likes, post.lang_hint) == ("Dana Kowalski", 7, "en")
    assert post.published_at == datetime.fromtimestamp(1795165200, tz=UTC)
    assert (post.raw["star_rating"], post.raw["app_version"]) == (2, "4.12.0")
    assert first.posts[1].lang_hint == "de" and first.posts[1].text.startswith("★★★★★ Schnell")
    assert [c.get("token") for c in google.calls] == [None, "page2"]

    [exchange] = google.exchanges
    assert exchange["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert exchange["header"] == {"alg": "RS256", "typ": "JWT", "kid": "2f6c1d9e0a7b4c3d8e5f6a1b2c3d4e5f6a7b8c9d"}
    assert exchange["claims"] == {"iss": "brand-monitor@acme-play-reviews.iam.gserviceaccount.com",
                                  "scope": "https://www.googleapis.com/auth/androidpublisher",
                                  "aud": google.token_url, "iat": int(NOW), "exp": int(NOW) + 3600}

    same_second = copy.deepcopy(google.pages[""]["reviews"][0]) | {"reviewId": "gp:AOqpTOSameSecond"}
    google.pages[""]["reviews"].insert(0, same_second)
    second = await source.fetch(SourceState("play", cursor=first.cursor))
    assert [p.id for p in second.posts] == ["gp:AOqpTOSameSecond"]
    assert len(google.calls) == 3  # stopped at the first review older than the cursor
    assert len(google.exchanges) == 1  # the token was reused

    restarted = make_source(httpserver, client, key_file(tmp_path, google))
    assert (await restarted.fetch(SourceState("play", cursor=second.cursor))).posts == []


async def test_a_key_google_does_not_know_is_invalid_grant_naming_the_file(httpserver, client, google, tmp_path):
    path = key_file(tmp_path, google, key=new_key())
    with pytest.raises(AuthFailedError, match=f"invalid_grant: Invalid JWT Signature.*check {path}") as caught:
        await make_source(httpserver, client, path).fetch(SourceState("play"))
    assert "PRIVATE KEY" not in str(caught.value)
    assert google.calls == []


async def test_no_access_in_play_console_says_so(httpserver, client, google, tmp_path):
    google.error = (403, "google_play_error_403.json")
    with pytest.raises(AuthFailedError, match="HTTP 403: The current user has insufficient permissions.*Play Console"):
        await make_source(httpserver, client, key_file(tmp_path, google)).fetch(SourceState("play"))


async def test_rate_limited_waits_as_told(httpserver, client, google, tmp_path):
    google.error = (429, "google_play_error_429.json")
    with pytest.raises(RateLimitedError, match="HTTP 429: Quota exceeded") as caught:
        await make_source(httpserver, client, key_file(tmp_path, google)).fetch(SourceState("play"))
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize(("packages", "problem"), [
    ("[]", "config.yaml:5: sources.play.packages: List should have at least 1 item after validation, not 0"),
    ("[com.acme.app, acme app]",
     "config.yaml:5: sources.play.packages[1]: 'acme app' is not an Android package name (like com.example.app)"),
])
def test_check_names_file_line_and_field(packages, problem):
    with pytest.raises(ConfigError) as caught:
        parse_settings("brands: [{name: Acme}]\nsources:\n  play:\n    type: google_play\n"
                       f"    packages: {packages}\n    service_account_file: /etc/play.json\n", "config.yaml")
    assert caught.value.problems == [problem]
