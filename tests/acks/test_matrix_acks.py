"""Matrix reactions acknowledge alerts: against the real Synapse on 127.0.0.1 (tests/servers/synapse.py)."""
from __future__ import annotations

import math
import uuid
from urllib.parse import quote

import pytest

from monitor.acks.matrix import MatrixAckListener, reactions_in
from monitor.errors import AuthFailedError, TransientError
from monitor.notifiers.matrix import MatrixConfig, MatrixNotifier
from tests.acks.helpers import NOW, acked, deliver
from tests.servers import synapse as servers
from tests.servers.ports import free_port
from tests.servers.synapse import MatrixWorld

synapse_server = servers.synapse_server
matrix_world = servers.matrix_world


def config(world: MatrixWorld, token: str, homeserver: str | None = None) -> MatrixConfig:
    return MatrixConfig(type="matrix", homeserver=homeserver or world.url, access_token=token,
                        room_id=world.room_id, timeout="10s")


@pytest.fixture(scope="module")
def admin_token(matrix_world: MatrixWorld) -> str:
    return matrix_world.server.register("acks-admin-" + uuid.uuid4().hex[:6], admin=True)[1]


@pytest.fixture
def bot(matrix_world: MatrixWorld, admin_token: str) -> tuple[str, str]:
    """A bot user of its own in the alert room, per test: Synapse caches a sync reply for two minutes per
    (user, device, since, filter), and a txnId per access token, so a shared bot would see other tests' state."""
    world = matrix_world
    user, token = world.server.register("bot-" + uuid.uuid4().hex[:10])
    world.server.call("POST", f"/_synapse/admin/v1/users/{quote(user)}/override_ratelimit", admin_token,
                      json={"messages_per_second": 0, "burst_count": 0})
    world.server.call("POST", f"{world.room_path()}/invite", world.bot_token, json={"user_id": user})
    world.server.call("POST", f"/_matrix/client/v3/join/{quote(world.room_id, safe='')}", token, json={})
    return user, token


def react(world: MatrixWorld, token: str, event_id: str, key: str = "✅") -> str:
    content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
    return world.server.call("PUT", f"{world.room_path()}/send/m.reaction/{uuid.uuid4().hex}", token,
                             json=content)["event_id"]


async def test_reaction_made_before_the_first_poll_acknowledges(matrix_world, bot, http, store):
    notifier_id, cfg = "room", config(matrix_world, bot[1])
    sent = await deliver(store, MatrixNotifier(notifier_id, cfg, http), notifier_id, count=2)
    (first, first_event), (second, _) = sent.items()
    react(matrix_world, matrix_world.reader_token, first_event, "👀")  # any key counts

    listener = MatrixAckListener(notifier_id, cfg, http, store)
    assert await listener.poll_once(NOW + 60) == 1
    assert acked(store, first) == (NOW + 60, f"matrix:{matrix_world.reader_user}")
    assert acked(store, second) == (None, None)
    assert await listener.poll_once(NOW + 120) == 0  # the next sync starts after that reaction
    assert acked(store, first)[0] == NOW + 60


async def test_later_reactions_arrive_through_the_since_token_and_the_bots_own_are_ignored(
        matrix_world, bot, http, store):
    notifier_id, cfg = "room", config(matrix_world, bot[1])
    sent = await deliver(store, MatrixNotifier(notifier_id, cfg, http), notifier_id, count=2)
    (first, first_event), (second, second_event) = sent.items()
    listener = MatrixAckListener(notifier_id, cfg, http, store)
    assert await listener.poll_once(NOW) == 0

    react(matrix_world, bot[1], first_event)          # the bot itself: not an acknowledgement
    react(matrix_world, matrix_world.reader_token, second_event)
    other = matrix_world.server.call("PUT", f"{matrix_world.room_path()}/send/m.room.message/{uuid.uuid4().hex}",
                                     matrix_world.bot_token, json={"msgtype": "m.text", "body": "not an alert"})
    react(matrix_world, matrix_world.reader_token, other["event_id"])  # a message that is not one of ours
    assert await listener.poll_once(NOW + 30) == 1
    assert acked(store, first) == (None, None)
    assert acked(store, second) == (NOW + 30, f"matrix:{matrix_world.reader_user}")

    react(matrix_world, matrix_world.reader_token, second_event, "👍")  # already acknowledged: a no-op
    assert await listener.poll_once(NOW + 60) == 0
    assert acked(store, second) == (NOW + 30, f"matrix:{matrix_world.reader_user}")


