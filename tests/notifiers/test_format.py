"""The shared formatting pieces: trimming never rejects, escaping disarms, URLs are vetted."""
from __future__ import annotations

import pytest

from monitor.notifiers import format as fmt
from monitor.notifiers.base import sample_alert
from tests.notifiers.notifier_fakes import HOSTILE, MARKDOWN_LINKS, surviving_tokens, with_post


@pytest.mark.parametrize("text, limit, expected", [
    ("short", 10, "short"),
    ("exactly10!", 10, "exactly10!"),
    ("one two three four", 10, "one two t…"),
    ("abc", 0, ""),
    ("abc", 1, "…"),
])
def test_trim_cuts_with_an_ellipsis(text, limit, expected):
    assert fmt.trim(text, limit) == expected
    assert len(fmt.trim(text, limit)) <= limit


def test_trim_escaped_never_cuts_an_entity_and_fits():
    out = fmt.trim_escaped("<" * 1000, 100, fmt.escape_slack)
    assert len(out) <= 100
    assert out.removesuffix("…").replace("&lt;", "") == ""


@pytest.mark.parametrize("url, expected", [
    ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"),
    ("http://example.com/x|y>z<w\"", "http://example.com/x%7Cy%3Ez%3Cw%22"),
    ("javascript:alert(1)", ""),
    ("data:text/html,hi", ""),
    ("https://exa mple.com", ""),
    ("//example.com/x", ""),
    ("https://" + "a" * 3000, ""),
    ("", ""),
])
def test_safe_url(url, expected):
    assert fmt.safe_url(url) == expected


def test_clean_drops_terminal_escapes_and_nul():
    assert fmt.clean("a\x1b[2Jb\x00c\r\nd\n\n\n\ne\x9b") == "a[2Jbc\nd\n\ne"


@pytest.mark.parametrize("escape", [fmt.escape_slack, fmt.escape_discord, fmt.escape_mattermost,
                                    fmt.escape_telegram_html, fmt.escape_google_chat])
def test_every_chat_escape_disarms_the_hostile_text(escape):
    out = escape(HOSTILE)
    if escape is fmt.escape_google_chat:  # Google Chat only parses <…> sequences
        assert "<users/all>" not in out and "<!channel>" not in out
    else:
        assert surviving_tokens(out) == []
    if escape in (fmt.escape_discord, fmt.escape_mattermost):  # Markdown targets: no links or images either
        assert not [token for token in MARKDOWN_LINKS if token in out]


def test_view_is_plain_cleaned_and_capped():
    alert = with_post(sample_alert(), text="x\x1b[31m" + "y" * 10_000, url="javascript:alert(1)")
    v = fmt.view(alert, excerpt_limit=500)
    assert len(v.excerpt) == 500 and "\x1b" not in v.excerpt
    assert v.url == ""
    assert v.heading == "High · Acme · outage · urgent"
    labels = [label for label, _ in v.facts()]
    assert labels[:4] == ["Severity", "Issue", "Sentiment", "Category"] and "Why" in labels
    assert dict(v.facts())["Issue"] == "outage · urgent (look within the hour) · judged by test-notify sample"
    assert 'matched "Acme" exact 100' in v.why


def test_plain_text_has_everything_a_responder_needs():
    text = fmt.plain_text(fmt.view(sample_alert()))
    for needle in ("🔴 High · Acme · outage · urgent", "Acme login broken again",
                   "Jane Doe (@jane_doe) · 1,520 followers", "Respond by:", "Link: https://example.com/posts/1", "Drafted reply:", "negative (-0.80)"):
        assert needle in text


def test_fit_shrinks_until_it_fits():
    alert = with_post(sample_alert(), text="z" * 10_000)
    out = fmt.fit(alert, fmt.plain_text, len, 2500)
    assert len(out) <= 2500 and "z" * 400 in out
