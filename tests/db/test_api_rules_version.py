"""The API's copy of the stage clocks follows the rules' version: a calendar day or a stage
limit entered is in force for the very next ticket, not a minute later."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.routing import Map

from gridscope.api.state import ApiState
from queries.db import connect
from queries.item_list import rules_version, seed_defaults

pytestmark = pytest.mark.db


def test_clocks_reload_exactly_when_the_rules_change(fresh_db):
    state = ApiState(Map(), None, {}, b"", b"", 0)  # type: ignore[arg-type]
    with connect(fresh_db) as conn:
        seed_defaults(conn)
        conn.commit()
        first = state.clocks(conn, fresh_db)
        assert state.clocks(conn, fresh_db) is first  # nothing changed: the same copy
        v = rules_version(conn)

        conn.execute(
            "INSERT INTO calendar_day (day, is_workday, note) VALUES ('2027-02-08', false, '春节')"
        )
        conn.commit()
        assert rules_version(conn) > v
        second = state.clocks(conn, fresh_db)
        assert second is not first
        assert not second.calendar.is_workday(date(2027, 2, 8))
        assert first.calendar.is_workday(date(2027, 2, 8))  # 2027 unknown: Monday–Friday

        conn.execute(
            "UPDATE stage_limit SET amount = 4 WHERE category_code = '01' AND stage = 'T5'"
            " AND urgency = 'normal'"
        )
        conn.commit()
        third = state.clocks(conn, fresh_db)
        assert third is not second
        assert state.clocks(conn, fresh_db) is third
