"""The exported tables of the rankings panel: columns per kind of unit and the rows of one
ranked level (queries.analytics.rankings)."""

from __future__ import annotations

from operator import itemgetter
from typing import Any


def columns(spec: str) -> list[list[str]]:
    """ "key 表头, key 表头, …" as the export's [[key, header], …]."""
    return [item.split() for item in spec.split(",")]


# Exported columns per kind. "composite_change" reads as a change of score in the report's
# formatting (domain.measures kind "score").
MOVES = "prev_rank 上期排名, rank_move 名次变化"
TERRITORY_COLUMNS = columns(
    "rank 排名, code 编码, name 名称, closed 结案数, closed_on_time 按期结案数, reworked 返工数,"
    " open_past_due 超期未结数, due_to_close 应结案数, closure_rate 结案率,"
    " on_time_rate 按期结案率, rework_rate 返工率, composite 综合指标值, " + MOVES + ","
    " composite_change 得分变化, why 主要短板"
)
DEPARTMENT_COLUMNS = columns(
    "rank 排名, name 部门, dispatched 分办任务数, returned 退回数, return_rate 退回率,"
    " finished 办结数, finished_on_time 按期办结数, reworked 返工数,"
    " open_past_due 超期未办结数, due_to_close 应办结数, closure_rate 办结率,"
    " on_time_rate 按期办结率, rework_rate 返工率, composite 综合指标值, " + MOVES + ","
    " composite_change 得分变化, why 主要短板"
)
WORKER_COLUMNS = columns(
    "rank 排名, staff_no 工号, name 姓名, role 岗位, grid_code 主要网格, discovered 发现数,"
    " self_resolved 就地解决数, reported 上报数, reported_on_time 按时上报数,"
    " verify_due 应核查数, verified_on_time 按时核查数, report_on_time_rate 按时上报率,"
    " verify_on_time_rate 按时核查率, self_resolution_rate 就地解决率, score 得分, "
    + MOVES
    + ", score_change 得分变化, why 主要短板"
)
TITLES = dict(town="镇街", community="社区", grid="网格", department="部门", worker="网格员")
KEYS = dict(
    town="towns",
    community="communities",
    grid="grids",
    department="departments",
    worker="workers",
)


def table(level: dict[str, Any], columns: list[list[str]], period_label: str) -> dict[str, Any]:
    for r in level["all"]:
        r.setdefault("why", None)
        r["composite_change"] = r["score_change"]
    cells = itemgetter(*(k for k, _ in columns))  # every row has every key by now
    rows = [list(cells(r)) for r in level["all"]]
    title = f"{TITLES[level['unit']]}排名（{period_label}）"
    return {"title": title, "columns": columns, "rows": rows}