async def test_bad_token_is_auth_failed_and_nothing_moves(matrix_world, bot, http, store):
    notifier_id, cfg = "room", config(matrix_world, bot[1])
    sent = await deliver(store, MatrixNotifier(notifier_id, cfg, http), notifier_id)
    alert_id, event_id = next(iter(sent.items()))
    react(matrix_world, matrix_world.reader_token, event_id)

    wrong = MatrixAckListener(notifier_id, config(matrix_world, "syt_wrong_token"), http, store)
    with pytest.raises(AuthFailedError) as caught:
        await wrong.poll_once(NOW)
    assert "M_UNKNOWN_TOKEN" in str(caught.value) and "syt_wrong_token" not in str(caught.value)
    assert acked(store, alert_id) == (None, None)

    right = MatrixAckListener(notifier_id, cfg, http, store)
    assert await right.poll_once(NOW + 5) == 1


async def test_unreachable_homeserver_is_transient(matrix_world, http, store):
    down = MatrixAckListener("down", config(matrix_world, "t", f"http://127.0.0.1:{free_port()}"), http, store)
    with pytest.raises(TransientError):
        await down.poll_once(NOW)


def test_reactions_in_reads_only_annotations_of_the_room_by_others():
    room, me = "!r:x", "@bot:x"

    def reaction(sender, target="$a", rel="m.annotation", kind="m.reaction"):
        return {"type": kind, "sender": sender, "content": {"m.relates_to": {"rel_type": rel, "event_id": target,
                                                                            "key": "✅"}}}
    body = {"rooms": {"join": {room: {"timeline": {"events": [
        reaction("@ann:x"), reaction(me), reaction("@bob:x", rel="m.reference"),
        reaction("@cid:x", kind="m.room.message"), {"type": "m.reaction", "sender": "@dan:x", "content": {}},
        reaction("@eve:x", target="$b"), "garbage"]}}, "!other:x": {"timeline": {"events": [reaction("@zed:x")]}}}}}
    assert reactions_in(body, room, me) == [("$a", "@ann:x"), ("$b", "@eve:x")]
    assert reactions_in({}, room, me) == []


async def test_a_reaction_in_the_room_stops_the_alerts_escalation(matrix_world, bot, http, store):
    from monitor.routing.escalation import Window, escalate_due
    from monitor.settings import RouteConfig

    rules = [RouteConfig.model_validate({"name": "urgent", "notify": ["room"],
                                         "escalate": {"after": "30m", "notify": ["oncall"], "max": 3}})]
    notifier_id, cfg = "room", config(matrix_world, bot[1])
    sent = await deliver(store, MatrixNotifier(notifier_id, cfg, http), notifier_id, count=2)
    (reacted, event_id), (ignored, _) = sent.items()
    assert await escalate_due(store, rules, NOW + 31 * 60) == 2          # nobody reacted yet: both escalate
    react(matrix_world, matrix_world.reader_token, event_id)
    assert await MatrixAckListener(notifier_id, cfg, http, store).poll_once(NOW + 32 * 60) == 1
    assert await escalate_due(store, rules, NOW + 61 * 60) == 1          # only the alert nobody reacted to
    assert store.escalation_candidates(Window(since=0.0, now=math.inf))[0][0] == ignored
