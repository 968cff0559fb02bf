"""The one number format of /analytics and the monthly report (domain.analytics.formatting)."""

from __future__ import annotations

import math

import pytest

from domain.analytics.formatting import (
    direction,
    fmt_change,
    fmt_magnitude,
    fmt_value,
    tone,
)


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("rate", 0.8734, "87.3%"),
        ("rate", 1.0, "100.0%"),
        ("rate", 0.0, "0.0%"),
        ("rate", 0.00049, "0.0%"),
        ("count", 12345, "12,345"),
        ("count", 12345.0, "12,345"),
        ("count", 0, "0"),
        ("score", 86.04, "86.0"),
        ("score", 79.95, "80.0"),
        ("rate", None, "—"),
        ("count", None, "—"),
        ("score", math.nan, "—"),
    ],
)
def test_values(kind, value, text):
    assert fmt_value(kind, value) == text


@pytest.mark.parametrize(
    ("kind", "change", "text"),
    [
        ("rate", 0.021, "+2.1个百分点"),
        ("rate", -0.009, "-0.9个百分点"),
        ("rate", 0.0004, "0.0个百分点"),
        ("rate", -0.0004, "0.0个百分点"),  # never "-0.0"
        ("count", -0.05, "-5.0%"),
        ("count", 0.2329, "+23.3%"),
        ("score", 1.26, "+1.3分"),
        ("score", -0.25, "-0.2分"),  # Python rounds half to even, like the page
        ("rate", None, "—"),
        ("count", None, "—"),
    ],
)
def test_changes(kind, change, text):
    assert fmt_change(kind, change) == text


def test_magnitude_drops_the_sign():
    assert fmt_magnitude("rate", -0.021) == "2.1个百分点"
    assert fmt_magnitude("count", 0.05) == "5.0%"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown measure kind"):
        fmt_value("ratio", 0.5)
    with pytest.raises(ValueError, match="unknown measure kind"):
        fmt_change("ratio", 0.5)


def test_direction_and_tone_follow_the_shown_precision():
    assert direction(0.021, "rate") == 1
    assert direction(-0.021, "rate") == -1
    assert direction(0.0004, "rate") == 0  # shown as 0.0 个百分点: flat
    assert direction(None, "rate") == 0
    assert direction(0.04, "score") == 0
    assert tone(0.02, "rate", True) == "good"
    assert tone(0.02, "rate", False) == "bad"  # rework up is bad
    assert tone(-0.02, "rate", False) == "good"
    assert tone(None, "rate", True) == "flat"
