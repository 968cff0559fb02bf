"""The item list's rules (domain.item_list, domain.item_history): decisions checked, the version
in force on a date, the guard with its clauses, limits, re-sends and conflicting numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from domain.clock.limits import StageLimit
from domain.item_history import ItemTimeline, Version, check, effective_limits
from domain.item_list import (
    BASELINE_NO,
    JX12_TEXT,
    PY14_TEXT,
    Decision,
    ItemRefused,
    decision_from,
    format_limit,
    limit_rows,
    parse_action,
    parse_limit,
)

SEEDS = Path("/work/shared/seeds")
D = date.fromisoformat


def legacy(*codes: str, admitted: bool = True) -> dict[str, Version]:
    return {c: Version(c, admitted, f"名称{c}", f"name {c}") for c in codes}


def recorded(decisions: list[Decision]) -> list[Decision]:
    """Decisions as if recorded in this order (ids 1, 2, …)."""
    return [replace(d, id=i + 1) for i, d in enumerate(decisions)]


def admit(code: str, no: str, day: str, name: str = "新事项", **kw) -> Decision:
    return decision_from(
        code=code, action="admit", decision_no=no, effective_on=day, name_zh=name, **kw
    )


def withdraw(code: str, no: str, day: str) -> Decision:
    return decision_from(code=code, action="withdraw", decision_no=no, effective_on=day)


# ---- limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("5WD", StageLimit(5, "wd"), "5WD"),
        ("5 wd", StageLimit(5, "wd"), "5WD"),
        ("24h", StageLimit(24, "h"), "24h"),
        ("2h", StageLimit(2, "h"), "2h"),
        ("30min", StageLimit(30, "min"), "30min"),
        ("3WH", StageLimit(3, "wh"), "3WH"),
        ("1.5h", StageLimit(1.5, "h"), "1.5h"),
        ("7个工作日", StageLimit(7, "wd"), "7WD"),
        ("48小时", StageLimit(48, "h"), "48h"),
    ],
)
def test_limits_parse_to_the_stage_limit_units(text, limit, shown):
    parsed = parse_limit(text)
    assert parsed == limit and parsed.unit in ("wd", "wh", "h", "min")
    assert format_limit(parsed) == shown


@pytest.mark.parametrize("text", ["5", "WD", "5 days", "3d", "-2h", "0h", "5WDX", "1.234h"])
def test_bad_limits_are_refused_naming_the_field(text):
    with pytest.raises(ItemRefused) as err:
        parse_limit(text, "urgent_limit")
    assert err.value.field == "urgent_limit" and err.value.message


def test_empty_limit_is_none_and_rows_are_t5():
    assert parse_limit("") is None and parse_limit(None) is None
    rows = limit_rows("0910", StageLimit(3, "wd"), StageLimit(24, "h"))
    assert [(r["stage"], r["urgency"], r["amount"], r["unit"]) for r in rows] == [
        ("T5", "normal", 3, "wd"),
        ("T5", "urgent", 24, "h"),
    ]
    assert limit_rows("0910", None, StageLimit(2, "h"))[0]["urgency"] == "urgent"


# ---- field rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "9"}, "code"),
        ({"code": "09100"}, "code"),
        ({"code": "ab"}, "code"),
        ({"action": "delete-all"}, "action"),
        ({"decision_no": ""}, "decision_no"),
        ({"decision_no": "  "}, "decision_no"),
        ({"decision_no": BASELINE_NO}, "decision_no"),
        ({"effective_on": ""}, "effective_on"),
        ({"effective_on": "2027-13-01"}, "effective_on"),
        ({"effective_on": "1999-12-31"}, "effective_on"),
        ({"name_zh": ""}, "name_zh"),
        ({"name_zh": "长" * 51}, "name_zh"),
        ({"normal": "fast"}, "normal_limit"),
    ],
)
def test_decision_fields_are_checked(fields, field):
    values = {
        "code": "0910",
        "action": "admit",
        "decision_no": "南湖网格〔2027〕3号",
        "effective_on": "2027-01-01",
        "name_zh": "共享单车乱停放",
        **fields,
    }
    with pytest.raises(ItemRefused) as err:
        decision_from(**values)
    assert err.value.field == field, err.value.message


def test_actions_read_in_chinese_and_amend_needs_a_change():
    assert [parse_action(w) for w in ("纳入", "调整", "退出", "ADMIT")] == [
        "admit",
        "amend",
        "withdraw",
        "admit",
    ]
    with pytest.raises(ItemRefused) as err:
        decision_from(code="0901", action="amend", decision_no="N1", effective_on="2027-01-01")
    assert err.value.field == "name_zh"
    w = decision_from(
        code="0901", action="退出", decision_no="N1", effective_on="2027-01-01", name_zh="x"
    )
    assert w.action == "withdraw" and w.name_zh is None  # ignored on a withdrawal


# ---- the guard ----------------------------------------------------------------------------------


def _seed_line(prefix: str, needle: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    line = next(x for x in path.read_text(encoding="utf-8").splitlines() if needle in x)
    return line.replace(" ", "")


def test_the_quoted_clauses_are_the_regulations_text():
    # PY 14 ¶2 as the seed has it (its spaces are line breaks of the printed text).
    assert PY14_TEXT in _seed_line("002", "第十四条")
    assert PY14_TEXT == (
        "依法应当由行政机关作出的行政许可、行政处罚、行政强制以及其他与网格职责不符的事项,"
        "不得纳入基层网格化服务管理事项清单,法律、法规另有规定的除外。"
    )
    head, item = JX12_TEXT.split("……")
    assert head == "网格化服务管理人员有权拒绝实施下列事项：" == _seed_line("000", "第十二条")[5:]
    assert item == _seed_line("000", "依法应当由行政机关工作人员")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"matter": "行政许可"}, "matter"),
        ({"matter": "行政处罚"}, "matter"),
        ({"matter": "行政强制"}, "matter"),
        ({"matter": "Administrative licensing"}, "matter"),
        ({"matter": "penalty"}, "matter"),
        ({"matter": "enforcement"}, "matter"),
        ({"matter": "coercion"}, "matter"),
        ({"name_zh": "占道经营罚款"}, "name_zh"),
        ({"name_zh": "违建行政强制拆除"}, "name_zh"),
        ({"name_zh": "餐饮行政许可初审"}, "name_zh"),
        ({"name_zh": "乱停车", "name_en": "Administrative penalty for parking"}, "name_en"),
    ],
)
def test_the_guard_refuses_enforcement_matters_quoting_the_clauses(fields, field):
    values = {"name_zh": "共享单车乱停放", **fields}
    with pytest.raises(ItemRefused) as err:
        decision_from(
            code="0910", action="admit", decision_no="N1", effective_on="2027-01-01", **values
        )
    refused = err.value
    assert refused.guarded and refused.field == field
    assert f"“{PY14_TEXT}”" in refused.message and f"“{JX12_TEXT}”" in refused.message
    assert "第十四条第二款" in refused.message and "第十二条" in refused.message


def test_the_guard_also_refuses_an_amend_and_lets_service_matters_in():
    with pytest.raises(ItemRefused) as err:
        check(
            Decision("0901", "amend", "N2", D("2027-01-01"), matter="行政处罚"),
            [],
            legacy("09", "0901"),
        )
    assert err.value.guarded
    ok = admit("0910", "N1", "2027-01-01", matter="服务管理")
    assert check(ok, [], legacy("09")).decisions == (ok,)


# ---- the version in force on a date -------------------------------------------------------------


def test_version_in_force_is_the_latest_decision_on_or_before_the_day():
    done = recorded(
        [
            admit("0910", "A1", "2027-01-01", "共享单车", normal="3WD"),
            decision_from(
                code="0910",
                action="amend",
                decision_no="A2",
                effective_on="2027-03-01",
                urgent="24h",
            ),
            withdraw("0910", "A3", "2027-06-01"),
        ]
    )
    t = ItemTimeline(done, legacy("09"))
    assert t.version("0910", D("2026-12-31")) is None
    assert not t.in_force("0910", D("2026-12-31"))
    v = t.version("0910", D("2027-01-01"))
    assert v.in_force and v.name_zh == "共享单车" and v.decision_no == "A1"
    assert (v.normal, v.urgent) == (StageLimit(3, "wd"), None)
    v = t.version("0910", D("2027-05-31"))
    assert v.decision_no == "A2" and v.normal == StageLimit(3, "wd")  # carried over
    assert v.urgent == StageLimit(24, "h") and v.name_zh == "共享单车"
    assert not t.in_force("0910", D("2027-06-01"))
    assert [x.code for x in t.listing(D("2027-02-01"))] == ["09", "0910"]
    assert [x.code for x in t.listing(D("2027-06-01"))] == ["09"]
    assert "not yet admitted" in t.refusal("0910", D("2026-12-31"))
    assert "(effective 2027-01-01, decision A1)" in t.refusal("0910", D("2026-12-31"))
    assert t.refusal("0910", D("2027-06-02")) == (
        "category 0910 was withdrawn from the item list on 2027-06-01 (decision A3)"
    )
    assert t.refusal("0910", D("2027-02-01")) is None
    assert t.refusal("77", D("2027-02-01")) == "unknown category '77'"


def test_ties_on_one_day_follow_the_recording_order():
    done = recorded([admit("0910", "A1", "2027-01-01", "甲"), withdraw("0910", "A2", "2027-01-01")])
    assert not ItemTimeline(done, legacy("09")).in_force("0910", D("2027-01-01"))
    swapped = [replace(done[0], id=2), replace(done[1], id=1)]
    assert ItemTimeline(swapped, legacy("09")).in_force("0910", D("2027-01-01"))


def test_legacy_entries_are_in_force_as_flagged_since_always():
    t = ItemTimeline([], {**legacy("09", "0901"), **legacy("0902", admitted=False)})
    assert t.in_force("0901", D("2001-01-01")) and t.in_force("0901", D("2099-01-01"))
    assert not t.in_force("0902", D("2027-01-01"))
    assert t.refusal("0902", D("2027-01-01")) == "category 0902 is withdrawn from the item list"


def test_a_minor_without_limits_shows_its_majors():
    old = {
        "09": Version("09", True, "城市管理", "Urban", StageLimit(5, "wd"), StageLimit(2, "h")),
        "0901": Version("0901", True, "占道", "Street"),
    }
    old["0902"] = Version("0902", True, "环卫", "Sanitation", StageLimit(1, "wd"))
    t = ItemTimeline([], old)
    day = D("2027-01-01")
    assert effective_limits(t.version("0901", day), t, day) == (
        StageLimit(5, "wd"),
        StageLimit(2, "h"),
        True,
        True,
    )
    assert effective_limits(t.version("0902", day), t, day) == (
        StageLimit(1, "wd"),
        StageLimit(2, "h"),
        False,
        True,
    )
    assert effective_limits(t.version("09", day), t, day)[2:] == (False, False)


# ---- checking a proposal ------------------------------------------------------------------------


def test_a_first_decision_on_a_legacy_code_records_its_baseline():
    verdict = check(withdraw("0901", "W1", "2027-01-01"), [], legacy("09", "0901"))
    (base,) = verdict.baselines
    assert base.code == "0901" and base.action == "admit" and base.decision_no == BASELINE_NO
    assert base.name_zh == "名称0901"
    t = ItemTimeline(recorded([base, *verdict.decisions]), legacy("09"))
    assert t.in_force("0901", D("2026-12-31")) and not t.in_force("0901", D("2027-01-01"))
    assert t.version("0901", D("2026-12-31")).decision_no is None  # shown as 原清单


def test_resending_a_decision_is_a_no_op_and_a_reused_number_is_refused():
    first = admit("0910", "A1", "2027-01-01", "共享单车", normal="3WD")
    done = recorded([first])
    assert check(first, done, legacy("09")).duplicate == done[0]
    # the note is free text: a re-send with another note is still the same decision
    assert check(replace(first, note="再次导入"), done, legacy("09")).duplicate == done[0]
    for other in (
        replace(first, effective_on=D("2027-02-01")),
        replace(first, name_zh="单车"),
        replace(first, normal=StageLimit(5, "wd")),
    ):
        with pytest.raises(ItemRefused) as err:
            check(other, done, legacy("09"))
        assert err.value.field == "decision_no" and "A1" in err.value.message


def test_admit_amend_withdraw_need_the_right_state_on_the_effective_date():
    base = legacy("09", "0901")
    with pytest.raises(ItemRefused, match="已在清单中"):
        check(admit("0901", "N1", "2027-01-01"), [], base)
    with pytest.raises(ItemRefused, match="不在清单中"):
        check(withdraw("0910", "N1", "2027-01-01"), [], base)
    done = recorded([admit("0910", "A1", "2027-03-01", "共享单车")])
    with pytest.raises(ItemRefused, match="不在清单中"):
        check(
            decision_from(
                code="0910",
                action="amend",
                decision_no="A2",
                effective_on="2027-02-01",
                name_zh="x",
            ),
            done,
            base,
        )
    assert check(withdraw("0910", "A3", "2027-03-02"), done, base).decisions


def test_a_minor_needs_its_major_in_force():
    with pytest.raises(ItemRefused, match="大类 10"):
        check(admit("1001", "N1", "2027-01-01"), [], legacy("09"))
    done = recorded([admit("10", "M1", "2027-02-01", "新大类")])
    with pytest.raises(ItemRefused, match="大类 10"):
        check(admit("1001", "N2", "2027-01-15"), done, legacy("09"))
    assert check(admit("1001", "N2", "2027-02-01"), done, legacy("09")).decisions


def test_withdrawing_a_major_takes_its_minors_in_force_with_it():
    verdict = check(withdraw("09", "W1", "2027-01-01"), [], {**legacy("09", "0901", "0902")})
    assert [(d.code, d.decision_no) for d in verdict.decisions] == [
        ("09", "W1"),
        ("0901", "W1"),
        ("0902", "W1"),
    ]
    assert {b.code for b in verdict.baselines} == {"09", "0901", "0902"}


def test_a_back_dated_decision_that_breaks_a_later_one_is_refused_naming_it():
    done = recorded(
        [
            admit("0910", "A1", "2027-01-01", "共享单车"),
            decision_from(
                code="0910",
                action="amend",
                decision_no="A2",
                effective_on="2027-04-01",
                urgent="2h",
            ),
        ]
    )
    with pytest.raises(ItemRefused) as err:
        check(withdraw("0910", "W1", "2027-03-01"), done, legacy("09"))
    assert err.value.field == "effective_on" and "A2" in err.value.message
