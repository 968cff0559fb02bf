"""A wall's playlist text (domain/playlist.py): what reads, what is refused and how the refusal
names the step, and the canonical form reading back to the same steps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.playlist import (
    KINDS,
    MAX_SECONDS,
    MAX_STEPS,
    MIN_SECONDS,
    TOWN,
    PlaylistError,
    Step,
    describe,
    format_playlist,
    normalise_playlist,
    parse_playlist,
)


def test_the_documented_example_reads():
    steps = parse_playlist("overview:60,towns:20,town:330402007:30,overdue:30,analytics:30")
    assert steps == (
        Step("overview", 60),
        Step("towns", 20),
        Step("town", 30, "330402007"),
        Step("overdue", 30),
        Step("analytics", 30),
    )


def test_empty_text_is_no_rotation():
    assert parse_playlist("") == ()
    assert parse_playlist("  , ,\n") == ()
    assert format_playlist(()) == ""
    assert describe(()) == "不轮播"


def test_operator_typing_is_forgiven_and_normalised():
    text = " Overview：60 ，TOWNS : 20\noverdue:30, "
    assert normalise_playlist(text) == "overview:60,towns:20,overdue:30"


def test_durations_at_the_limits():
    assert parse_playlist(f"overview:{MIN_SECONDS},overdue:{MAX_SECONDS}")[1].seconds == MAX_SECONDS
    for bad in (MIN_SECONDS - 1, MAX_SECONDS + 1, 0):
        with pytest.raises(PlaylistError, match="10–3600"):
            parse_playlist(f"overview:{bad}")


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("overview:60,map:20", 2, ["第 2 步", "map:20", "未知的视图 map"]),
        ("overview", 1, ["第 1 步", "缺少时长"]),
        ("overview:60,towns:5", 2, ["第 2 步", "towns:5", "10–3600", "现为 5"]),
        ("overview:1.5", 1, ["10–3600", "现为 1.5"]),
        ("overview:-10", 1, ["现为 -10"]),
        ("town:30", 1, ["town 需要区划编码和时长"]),
        ("town:33/04:30", 1, ["编码 33/04 格式不正确"]),
        ("town::30", 1, ["编码 （空） 格式不正确"]),
        ("overdue:30:10", 1, ["格式应为 overdue:<秒>"]),
        ("town:330402007:30:1", 1, ["格式应为 town:<编码>:<秒>"]),
        ("overview:60,:30", 2, ["未知的视图 （空）"]),
    ],
)
def test_refusals_name_the_bad_step(text, position, words):
    with pytest.raises(PlaylistError) as err:
        parse_playlist(text)
    assert err.value.position == position
    assert all(w in err.value.message for w in words), err.value.message


def test_a_long_step_is_shortened_in_the_message():
    with pytest.raises(PlaylistError) as err:
        parse_playlist("x" * 300 + ":30")
    assert "x" * 41 not in err.value.message and "…" in err.value.message


def test_too_many_steps_or_too_long_a_text():
    with pytest.raises(PlaylistError, match=f"最多 {MAX_STEPS} 步"):
        parse_playlist(",".join(["overview:10"] * (MAX_STEPS + 1)))
    assert len(parse_playlist(",".join(["overview:10"] * MAX_STEPS))) == MAX_STEPS
    with pytest.raises(PlaylistError, match="过长"):
        parse_playlist(" " * 2001)
    with pytest.raises(PlaylistError):
        parse_playlist(None)  # type: ignore[arg-type]


def test_a_step_cannot_be_built_wrong():
    for kind, seconds, unit in [
        ("map", 30, ""),
        ("overview", 5, ""),
        ("overview", 30, "330402"),
        ("town", 30, ""),
        ("town", 30, "a b"),
    ]:
        with pytest.raises(ValueError):
            Step(kind, seconds, unit)


def test_describe_says_what_a_wall_will_do():
    text = describe(parse_playlist("overview:60,towns:20,town:330402007:30,overdue:30"))
    assert text.startswith("4 步：")
    assert "全域总览（60 秒）" in text and "各镇（街道）轮流（每个 20 秒）" in text
    assert "指定区域 330402007（30 秒）" in text and "超期督办榜（30 秒）" in text


codes = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
    min_size=1,
    max_size=32,
)
steps = st.builds(
    lambda kind, seconds, code: Step(kind, seconds, code if kind == TOWN else ""),
    st.sampled_from(KINDS),
    st.integers(MIN_SECONDS, MAX_SECONDS),
    codes,
)


@given(st.lists(steps, max_size=MAX_STEPS))
def test_format_then_parse_is_the_identity(items):
    text = format_playlist(items)
    assert parse_playlist(text) == tuple(items)
    assert normalise_playlist(text) == text


@given(st.text(max_size=200))
def test_any_text_reads_or_is_refused_with_a_message(text):
    try:
        parsed = parse_playlist(text)
    except PlaylistError as exc:
        assert exc.message and (exc.position is None or exc.position >= 1)
    else:
        assert normalise_playlist(format_playlist(parsed)) == format_playlist(parsed)
