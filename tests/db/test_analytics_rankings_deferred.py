"""Rankings of a large area: the town and community levels counted from the per-community
rollup equal those counted per grid, and the grid and worker levels ranked on demand
(compute_level, a deferred tab) equal the levels ranked with the page — on the small demo with
the threshold lowered so that its 64 grids count as "many"."""

from __future__ import annotations

import pytest

from domain.analytics.periods import parse_period
from queries.analytics import rankings
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW, database_copy, settings_for

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def conn(small_demo_template):
    with database_copy(small_demo_template) as s, connect(s) as c:
        yield c


def _levels(out: dict) -> dict[str, dict]:
    return {lv["key"]: lv for lv in out["levels"]}


@pytest.mark.parametrize("period", ["2026-10", "2026-11", "2026-W30"])
@pytest.mark.parametrize("area", ["", "3304", "330402007"])
def test_deferred_levels_and_community_counts_agree(conn, monkeypatch, period, area):
    s = settings_for(conn.info.dbname)
    q = Query(Scope(area), parse_period(period).cut(DEMO_NOW, s.tz), DEMO_NOW, s.tz, s)
    whole = rankings.compute(conn, q)
    assert not any(lv.get("deferred") for lv in whole["levels"])
    monkeypatch.setattr(rankings, "DEFER_OVER", 1)
    light = rankings.compute(conn, q)
    deferred = {k for k, lv in _levels(light).items() if lv.get("deferred")}
    assert deferred == {"grids", "workers"}
    for key, lv in _levels(light).items():
        if key in deferred:
            assert lv["rows"] == [] and "grids" not in light["tables"]
            one = rankings.compute_level(conn, q, lv["unit"])
            assert one["levels"] == [_levels(whole)[key]]
            assert one["tables"][key] == whole["tables"][key]
        else:
            assert lv == _levels(whole)[key], key
            assert light["tables"][key] == whole["tables"][key]
