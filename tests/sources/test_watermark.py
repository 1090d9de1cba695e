"""The one cursor of newest-first listings (hacker_news, bluesky, vk, youtube_comments, google_play)."""
from __future__ import annotations

from monitor.sources.common import MAX_SEEN_IDS, Watermark


def test_a_new_item_in_the_newest_second_is_not_dropped_and_a_seen_one_is_not_repeated():
    mark = Watermark(90.0).advanced([("a", 100.0), ("b", 95.0)], overlap=0)
    assert mark.since(0) == 100.0 and mark.seen == {"a": 100.0}  # only the ids at the newest second are kept
    assert mark.is_new("c", 100.0, 0)                             # posted in that second, listed later
    assert not mark.is_new("a", 100.0, 0) and not mark.is_new("b", 95.0, 0)
    later = mark.advanced([("c", 100.0)], overlap=0)
    assert later.seen == {"a": 100.0, "c": 100.0} and not later.is_new("c", 100.0, 0)
    assert later.advanced([("d", 101.0)], overlap=0).seen == {"d": 101.0}


def test_with_an_overlap_the_boundary_second_is_included():
    mark = Watermark(0.0).advanced([("a", 100.0), ("b", 70.0), ("c", 69.0)], overlap=30)
    assert set(mark.seen) == {"a", "b"} and mark.since(30) == 70.0
    assert mark.is_new("d", 70.0, 30) and not mark.is_new("b", 70.0, 30) and not mark.is_new("e", 69.0, 30)


def test_the_cursor_stays_small():
    mark = Watermark(0.0).advanced(((str(n), 100.0) for n in range(MAX_SEEN_IDS + 50)), overlap=0)
    assert len(mark.seen) == MAX_SEEN_IDS


def test_marks_of_the_older_formats_load():
    assert Watermark.load({"t": 100, "seen": {"a": 100}, "floor": 40}) == Watermark(100, {"a": 100}, 40)
    assert Watermark.load({"newest": 1795165800, "ids": ["r1", "r2"]}) == Watermark.at(1795165800, ["r1", "r2"])
    assert Watermark.load({"newest": "2026-11-20T09:10:00Z", "ids": ["c1"]}) == Watermark(1795165800.0,
                                                                                         {"c1": 1795165800.0})
    assert Watermark.load({"newest": "yesterday", "ids": []}) is None and Watermark.load([1]) is None
