"""Loopback fakes of the Telegram Bot API and the Slack Web API, as far as acknowledgements need them.

Shapes, status codes and error texts follow the services' documentation (Telegram Bot API: getUpdates,
answerCallbackQuery, sendMessage; Slack: auth.test, chat.postMessage, reactions.get): a handler per service,
served by pytest-httpserver, with a queue of faults (`fail(...)`) replayed before normal answers.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response


def reply(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


class Faults:
    def __init__(self) -> None:
        self.faults: list[tuple[str | None, Response]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def fail(self, status: int, body: dict[str, Any] | str, method: str | None = None,
             headers: dict[str, str] | None = None) -> None:
        """The next call (of `method`, or of any method) gets this answer."""
        response = reply(status, body, headers) if isinstance(body, dict) else \
            Response(body, status, headers, content_type="text/html")
        self.faults.append((method, response))

    def _fault_for(self, method: str) -> Response | None:
        for i, (wanted, response) in enumerate(self.faults):
            if wanted in (None, method):
                return self.faults.pop(i)[1]
        return None


# --- Telegram --------------------------------------------------------------------------------------------------

def tg_error(code: int, description: str) -> Response:
    return reply(code, {"ok": False, "error_code": code, "description": description})


def button_problem(markup: dict[str, Any]) -> str | None:
    for row in markup.get("inline_keyboard", []):
        for button in row:
            kinds = [k for k in ("url", "callback_data") if k in button]
            if len(kinds) != 1 or not button.get("text"):
                return ("Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard")
            if "url" in button and not str(button["url"]).startswith(("http://", "https://")):
                return "Bad Request: BUTTON_URL_INVALID"
            if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


@dataclass
class TgUser:
    id: int
    first_name: str
    username: str | None = None

    def as_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": "en"}
        if self.username:
            user["username"] = self.username
        return user


class TelegramBotApi(Faults):
    """One bot: the messages it sent (with their keyboards), a queue of updates, answered callback queries."""

    def __init__(self, token: str, chat_id: int = -1001234567890) -> None:
        super().__init__()
        self.token, self.chat_id = token, chat_id
        self.messages: dict[int, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.webhook: str | None = None
        self.allowed: list[str] = []
        self.expired: set[str] = set()   # callback query ids too old to answer
        self._message_ids, self._update_ids, self._query_ids = (itertools.count(1), itertools.count(500_000_001),
                                                                itertools.count(7_000_001))

    def press(self, message_id: int, user: TgUser, button: str = "✅ Acknowledge") -> str:
        """A user taps a callback button under one of the bot's messages: Telegram queues a callback_query."""
        message = self.messages[message_id]
        data = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row
                    if b["text"] == button)
        query_id = str(next(self._query_ids))
        self.updates.append({"update_id": next(self._update_ids), "callback_query": {
            "id": query_id, "from": user.as_json(), "message": message, "chat_instance": "-8012345678901234567",
            "data": data}})
        return query_id

    def post_in_chat(self, text: str) -> None:
        """An ordinary group message (an update type the listener did not ask for)."""
        self.updates.append({"update_id": next(self._update_ids), "message": {
            "message_id": next(self._message_ids), "date": 1800000000, "text": text,
            "chat": {"id": self.chat_id, "type": "supergroup", "title": "Support"}}})

    def __call__(self, request: Request) -> Response:
        prefix, _, method = request.path.rpartition("/")
        if prefix != f"/bot{self.token}":
            return tg_error(401, "Unauthorized")
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return tg_error(400, "Bad Request: invalid JSON")
        self.calls.append((method, body))
        fault = self._fault_for(method)
        if fault is not None:
            return fault
        handler = {"sendMessage": self.send_message, "getUpdates": self.get_updates,
                   "answerCallbackQuery": self.answer}.get(method)
        return handler(body) if handler else tg_error(404, "Not Found")

    def send_message(self, body: dict[str, Any]) -> Response:
        problem = button_problem(body.get("reply_markup") or {})
        if problem:
            return tg_error(400, problem)
        message = {"message_id": next(self._message_ids), "date": 1800000000, "text": body["text"],
                   "from": {"id": 999, "is_bot": True, "first_name": "Brand alerts", "username": "brand_alerts_bot"},
                   "chat": {"id": body["chat_id"], "type": "supergroup", "title": "Support"}}
        if "reply_markup" in body:
            message["reply_markup"] = body["reply_markup"]
        self.messages[message["message_id"]] = message
        return reply(200, {"ok": True, "result": message})

    def get_updates(self, body: dict[str, Any]) -> Response:
        if self.webhook:
            return tg_error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                                 "to delete the webhook first")
        offset = body.get("offset")
        if isinstance(offset, int):  # calling with an offset confirms every earlier update
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if body.get("allowed_updates") is not None:  # remembered by Telegram until changed
            self.allowed = list(body["allowed_updates"])
        if self.allowed:  # other kinds are not kept for this bot
            self.updates = [u for u in self.updates if any(kind in u for kind in self.allowed)]
        return reply(200, {"ok": True, "result": self.updates[:int(body.get("limit", 100))]})

    def answer(self, body: dict[str, Any]) -> Response:
        query_id = body.get("callback_query_id")
        known = {u["callback_query"]["id"] for u in self.updates if "callback_query" in u} | set(self.answers)
        if query_id not in known or query_id in self.expired or query_id in self.answers:
            return tg_error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answers[query_id] = body
        return reply(200, {"ok": True, "result": True})


