"""Contract fakes of the chat services, served for real by pytest-httpserver on 127.0.0.1.

Each reproduces the documented replies of its service (status codes, headers, bodies: reference/notifiers.md
§1, §2, §8), validates payloads against the documented limits, and has a fault queue: `fail(status, body,
headers)` makes the next request get that reply.
"""
from __future__ import annotations

import dataclasses
import html
import itertools
import json
import re
from typing import Any

from werkzeug import Request, Response

from monitor.models import Alert

HOSTILE = ("<!channel> @everyone @here <at>x</at> <users/all> <@U123> <!subteam^S1> "
           "[click](https://evil.example/x) ![px](https://evil.example/p.png) <https://evil.example|login> & done")
MENTION_TOKENS = ("<!channel>", "<!here>", "<@U123>", "<users/all>", "<!subteam", "@everyone", "@here",
                  "<https://evil")
MARKDOWN_LINKS = ("](https://evil", "![px]")


def with_post(alert: Alert, **changes: Any) -> Alert:
    post = dataclasses.replace(alert.mention.post, **changes)
    return dataclasses.replace(alert, mention=dataclasses.replace(alert.mention, post=post))


def surviving_tokens(text: str) -> list[str]:
    """Mention/link tokens that are still intact in `text`."""
    return [token for token in MENTION_TOKENS if token in text]


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def assert_no_secret(exc: BaseException, *secrets: str) -> None:
    text = f"{exc} {exc!r} {exc.args}"
    for secret in secrets:
        assert secret not in text, f"secret leaked in {text!r}"
    assert exc.__cause__ is None  # the httpx exception (which holds the URL) is not chained


