"""The item list's decisions (事项清单: JX 8–9, JX 12, ZJ 12–15, PY 14–16, YZ 9, AR 22): the
pure rules every way of changing the list passes (the admin page, `gridscope items`, the API).

An entry (a category ``CC`` major or ``CCSS`` minor) is admitted (纳入), amended (调整) and
withdrawn (退出) by **decisions**, each with a decision number (决定文号) and an effective date.
The version of an entry in force on a day is, per code, the latest decision effective on or
before that day (ties: the one recorded first comes first); a code with no decisions at all (a
list from before decisions were recorded, the demo, ``seed_defaults``) is in force as its
``category.admitted`` flag says, since always (``legacy``).

Rules (``check``):

* a code is ``CC`` or ``CCSS``; a minor is in force only while its major is;
* admit needs a Chinese name; amend changes a name, a limit or the matter; withdraw carries
  neither (names, limits and matter given with it are ignored);
* amend and withdraw need the entry in force on the effective date; admit needs it not in
  force then; the whole history of the entry's family (its major and minors) must stay
  consistent with the new decision put in its place, so a back-dated decision that would make
  a later one meaningless is refused, naming that decision;
* **withdrawing a major withdraws its minors** in force on that day, under the same decision
  number (the decision names the major; its minors cannot stay in a list without it);
* the same decision sent again (same code, action, number, effective date, names, limits,
  matter) is a no-op; another decision under a number already used for the same code and
  action is refused;
* **the guard**: an entry whose matter (事项性质) is administrative licensing, penalty or
  enforcement, or whose name says so, is refused with PY 14 and JX 12 quoted (``guard``).

Limits (一般时限, 紧急时限) are T5 handling limits (``domain.clock.limits``: "T5 handle: the
category limit | the category's urgent"): ``5WD`` = 5 working days, ``3WH`` work hours,
``24h`` calendar hours, ``30min`` minutes. The other stages (report, accept, dispatch, sign,
verify, survey) are the same for every category and are not set by decisions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from domain.clock.limits import DEFAULT_STAGE_LIMITS, STAGES, StageLimit
from domain.vocabulary import URGENCIES

ACTIONS: tuple[str, ...] = ("admit", "amend", "withdraw")
ACTION_NAMES_ZH: Mapping[str, str] = {"admit": "纳入", "amend": "调整", "withdraw": "退出"}
_ACTION_WORDS = {
    **{a: a for a in ACTIONS},
    "纳入": "admit",
    "准入": "admit",
    "新增": "admit",
    "调整": "amend",
    "变更": "amend",
    "修改": "amend",
    "退出": "withdraw",
    "移出": "withdraw",
    "删除": "withdraw",
}
CODE = re.compile(r"^[0-9]{2}([0-9]{2})?$")
# The state of a code before its first decision, recorded as a decision so that the history
# keeps the names and limits it had ("since always").
BASELINE_NO = "（原清单）"
SINCE_ALWAYS = date(1, 1, 1)
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
MAX_NO, MAX_NAME_ZH, MAX_NAME_EN, MAX_MATTER, MAX_NOTE = 100, 50, 100, 50, 500
DEFAULT_MATTER = "服务管理"


class ItemRefused(ValueError):
    """A decision refused by the rules: ``field`` names the form field or option, ``message``
    (zh-CN) says why; ``guarded`` when the guard refused it (audited as ``item_refused``),
    ``conflict`` when the decision number is taken by another decision (HTTP 409)."""

    def __init__(
        self, field_name: str, message: str, *, guarded: bool = False, conflict: bool = False
    ) -> None:
        super().__init__(message)
        self.field, self.message = field_name, message
        self.guarded, self.conflict = guarded, conflict


# ------------------------------------------------------------------ limits

_UNITS = {
    "wd": "wd",
    "工作日": "wd",
    "个工作日": "wd",
    "wh": "wh",
    "工作小时": "wh",
    "个工作小时": "wh",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "小时": "h",
    "个小时": "h",
    "min": "min",
    "mins": "min",
    "分钟": "min",
}
_SHOWN = {"wd": "WD", "wh": "WH", "h": "h", "min": "min"}
_LIMIT = re.compile(r"^(\d{1,6}(?:\.\d{1,2})?)\s*([^\d\s.][^\s]*)$")


def parse_limit(text: object, field_name: str = "limit") -> StageLimit | None:
    """``"5WD"``, ``"3 WH"``, ``"24h"``, ``"30min"``, ``"5个工作日"`` → StageLimit (unit 'wd',
    'wh', 'h' or 'min', the units of ``stage_limit``); None for an empty value; ItemRefused
    naming ``field_name`` otherwise."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    raw = str(text).strip()
    m = _LIMIT.match(raw)
    unit = _UNITS.get(m.group(2).lower()) if m else None
    if m is None or unit is None:
        raise ItemRefused(
            field_name,
            f"时限 {raw[:20]!r} 格式不正确：数字加单位 WD（工作日）、WH（工作小时）、h（小时）、"
            "min（分钟），如 5WD、24h、30min",
        )
    amount = float(m.group(1))
    if amount <= 0:
        raise ItemRefused(field_name, f"时限 {raw} 须大于 0")
    return StageLimit(amount, unit)


