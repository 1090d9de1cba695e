"""Teams Workflows webhook against a contract fake: Adaptive Card, untrusted text only in TextRuns, 28 KB."""
from __future__ import annotations

import pytest

from monitor.errors import AuthFailedError, PermanentError, RateLimitedError, TransientError
from monitor.notifiers.teams import TeamsConfig, make_teams
from tests.notifiers.notifier_fakes import TeamsWorkflow, assert_no_secret

PATH = "/workflows/abc/triggers/manual/paths/invoke"
QUERY = "api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=TEAMSSIGSECRET123"


@pytest.fixture
def teams(httpserver):
    fake = TeamsWorkflow()
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    return fake


def notifier(httpserver, ctx):
    url = httpserver.url_for(PATH) + "?" + QUERY
    return make_teams("teams", TeamsConfig.model_validate({"type": "teams", "webhook_url": url}), ctx)


def text_blocks(card):
    return [b["text"] for b in card["body"] if b["type"] == "TextBlock"]


def text_runs(card):
    return [i["text"] for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]


async def test_posts_an_adaptive_card_and_accepts_202(httpserver, teams, ctx, alert):
    delivery = await notifier(httpserver, ctx).send(alert, "k")
    assert delivery.status_code == 202 and teams.flow_failures == []
    assert teams.requests[0].args["sig"] == "TEAMSSIGSECRET123"
    card = teams.bodies[0]["attachments"][0]["content"]
    assert card["version"] == "1.4" and card["msteams"] == {"width": "Full"}
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open post", "url": "https://example.com/posts/1"}]
    assert text_blocks(card)[0] == "🔴 High · outage"
    assert alert.mention.post.text in text_runs(card) and alert.reply in text_runs(card)


async def test_untrusted_text_only_in_text_runs_and_no_mention_entities(httpserver, teams, ctx, hostile_alert):
    await notifier(httpserver, ctx).send(hostile_alert, "k")
    card = teams.bodies[0]["attachments"][0]["content"]
    assert "entities" not in card["msteams"]
    assert not any("<at>" in text or "@here" in text for text in text_blocks(card))
    assert any("<at>x</at>" in text for text in text_runs(card))  # shown as text, mentions nobody


async def test_over_long_text_fits_28_kb(httpserver, teams, ctx, long_alert):
    delivery = await notifier(httpserver, ctx).send(long_alert, "k")
    assert delivery.status_code == 202  # the fake answers 413 above 28 KB
    assert len(teams.requests[0].get_data()) <= 28 * 1024


@pytest.mark.parametrize("status, headers, kind, retry_after", [
    (429, {"Retry-After": "20"}, RateLimitedError, 20.0), (401, None, AuthFailedError, None),
    (403, None, AuthFailedError, None), (404, None, PermanentError, None), (413, None, PermanentError, None),
    (500, None, TransientError, None),
])
async def test_errors_map_to_kinds(httpserver, teams, ctx, alert, status, headers, kind, retry_after):
    teams.fail(status, {"error": {"code": "WorkflowTriggerIsNotEnabled", "message": "sig=TEAMSSIGSECRET123"}},
               headers)
    with pytest.raises(kind) as info:
        await notifier(httpserver, ctx).send(alert, "k")
    assert type(info.value) is kind and getattr(info.value, "retry_after", None) == retry_after
    assert_no_secret(info.value, "TEAMSSIGSECRET123")