class Fake:
    """Records JSON bodies; replays queued faults before doing its normal job."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.bodies: list[Any] = []
        self.faults: list[Response] = []

    def fail(self, status: int, body: str | dict | None = None, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, dict):
            self.faults.append(Response(json.dumps(body), status, headers, content_type="application/json"))
        else:
            self.faults.append(Response(body or "", status, headers, content_type="text/plain; charset=utf-8"))

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.faults:
            return self.faults.pop(0)
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return self.bad_json()
        self.bodies.append(body)
        return self.handle(request, body)

    def bad_json(self) -> Response:
        return Response("invalid_payload", 400, content_type="text/plain")

    def handle(self, request: Request, body: Any) -> Response:
        return Response("", 204)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


# --- Slack -------------------------------------------------------------------------------------------------

def slack_block_problem(payload: dict[str, Any]) -> str | None:
    """Block Kit limits, including the ~13k total-characters quirk behind msg_blocks_too_long."""
    blocks = payload.get("blocks", [])
    if not payload.get("text") and not blocks:
        return "no_text"
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if block["type"] == "header" and len(block["text"]["text"]) > 150:
            return "invalid_blocks"
        if block["type"] == "section":
            if len(block.get("text", {}).get("text", "")) > 3000:
                return "invalid_blocks"
            fields = block.get("fields", [])
            if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
                return "invalid_blocks"
    if sum(len(s) for s in strings_in(blocks)) > 13_000:
        return "msg_blocks_too_long"
    return None


class SlackWebhook(Fake):
    def handle(self, request: Request, body: Any) -> Response:
        problem = slack_block_problem(body)
        if problem:
            return Response(problem, 400, content_type="text/plain")
        return Response("ok", 200, content_type="text/html")


class SlackApi(Fake):
    def __init__(self, token: str, channel: str) -> None:
        super().__init__()
        self.token, self.channel, self._ts = token, channel, itertools.count(100)

    def bad_json(self) -> Response:
        return _json(200, {"ok": False, "error": "invalid_json"})

    def handle(self, request: Request, body: Any) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(200, {"ok": False, "error": "invalid_auth"})
        if body.get("channel") != self.channel:
            return _json(200, {"ok": False, "error": "channel_not_found"})
        problem = slack_block_problem(body)
        if problem:
            return _json(200, {"ok": False, "error": problem})
        ts = f"1700000000.{next(self._ts):06d}"
        return _json(200, {"ok": True, "channel": self.channel, "ts": ts,
                           "message": {"type": "message", "text": body["text"], "ts": ts}})


# --- Discord -----------------------------------------------------------------------------------------------

_DISCORD_RATE = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset": "1700000000.5",
                 "X-RateLimit-Reset-After": "2.0", "X-RateLimit-Bucket": "abcd"}


def discord_embed_problem(embeds: list[dict[str, Any]]) -> str | None:
    if len(embeds) > 10:
        return "embeds: must be 10 or fewer in length."
    total = 0
    for e in embeds:
        fields = e.get("fields", [])
        if len(e.get("title", "")) > 256 or len(e.get("description", "")) > 4096 or len(fields) > 25:
            return "embeds.0: Must be 4096 or fewer in length."
        if any(len(f["name"]) > 256 or len(f["value"]) > 1024 or not f["value"] for f in fields):
            return "embeds.0.fields: Must be 1024 or fewer in length."
        total += len(e.get("title", "")) + len(e.get("description", "")) + len(e.get("footer", {}).get("text", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    return "embeds: total size exceeds 6000" if total > 6000 else None


class DiscordWebhook(Fake):
    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1_100_000_000_000_000_000)

    def bad_json(self) -> Response:
        return _json(400, {"message": "Invalid JSON", "code": 50109}, _DISCORD_RATE)

    def handle(self, request: Request, body: Any) -> Response:
        assert body.get("allowed_mentions") == {"parse": []}, "allowed_mentions missing: mentions would ping"
        if not body.get("content") and not body.get("embeds"):
            return _json(400, {"message": "Cannot send an empty message", "code": 50006}, _DISCORD_RATE)
        if len(body.get("content", "")) > 2000 or discord_embed_problem(body.get("embeds", [])):
            return _json(400, {"message": "Invalid Form Body", "code": 50035,
                               "errors": {"embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                                  "message": "too long"}]}}}, _DISCORD_RATE)
        if request.args.get("wait") != "true":
            return Response("", 204, _DISCORD_RATE)
        return _json(200, {"id": str(next(self._ids)), "type": 0, "channel_id": "222", "webhook_id": "123",
                           "content": body.get("content", ""), "embeds": body.get("embeds", []),
                           "timestamp": "2026-01-01T00:00:00.000000+00:00"}, _DISCORD_RATE)


# --- Teams ---------------------------------------------------------------------------------------------------

class TeamsWorkflow(Fake):
    """202 for anything that parses; cards the flow could not render go to `flow_failures` (silently, as live)."""

    def __init__(self) -> None:
        super().__init__()
        self.flow_failures: list[str] = []

    def __call__(self, request: Request) -> Response:
        if not self.faults and len(request.get_data()) > 28 * 1024:
            return Response("", 413)
        return super().__call__(request)

    def bad_json(self) -> Response:
        return _json(400, {"error": {"code": "InvalidRequestContent", "message": "The input body is not JSON."}})

    def handle(self, request: Request, body: Any) -> Response:
        try:
            card = body["attachments"][0]["content"]
            assert body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
            assert card["type"] == "AdaptiveCard" and isinstance(card["body"], list)
        except (KeyError, IndexError, TypeError, AssertionError):
            self.flow_failures.append("not an Adaptive Card message")
        return Response("", 202)


# --- Telegram --------------------------------------------------------------------------------------------------

_TG_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote",
            "tg-spoiler", "span"}
_TG_TOKEN = re.compile(r"<(/?)([a-z-]+)(?:\s[^<>]*)?>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);|[<>&]")


def telegram_parse(text: str) -> str | None:
    """The visible text, or None when Telegram would answer "can't parse entities"."""
    stack: list[str] = []
    out, pos = [], 0
    for m in _TG_TOKEN.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if token in "<>&":
            return None
        if m.group(2):
            if m.group(2) not in _TG_TAGS:
                return None
            if m.group(1):
                if not stack or stack.pop() != m.group(2):
                    return None
            else:
                stack.append(m.group(2))
        else:
            out.append(html.unescape(token))
    out.append(text[pos:])
    return None if stack else "".join(out)


class TelegramBot(Fake):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token, self._ids = token, itertools.count(1)

    @staticmethod
    def error(code: int, description: str, **parameters: Any) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return _json(code, body)

    def bad_json(self) -> Response:
        return self.error(400, "Bad Request: message text is empty")

    def handle(self, request: Request, body: Any) -> Response:
        if request.path != f"/bot{self.token}/sendMessage":
            return self.error(401, "Unauthorized")
        visible = telegram_parse(body.get("text", "")) if body.get("parse_mode") == "HTML" else body.get("text")
        if visible is None:
            return self.error(400, "Bad Request: can't parse entities: unsupported start tag")
        if not visible or len(visible.encode("utf-16-le")) // 2 > 4096:
            return self.error(400, "Bad Request: message is too long")
        for row in body.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                if not str(button.get("url", "")).startswith(("http://", "https://")):
                    return self.error(400, "Bad Request: BUTTON_URL_INVALID")
        return _json(200, {"ok": True, "result": {"message_id": next(self._ids), "date": 1700000000,
                                                  "chat": {"id": body["chat_id"], "type": "supergroup"},
                                                  "text": visible}})


# --- Mattermost ----------------------------------------------------------------------------------------------

_MM_MENTION = re.compile(r"@(channel|here|all)\b|<!(channel|here|all|everyone)>|<@\w+>")


class MattermostHook(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.would_notify: list[str] = []
        self.split_posts = 0

    def bad_json(self) -> Response:
        return Response("Invalid webhook", 400, content_type="text/plain")

    def handle(self, request: Request, body: Any) -> Response:
        text = body.get("text", "")
        if not text and not body.get("attachments"):
            return _json(400, {"id": "web.incoming_webhook.text.app_error", "message": "No text specified.",
                               "status_code": 400})
        self.would_notify += [m.group(0) for m in _MM_MENTION.finditer(text)]
        self.split_posts += max(0, (len(text) - 1) // 16_383)
        return Response("ok", 200, content_type="text/plain")


# --- Google Chat -----------------------------------------------------------------------------------------------

class GoogleChatSpace(Fake):
    def __init__(self, key: str, token: str) -> None:
        super().__init__()
        self.key, self.token = key, token
        self.by_request: dict[str, dict[str, Any]] = {}
        self.message_ids: set[str] = set()
        self.created = 0

    @staticmethod
    def error(code: int, status: str, message: str) -> Response:
        return _json(code, {"error": {"code": code, "message": message, "status": status}})

    def bad_json(self) -> Response:
        return self.error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")

    def handle(self, request: Request, body: Any) -> Response:
        if request.args.get("key") != self.key or request.args.get("token") != self.token:
            return self.error(403, "PERMISSION_DENIED", "The caller does not have permission")
        if len(request.get_data()) > 32_000:
            return self.error(400, "INVALID_ARGUMENT", "Message too large.")
        request_id, message_id = request.args.get("requestId"), request.args.get("messageId")
        if request_id in self.by_request:
            return _json(200, self.by_request[request_id])
        if message_id in self.message_ids:
            return self.error(409, "ALREADY_EXISTS", "Message with that ID already exists.")
        if message_id is not None and not re.fullmatch(r"client-[a-z0-9-]{1,56}", message_id):
            return self.error(400, "INVALID_ARGUMENT", "Invalid message ID.")
        self.created += 1
        name = f"spaces/S/messages/{message_id or self.created}"
        reply = {"name": name, "text": body.get("text", ""), "thread": {"name": f"spaces/S/threads/{self.created}"}}
        if request_id:
            self.by_request[request_id] = reply
        if message_id:
            self.message_ids.add(message_id)
        return _json(200, reply)


# --- ntfy --------------------------------------------------------------------------------------------------------

NTFY_429 = {"code": 42901, "http": 429, "error": "limit reached: too many requests",
            "link": "https://ntfy.sh/docs/publish/#limitations"}


class NtfyServer(Fake):
    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token, self.attachments, self._ids = token, 0, itertools.count(1)

    def bad_json(self) -> Response:
        return _json(400, {"code": 40024, "http": 400, "error": "invalid request: body must be message JSON"})

    def handle(self, request: Request, body: Any) -> Response:
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(401, {"code": 40101, "http": 401, "error": "unauthorized"})
        if not re.fullmatch(r"[-_A-Za-z0-9]{1,64}", str(body.get("topic", ""))):
            return _json(400, {"code": 40009, "http": 400, "error": "invalid request: topic invalid"})
        if len(str(body.get("message", "")).encode()) > 4096:
            self.attachments += 1  # ntfy turns the message into an attachment: not what we want
        return _json(200, {"id": f"msg{next(self._ids)}", "time": 1700000000, "expires": 1700043200,
                           "event": "message", "topic": body["topic"], "title": body.get("title"),
                           "message": body.get("message"), "priority": body.get("priority")})
