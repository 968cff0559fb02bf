"""The stage limits of the closed loop (DOMAIN.md §3–4), per item of ``domain.categories``.

Stage limits (table ``stage_limit``) are per category × stage T1..T7 × urgency. Units: 'min' and
'h' run on the calendar clock, 'wh' and 'wd' on the work calendar (``WorkCalendar``):

====  ==========================  ===================  =====================  ===============
T     stage                       normal               urgent                 source
====  ==========================  ===================  =====================  ===============
T1    report 上报                  24 h                 30 min ("immediately") ZJ 32
T2    accept 受理                  1 wh                 15 min                 practice
T3    dispatch 分办                1 wh                 15 min                 ZJ 33
T4    sign 签收                    1 wd                 30 min                 practice
T5    handle 处置                  the category limit   the category's urgent  ZJ 34, PY 18,
                                                                               AR 17
T6    verify 核查                  24 h                 24 h                   ZJ 35, AR 17
T7    survey 回访                  3 wd                 3 wd                   PY 23
====  ==========================  ===================  =====================  ===============

Where DOMAIN.md §3 gives no figure (an urgent 02 item, "immediate" 07, the "emergency plan" of
08), the value chosen here is common practice and documented beside it; the table is only the
seed of ``stage_limit`` and an administrator can change every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from domain.categories import MAJOR_CODES
from domain.vocabulary import URGENCIES

STAGES: tuple[str, ...] = ("T1", "T2", "T3", "T4", "T5", "T6", "T7")


class StageLimit(NamedTuple):
    """A stage's time limit: ``amount`` in ``unit`` ('min', 'h', 'wh', 'wd'); unpacks as a pair."""

    amount: float
    unit: str

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


# T5 handling limits of minor categories where they differ from their major's. "complex 15 WD"
# (DOMAIN.md §3): land and labour disputes usually need several hearings; 09 is "1–15 WD by
# subclass", as in 数字城管 item standards.
_MINOR_T5: dict[str, StageLimit] = {
    "0102": StageLimit(3, "wd"),
    "0303": StageLimit(3, "wd"),
    "0503": StageLimit(15, "wd"),
    "0504": StageLimit(15, "wd"),
    "0602": StageLimit(1, "wd"),
    "0605": StageLimit(5, "wd"),
    "0606": StageLimit(1, "wd"),
    "0901": StageLimit(1, "wd"),
    "0902": StageLimit(1, "wd"),
    "0903": StageLimit(5, "wd"),
    "0904": StageLimit(15, "wd"),
    "0905": StageLimit(2, "wd"),
    "0906": StageLimit(1, "wd"),
}

# T5 handling limits by major category (DOMAIN.md §3; ZJ 34, PY 18, AR 17).
_T5: dict[str, tuple[StageLimit, StageLimit]] = {
    "01": (StageLimit(5, "wd"), StageLimit(24, "h")),
    # 02 has no urgent variant in §3: an urgent data item keeps the normal limit.
    "02": (StageLimit(3, "wd"), StageLimit(3, "wd")),
    "03": (StageLimit(5, "wd"), StageLimit(2, "h")),
    "04": (StageLimit(5, "wd"), StageLimit(24, "h")),
    "05": (StageLimit(7, "wd"), StageLimit(2, "h")),
    # 06 urgent: "2 h response, 24 h control" — handling is the 24 h control; the 2 h response
    # is stricter than the urgent sign limit T4 and is covered by it.
    "06": (StageLimit(3, "wd"), StageLimit(24, "h")),
    # 07 urgent "immediate": 1 h on the calendar clock (practice).
    "07": (StageLimit(5, "wd"), StageLimit(1, "h")),
    # 08 runs under the emergency plan; 24 h / 2 h are practice defaults for the platform item.
    "08": (StageLimit(24, "h"), StageLimit(2, "h")),
    "09": (StageLimit(5, "wd"), StageLimit(2, "h")),
    "99": (StageLimit(5, "wd"), StageLimit(24, "h")),
}

# Stages other than T5, the same for every category (DOMAIN.md §4 table).
_COMMON: dict[str, tuple[StageLimit, StageLimit]] = {
    "T1": (StageLimit(24, "h"), StageLimit(30, "min")),  # ZJ 32
    "T2": (StageLimit(1, "wh"), StageLimit(15, "min")),
    "T3": (StageLimit(1, "wh"), StageLimit(15, "min")),  # ZJ 33
    "T4": (StageLimit(1, "wd"), StageLimit(30, "min")),
    "T6": (StageLimit(24, "h"), StageLimit(24, "h")),  # ZJ 35, AR 17
    "T7": (StageLimit(3, "wd"), StageLimit(3, "wd")),  # PY 23
}

# Escalation to the upper level within 24 h of acceptance (ZJ 33); not a stage of its own.
ESCALATION_LIMIT = StageLimit(24, "h")


def _default_limits() -> dict[tuple[str, str, str], StageLimit]:
    limits: dict[tuple[str, str, str], StageLimit] = {}
    for major in MAJOR_CODES:
        for stage in STAGES:
            pair = _T5[major] if stage == "T5" else _COMMON[stage]
            for urgency, limit in zip(URGENCIES, pair, strict=True):
                limits[(major, stage, urgency)] = limit
    # 08 emergencies: report within 30 minutes whatever the urgency (DOMAIN.md §3).
    limits[("08", "T1", "normal")] = StageLimit(30, "min")
    for code, t5 in _MINOR_T5.items():
        limits[(code, "T5", "normal")] = t5
    return limits


DEFAULT_STAGE_LIMITS: Mapping[tuple[str, str, str], StageLimit] = MappingProxyType(
    _default_limits()
)


def limit_for(
    category_code: str,
    stage: str,
    urgency: str,
    limits: Mapping[tuple[str, str, str], tuple[float, str]] = DEFAULT_STAGE_LIMITS,
) -> StageLimit:
    """The limit of ``stage`` for a category and urgency, falling back from minor to major.

    Raises KeyError when neither the category nor its major category has a row.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    for code in (category_code, category_code[:2]):
        limit = limits.get((code, stage, urgency))
        if limit is not None:
            amount, unit = limit  # plain (amount, unit) pairs as loaded from stage_limit work too
            return StageLimit(float(amount), unit)
    raise KeyError(f"no {stage}/{urgency} limit for category {category_code!r} or its major")


def stage_limit_rows(
    limits: Mapping[tuple[str, str, str], StageLimit] = DEFAULT_STAGE_LIMITS,
) -> list[dict[str, object]]:
    """Rows for table ``stage_limit`` (category_code, stage, urgency, amount, unit)."""
    return [
        {"category_code": c, "stage": s, "urgency": u, "amount": lim.amount, "unit": lim.unit}
        for (c, s, u), lim in sorted(limits.items())
    ]


def limits_from_rows(rows) -> dict[tuple[str, str, str], StageLimit]:
    """Limits keyed like DEFAULT_STAGE_LIMITS from ``stage_limit`` rows (mappings)."""
    return {
        (r["category_code"], r["stage"], r["urgency"]): StageLimit(float(r["amount"]), r["unit"])
        for r in rows
    }