# --- Slack -----------------------------------------------------------------------------------------------------

@dataclass
class SlackMessage:
    ts: str
    text: str
    reactions: dict[str, list[str]] = field(default_factory=dict)


class SlackWorkspace(Faults):
    """One channel; chat.postMessage stores messages, people react, reactions.get reports them."""

    BOT_USER = "U0BOT0001"

    def __init__(self, token: str, channel: str = "C0ALERTS1", scopes: tuple[str, ...] = ("chat:write",
                                                                                       "reactions:read")) -> None:
        super().__init__()
        self.token, self.channel, self.scopes = token, channel, scopes
        self.messages: dict[str, SlackMessage] = {}
        self._ts = itertools.count(1)

    def react(self, ts: str, name: str, user: str) -> None:
        self.messages[ts].reactions.setdefault(name, []).append(user)

    def __call__(self, request: Request) -> Response:
        method = request.path.rsplit("/", 1)[-1]
        if request.method == "POST":
            try:
                args = json.loads(request.get_data() or b"{}")
            except ValueError:
                return reply(200, {"ok": False, "error": "invalid_json"})
        else:
            args = dict(request.args)
        self.calls.append((method, args))
        fault = self._fault_for(method)
        if fault is not None:
            return fault
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return reply(200, {"ok": False, "error": "invalid_auth"})
        handler = {"auth.test": self.auth_test, "chat.postMessage": self.post_message,
                   "reactions.get": self.reactions_get}.get(method)
        return handler(args) if handler else reply(404, {"ok": False, "error": "unknown_method"})

    def auth_test(self, args: dict[str, Any]) -> Response:
        return reply(200, {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "brand-alerts",
                           "team_id": "T0ACME001", "user_id": self.BOT_USER, "bot_id": "B0BOT0001",
                           "is_enterprise_install": False})

    def post_message(self, args: dict[str, Any]) -> Response:
        if args.get("channel") not in (self.channel, "#alerts"):
            return reply(200, {"ok": False, "error": "channel_not_found"})
        ts = f"1800000000.{next(self._ts):06d}"
        self.messages[ts] = SlackMessage(ts, args.get("text", ""))
        return reply(200, {"ok": True, "channel": self.channel, "ts": ts,
                           "message": {"type": "message", "text": args.get("text", ""), "user": self.BOT_USER,
                                       "ts": ts}})

    def reactions_get(self, args: dict[str, Any]) -> Response:
        if "reactions:read" not in self.scopes:
            return reply(200, {"ok": False, "error": "missing_scope", "needed": "reactions:read",
                               "provided": ",".join(self.scopes)})
        if args.get("channel") != self.channel:  # names are not accepted here, only IDs
            return reply(200, {"ok": False, "error": "channel_not_found"})
        message = self.messages.get(str(args.get("timestamp")))
        if message is None:
            return reply(200, {"ok": False, "error": "message_not_found"})
        item: dict[str, Any] = {"type": "message", "text": message.text, "user": self.BOT_USER, "ts": message.ts,
                                "team": "T0ACME001",
                                "permalink": f"https://acme.slack.com/archives/{self.channel}/p{message.ts}"}
        if message.reactions:
            item["reactions"] = [{"name": name, "users": users, "count": len(users)}
                                 for name, users in message.reactions.items()]
        return reply(200, {"ok": True, "type": "message", "channel": self.channel, "message": item})