def format_limit(limit: StageLimit | None) -> str:
    """A limit as written in files and forms: ``5WD``, ``3WH``, ``24h``, ``30min``; '' for None."""
    if limit is None:
        return ""
    return f"{limit.amount:g}{_SHOWN[limit.unit]}"


def limit_rows(code: str, normal: StageLimit | None, urgent: StageLimit | None) -> list[dict]:
    """``stage_limit`` rows a version in force sets: T5 normal (一般时限) and T5 urgent
    (紧急时限), for the limits it has."""
    return [
        {"category_code": code, "stage": "T5", "urgency": u, "amount": lim.amount, "unit": lim.unit}
        for u, lim in (("normal", normal), ("urgent", urgent))
        if lim is not None
    ]


def major_default_rows(code: str) -> list[dict]:
    """Every stage's rows for a new major category, copied from the defaults of 99 其他 (the
    closed loop needs a limit for each stage; a minor falls back to its major)."""
    return [
        {"category_code": code, "stage": s, "urgency": u, "amount": lim.amount, "unit": lim.unit}
        for s in STAGES
        for u in URGENCIES
        if (lim := DEFAULT_STAGE_LIMITS.get(("99", s, u))) is not None
    ]


# ------------------------------------------------------------------ the guard

PY14_SOURCE = "《濮阳市基层网格化服务管理条例》第十四条第二款"
PY14_TEXT = (
    "依法应当由行政机关作出的行政许可、行政处罚、行政强制以及其他与网格职责不符的事项,"
    "不得纳入基层网格化服务管理事项清单,法律、法规另有规定的除外。"
)
JX12_SOURCE = "《嘉兴市城乡网格化服务管理条例》第十二条"
JX12_TEXT = (
    "网格化服务管理人员有权拒绝实施下列事项：……"
    "（二）依法应当由行政机关工作人员或者其他人员实施的行政许可、行政处罚、行政强制等事项；"
)
GUARD_CLAUSES = f"{PY14_SOURCE}：“{PY14_TEXT}”{JX12_SOURCE}：“{JX12_TEXT}”"

# Matter (事项性质) words and what they are; matched as substrings of the lower-cased value.
_GUARDED_MATTERS = (
    ("行政许可", "行政许可"),
    ("行政处罚", "行政处罚"),
    ("行政强制", "行政强制"),
    ("licens", "行政许可"),
    ("permit", "行政许可"),
    ("penalt", "行政处罚"),
    ("enforcement", "行政强制"),
    ("coerci", "行政强制"),
)
_GUARDED_NAMES = ("行政许可", "行政处罚", "行政强制", "罚款")
_GUARDED_NAMES_EN = (
    "administrative licens",
    "administrative penalt",
    "administrative enforcement",
    "administrative coercion",
)


def guard(name_zh: str | None, name_en: str | None, matter: str | None) -> ItemRefused | None:
    """The refusal of an entry that is an administrative licensing, penalty or enforcement
    matter (by its matter, or its name), with PY 14 and JX 12 quoted; None when it may enter."""
    what, field_name = None, "matter"
    low = (matter or "").strip().lower()
    for word, kind in _GUARDED_MATTERS:
        if word in low:
            what = f"事项性质“{matter}”属于{kind}"
            break
    if what is None:
        for name, fname in ((name_zh, "name_zh"), (name_en, "name_en")):
            text = (name or "").lower()
            hit = next((w for w in (*_GUARDED_NAMES, *_GUARDED_NAMES_EN) if w in text), None)
            if hit is not None:
                what, field_name = f"事项名称“{name}”含“{hit}”，属于行政执法事项", fname
                break
    if what is None:
        return None
    return ItemRefused(
        field_name,
        f"{what}，依法不得纳入网格化服务管理事项清单。{GUARD_CLAUSES}",
        guarded=True,
    )


# ------------------------------------------------------------------ decisions


