"""The feed memo (queries/feed_entry.py): the panels every screen asks for and the short-lived
cursor slots are bounded apart, so a stream of cursors can neither push the panels out nor
make a process grow past the small shelf's cap."""

from __future__ import annotations

from queries.feed_entry import Entry, Memo


def _entry(size: int) -> Entry:
    return Entry(1, 0, "etag", b"x" * size, 0.0)


def test_cursor_slots_never_push_out_the_panels():
    memo = Memo(max_entries=4, max_bytes=10_000, short_entries=3, short_bytes=10_000)
    for panel in ("counters", "ticker", "board"):
        memo.put(panel, _entry(100))
    for cursor in range(1000):
        memo.put(f"workers-since-{cursor}", _entry(100), short=True)
        memo.get("counters")
    assert all(memo.get(p) is not None for p in ("counters", "ticker", "board"))
    # Only the newest three cursors are kept.
    assert [memo.get(f"workers-since-{c}") is not None for c in (996, 997, 998, 999)] == [
        False,
        True,
        True,
        True,
    ]
    assert len(memo) == 6 and memo.bytes == 600


def test_each_shelf_keeps_to_its_bytes_and_drops_the_least_recently_used():
    memo = Memo(max_entries=100, max_bytes=250, short_entries=100, short_bytes=150)
    memo.put("a", _entry(100))
    memo.put("b", _entry(100))
    memo.get("a")  # b is now the least recently used
    memo.put("c", _entry(100))
    assert memo.get("a") is not None and memo.get("b") is None and memo.get("c") is not None
    memo.put("s1", _entry(100), short=True)
    memo.put("s2", _entry(100), short=True)
    assert memo.get("s1") is None and memo.get("s2") is not None
    assert memo.bytes == 300
    # A new entry for a slot replaces the old one and its bytes.
    memo.put("a", _entry(50))
    assert memo.bytes == 250
    memo.clear()
    assert len(memo) == 0 and memo.bytes == 0


def test_a_single_entry_larger_than_the_cap_is_still_kept():
    memo = Memo(max_entries=10, max_bytes=10, short_entries=10, short_bytes=10)
    memo.put("big", _entry(1000))
    assert memo.get("big") is not None
