"""The measures of DOMAIN.md §5, pinned down in one place: raw counts in, rates out.

Each measure carries its formula in Chinese and English so screens can show exactly what a number
means (leaders misread monthly versus cumulative rates).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    key: str
    name_zh: str
    formula_zh: str
    formula_en: str


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure(
            "due_to_close",
            "应结案数",
            "期内结案数 + 超过处置时限仍未结案数（不含挂账）",
            "closed in the period + open past their handling due time (suspended excluded)",
        ),
        Measure("closure_rate", "结案率", "结案数 ÷ 应结案数", "closed / due-to-close"),
        Measure(
            "on_time_rate",
            "按期结案率",
            "按（原）时限办结数 ÷ 应结案数",
            "closed by the (original) due time / due-to-close",
        ),
        Measure("rework_rate", "返工率", "返工数 ÷ 结案数", "reworked / closed"),
        Measure("return_rate", "退回率", "退回数 ÷ 分办数", "returned / dispatched"),
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
            "composite",
            "综合指标值",
            "100 ×（0.4 结案率 + 0.5 按期结案率 + 0.1（1 − 返工率））",
            "100 × (0.4 closure + 0.5 on-time + 0.1 (1 − rework))",
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
