"""The default item list and stage limits (domain.clock.limits)."""

from __future__ import annotations

import re

import pytest

from domain.categories import CATEGORIES, DEFAULT_CATEGORIES, MAJOR_CODES, category_rows
from domain.clock.limits import (
    DEFAULT_STAGE_LIMITS,
    ESCALATION_LIMIT,
    STAGES,
    StageLimit,
    limit_for,
    limits_from_rows,
    stage_limit_rows,
)
from domain.clock.work_calendar import UNITS
from domain.vocabulary import URGENCIES


def test_major_categories_of_domain_section_3():
    assert MAJOR_CODES == ("01", "02", "03", "04", "05", "06", "07", "08", "09", "99")
    codes = [c.code for c in CATEGORIES]
    assert len(codes) == len(set(codes))
    for c in CATEGORIES:
        assert re.fullmatch(r"[0-9]{2}([0-9]{2})?", c.code)  # the schema's CHECK
        assert c.name_zh and c.name_en
        if c.parent_code:
            assert c.parent_code in MAJOR_CODES
    for major in MAJOR_CODES[:-1]:
        assert 3 <= sum(c.parent_code == major for c in CATEGORIES) <= 7
    assert {"0901", "0902", "0903", "0601", "0602", "0501"} <= set(codes)
    orders = [c.sort_order for c in sorted(CATEGORIES, key=lambda c: c.code)]
    assert orders == sorted(orders)


def test_every_major_has_every_stage_and_urgency():
    for major in MAJOR_CODES:
        for stage in STAGES:
            for urgency in URGENCIES:
                amount, unit = DEFAULT_STAGE_LIMITS[(major, stage, urgency)]
                assert amount > 0 and unit in UNITS


@pytest.mark.parametrize(
    ("code", "stage", "urgency", "expected"),
    [
        ("09", "T1", "normal", StageLimit(24, "h")),  # ZJ 32
        ("09", "T1", "urgent", StageLimit(30, "min")),
        ("09", "T2", "normal", StageLimit(1, "wh")),
        ("09", "T2", "urgent", StageLimit(15, "min")),
        ("09", "T3", "normal", StageLimit(1, "wh")),
        ("09", "T4", "normal", StageLimit(1, "wd")),
        ("09", "T4", "urgent", StageLimit(30, "min")),
        ("09", "T5", "normal", StageLimit(5, "wd")),
        ("09", "T5", "urgent", StageLimit(2, "h")),
        ("05", "T5", "normal", StageLimit(7, "wd")),
        ("06", "T5", "normal", StageLimit(3, "wd")),
        ("02", "T5", "normal", StageLimit(3, "wd")),
        ("04", "T5", "urgent", StageLimit(24, "h")),
        ("08", "T1", "normal", StageLimit(30, "min")),  # emergencies: report within 30 minutes
        ("06", "T6", "normal", StageLimit(24, "h")),  # ZJ 35
        ("06", "T6", "urgent", StageLimit(24, "h")),
        ("03", "T7", "normal", StageLimit(3, "wd")),  # PY 23
    ],
)
def test_limits_follow_the_domain_tables(code, stage, urgency, expected):
    assert limit_for(code, stage, urgency) == expected


def test_minor_overrides_and_fallback_to_major():
    assert limit_for("0901", "T5", "normal") == (1, "wd")  # 占道经营
    assert limit_for("0904", "T5", "normal") == (15, "wd")  # 违章搭建
    assert limit_for("0503", "T5", "normal") == (15, "wd")  # complex dispute
    assert limit_for("0501", "T5", "normal") == (7, "wd")  # falls back to 05
    assert limit_for("0901", "T5", "urgent") == (2, "h")  # falls back to 09 urgent
    assert limit_for("0901", "T2", "normal") == (1, "wh")
    assert all(
        1 <= limit_for(c.code, "T5", "normal").amount <= 15 for c in CATEGORIES if c.major == "09"
    )
    assert ESCALATION_LIMIT == (24, "h")


def test_unknown_inputs():
    with pytest.raises(KeyError):
        limit_for("42", "T5", "normal")
    with pytest.raises(ValueError):
        limit_for("09", "T9", "normal")
    with pytest.raises(ValueError):
        limit_for("09", "T5", "soon")


def test_edited_limits_from_rows_are_used():
    rows = stage_limit_rows()
    assert len(rows) == len(DEFAULT_STAGE_LIMITS)
    edited = limits_from_rows(
        [
            r
            if (r["category_code"], r["stage"], r["urgency"]) != ("09", "T5", "normal")
            else {**r, "amount": 4}
            for r in rows
        ]
    )
    assert limit_for("0999", "T5", "normal", edited) == (4.0, "wd")
    # Plain (amount, unit) tuples, as loaded from the database, work too.
    assert limit_for("0901", "T5", "normal", {("09", "T5", "normal"): (2.0, "wd")}) == (2.0, "wd")


def test_category_rows_match_the_table():
    rows = category_rows()
    assert [dict(r) for r in DEFAULT_CATEGORIES] == rows
    assert set(rows[0]) == {"code", "parent_code", "name_zh", "name_en", "sort_order"}
    assert all(r["parent_code"] is None for r in rows if len(r["code"]) == 2)