@dataclass(frozen=True)
class Decision:
    """One decision as recorded (``id`` set) or proposed (``id`` None: sorts after every
    recorded decision of its day)."""

    code: str
    action: str
    decision_no: str
    effective_on: date
    name_zh: str | None = None
    name_en: str | None = None
    normal: StageLimit | None = None
    urgent: StageLimit | None = None
    matter: str | None = None
    note: str | None = None
    id: int | None = None
    seq: int = 0  # order among proposals of one check

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.code, self.action, self.decision_no)

    @property
    def baseline(self) -> bool:
        return self.decision_no == BASELINE_NO

    def same_as(self, other: Decision) -> bool:
        """The same decision (a re-send): effective date, names, limits and matter agree (the
        note is free text and does not count)."""
        return _content(self) == _content(other)

    def attributes(self) -> dict[str, str]:
        """The jsonb ``category_decision.limits``: the decided limits and matter."""
        out = {"normal": format_limit(self.normal), "urgent": format_limit(self.urgent)}
        out["matter"] = self.matter or ""
        return {k: v for k, v in out.items() if v}


def _content(d: Decision) -> tuple:
    return (d.key, d.effective_on, d.name_zh, d.name_en, d.normal, d.urgent, d.matter)


def _text(value: object, field_name: str, limit: int, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemRefused(field_name, f"{what}格式不正确")
    text = " ".join(value.split())
    if "\x00" in text:
        raise ItemRefused(field_name, f"{what}含有非法字符")
    if len(text) > limit:
        raise ItemRefused(field_name, f"{what}最多 {limit} 个字符")
    return text or None


def parse_action(value: object) -> str:
    """'admit' | 'amend' | 'withdraw' from the word or its Chinese (纳入, 调整, 退出 …)."""
    action = _ACTION_WORDS.get(str(value or "").strip().lower())
    if action is None:
        raise ItemRefused("action", f"操作 {str(value)[:20]!r} 不正确：纳入、调整或退出")
    return action


def decision_from(
    *,
    code: object,
    action: object,
    decision_no: object,
    effective_on: object,
    name_zh: object = None,
    name_en: object = None,
    normal: object = None,
    urgent: object = None,
    matter: object = None,
    note: object = None,
) -> Decision:
    """A proposed decision from form, option, file or API values, each checked (ItemRefused
    naming the field); limits as text (``5WD``) or StageLimit, the date as date or ISO text."""
    code_ = str(code or "").strip()
    if not CODE.fullmatch(code_):
        raise ItemRefused("code", f"事项编码 {code_[:20]!r} 不正确：大类 2 位、小类 4 位数字")
    act = parse_action(action)
    zh = en = kind = None
    if act != "withdraw":
        zh = _text(name_zh, "name_zh", MAX_NAME_ZH, "事项名称")
        en = _text(name_en, "name_en", MAX_NAME_EN, "英文名称")
        kind = _text(matter, "matter", MAX_MATTER, "事项性质")
        # The guard first: an enforcement matter is refused for what it is, whatever else
        # the submission lacks (and the refusal is audited).
        refused = guard(zh, en, kind)
        if refused is not None:
            raise refused
    number = _text(decision_no, "decision_no", MAX_NO, "决定文号")
    if not number:
        raise ItemRefused("decision_no", "请填写决定文号（批准该变更的文件文号）")
    if number == BASELINE_NO:
        raise ItemRefused("decision_no", f"{BASELINE_NO} 是保留的文号")
    day = _date(effective_on)
    remark = _text(note, "note", MAX_NOTE, "备注")
    if act == "withdraw":
        return Decision(code_, act, number, day, note=remark)
    d = Decision(
        code_,
        act,
        number,
        day,
        name_zh=zh,
        name_en=en,
        normal=normal if isinstance(normal, StageLimit) else parse_limit(normal, "normal_limit"),
        urgent=urgent if isinstance(urgent, StageLimit) else parse_limit(urgent, "urgent_limit"),
        matter=kind,
        note=remark,
    )
    if act == "admit" and not d.name_zh:
        raise ItemRefused("name_zh", "纳入决定须填写事项名称")
    if act == "amend" and not (d.name_zh or d.name_en or d.normal or d.urgent or d.matter):
        raise ItemRefused("name_zh", "调整决定须给出新的名称、时限或事项性质")
    return d


def _date(value: object) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = str(value or "").strip()[:10]
        if not text:
            raise ItemRefused("effective_on", "请填写生效日期（YYYY-MM-DD）")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ItemRefused(
                "effective_on", f"生效日期 {text!r} 不正确：YYYY-MM-DD，如 2027-01-01"
            ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ItemRefused("effective_on", f"生效日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间")
    return day
