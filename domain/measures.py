"""The measures of DOMAIN.md §5, pinned down in one place: raw counts in, rates out.

Each measure carries its formula in Chinese and English so screens can show exactly what a number
means (leaders misread monthly versus cumulative rates).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.workflow.timeliness import STAT_COUNTS


@dataclass(frozen=True)
class Measure:
    key: str
    name_zh: str
    formula_zh: str
    formula_en: str
    # Colour of a change: a rise is good for closure, bad for rework and returns.
    higher_is_better: bool = True
    # "rate" (fraction 0–1), "count" or "score" (0–100).
    kind: str = "rate"


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure(
            "due_to_close",
            "应结案数",
            "期内结案数 + 超过处置时限仍未结案数（不含挂账）",
            "closed in the period + open past their handling due time (suspended excluded)",
            kind="count",
        ),
        Measure("closure_rate", "结案率", "结案数 ÷ 应结案数", "closed / due-to-close"),
        Measure(
            "on_time_rate",
            "按期结案率",
            "按（原）时限办结数 ÷ 应结案数",
            "closed by the (original) due time / due-to-close",
        ),
        Measure("rework_rate", "返工率", "返工数 ÷ 结案数", "reworked / closed", False),
        Measure("return_rate", "退回率", "退回数 ÷ 分办数", "returned / dispatched", False),
        Measure(
            "verify_on_time_rate",
            "按时核查率",
            "24小时内核查数 ÷ 应核查数",
            "verified within 24 h / due for verification",
        ),
        Measure(
            "report_on_time_rate",
            "按时上报率",
            "24小时内上报数 ÷ 上报数",
            "reported within 24 h / reported",
        ),
        Measure(
            "self_resolution_rate",
            "就地解决率",
            "就地解决数 ÷（就地解决数 + 上报数）",
            "self-resolved / (self-resolved + reported)",
        ),
        Measure(
            "satisfaction_rate",
            "满意率",
            "（满意 + 基本满意）÷ 有效回访数",
            "(satisfied + basically satisfied) / valid surveys",
        ),
        Measure(
            "patrol_coverage",
            "巡查覆盖率",
            "期内有网格员巡查到访的微网格数 ÷ 微网格总数",
            "micro-grids visited by the grid's workers in the period / all micro-grids",
        ),
        Measure(
            "online_rate",
            "在线率",
            "在岗在线分钟数 ÷ 排班分钟数",
            "minutes online on duty / scheduled minutes",
        ),
        Measure(
            "composite",
            "综合指标值",
            "100 ×（0.4 结案率 + 0.5 按期结案率 + 0.1（1 − 返工率））",
            "100 × (0.4 closure + 0.5 on-time + 0.1 (1 − rework))",
            kind="score",
        ),
    )
}

DEFAULT_WEIGHTS = (0.4, 0.5, 0.1)


def rate(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator, or None when nothing was due (shown as '—', not 0 % or 100 %)."""
    if not denominator:
        return None
    return float(numerator) / float(denominator)


def closure_rate(closed: int, open_overdue: int) -> float | None:
    return rate(closed, closed + open_overdue)


def on_time_rate(closed_on_time: int, closed: int, open_overdue: int) -> float | None:
    return rate(closed_on_time, closed + open_overdue)


def composite_score(
    closure: float | None,
    on_time: float | None,
    rework: float | None,
    weights: tuple[float, float, float] = DEFAULT_WEIGHTS,
) -> float | None:
    """综合指标值 on 0–100; None when closure or on-time is undefined."""
    if closure is None or on_time is None:
        return None
    w_close, w_on_time, w_rework = weights
    return 100.0 * (w_close * closure + w_on_time * on_time + w_rework * (1.0 - (rework or 0.0)))


# The raw counts a jurisdiction's measures are derived from: the stat_daily sums of a period,
# the tickets open past their handling due time at its end, and the patrol rollups.
COUNT_KEYS: tuple[str, ...] = (
    *STAT_COUNTS,
    "open_past_due",
    "micro_grids_visited",
    "micro_grids",
    "online_minutes",
    "scheduled_minutes",
)


@dataclass(frozen=True)
class Value:
    """One measure of one period: the value (None when nothing was due) and what it is made of."""

    key: str
    value: float | None
    numerator: float
    denominator: float | None


def derive(
    counts: dict[str, float], weights: tuple[float, float, float] = DEFAULT_WEIGHTS
) -> dict[str, Value]:
    """Every measure of MEASURES from raw counts (COUNT_KEYS; missing counts are 0): the one
    place the formulas of DOMAIN.md §5 are applied for pages, reports and exports."""
    c = {k: counts.get(k) or 0 for k in COUNT_KEYS}
    due = c["closed"] + c["open_past_due"]
    parts = {
        "closure_rate": (c["closed"], due),
        "on_time_rate": (c["closed_on_time"], due),
        "rework_rate": (c["reworked"], c["closed"]),
        "return_rate": (c["returned"], c["dispatched"]),
        "verify_on_time_rate": (c["verified_on_time"], c["verify_due"]),
        "report_on_time_rate": (c["reported_on_time"], c["reported"]),
        "self_resolution_rate": (c["self_resolved"], c["self_resolved"] + c["reported"]),
        "satisfaction_rate": (c["satisfied"], c["surveyed"]),
        "patrol_coverage": (c["micro_grids_visited"], c["micro_grids"]),
        "online_rate": (c["online_minutes"], c["scheduled_minutes"]),
    }
    out = {"due_to_close": Value("due_to_close", float(due), due, None)}
    for key, (num, den) in parts.items():
        out[key] = Value(key, rate(num, den), num, den)
    score = composite_score(
        out["closure_rate"].value, out["on_time_rate"].value, out["rework_rate"].value, weights
    )
    out["composite"] = Value("composite", score, score or 0.0, None)
    return out


def change(current: float | None, before: float | None, kind: str) -> float | None:
    """环比/同比 of one measure: for rates and scores the difference in points (fraction or
    score units), for counts the relative change; None when either side is undefined (or a
    count's base is 0)."""
    if current is None or before is None:
        return None
    if kind == "count":
        return None if not before else (current - before) / before
    return current - before
