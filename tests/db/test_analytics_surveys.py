"""Survey records written through the API and the live simulator (issue #12) against real
PostGIS + Redis: the API's survey action records the survey with its channel and comment,
answers a retry as applied, refuses a different survey and bad values by name; the simulator
surveys with the demo's channels and names the grid workers who take worker steps, and what both
write equals a rebuild."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from app import create_app
from domain.workflow.survey import SURVEY_CHANNELS
from gridscope.api.tokens import create_token
from gridscope.demo import live
from gridscope.demo.surveys import CHANNEL_MIX, UNSATISFIED_COMMENTS, after_load
from queries.analytics.rollup_build import rebuild_surveys_from_events, rebuild_task_worker_rollups
from queries.db import connect
from queries.positions import PositionStore
from queries.scope import Scope
from tests.conftest import DEMO_NOW
from tests.db.rollup_recount import rollups

pytestmark = pytest.mark.db


@pytest.fixture
def demo(demo_db):
    """A private copy of the small demo with its surveys and rollups filled by after_load."""
    with connect(demo_db) as conn:
        after_load(conn, demo_db, None, 7, DEMO_NOW, echo=lambda _m: None)
        conn.commit()
    return demo_db


# ---- the API's survey action ---------------------------------------------------------------------


@pytest.fixture
def api(demo_db):
    app = create_app(demo_db)
    with connect(demo_db) as conn:
        token = create_token(conn, "city", Scope("3304"), True)[1]
        closed = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM ticket WHERE state = 'closed' AND grid_code LIKE '3304%%'"
                " ORDER BY id LIMIT 2"
            )
        ]
        conn.commit()
    client = app.server.test_client()

    def post(tid, body):
        return client.post(
            f"/api/v1/tickets/{tid}/transitions",
            headers={"Authorization": f"Bearer {token}"},
            json=body,
        )

    yield post, closed, demo_db
    app.server.extensions["gridscope"].close()


def _survey_rows(settings, tid):
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT channel, result, comment, actor_kind FROM survey WHERE ticket_id = %s",
            (tid,),
        ).fetchall()
        events = conn.execute(
            "SELECT data FROM ticket_event WHERE ticket_id = %s AND action = 'survey'", (tid,)
        ).fetchall()
    return rows, [e[0] for e in events]


def _fields(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    err = resp.get_json()["error"]
    return err["message"], {f["field"]: f["problem"] for f in err["fields"]}


def test_api_survey_writes_the_record_replays_and_refuses(api):
    post, (tid, tid2), settings = api
    message, fields = _fields(
        post(tid, {"action": "survey", "satisfaction": "unsatisfied", "channel": "fax"}), 422
    )
    assert "channel" in message and set(fields) == {"channel"}
    assert all(c in fields["channel"] for c in SURVEY_CHANNELS)
    _, fields = _fields(
        post(tid, {"action": "survey", "satisfaction": "unsatisfied", "comment": "长" * 2001}),
        422,
    )
    assert set(fields) == {"comment"} and "2000" in fields["comment"]
    assert _survey_rows(settings, tid) == ([], [])

    body = {
        "action": "survey",
        "satisfaction": "unsatisfied",
        "channel": "wechat",
        "comment": "占道经营还是没有解决",
    }
    first = post(tid, body)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["state"] == "surveyed"
    rows, events = _survey_rows(settings, tid)
    assert rows == [("wechat", "unsatisfied", "占道经营还是没有解决", "centre")]
    assert events == [{"satisfaction": "unsatisfied", "channel": "wechat"}]
    # A retry (no Idempotency-Key) is answered as applied and writes nothing.
    again = post(tid, body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert _survey_rows(settings, tid) == (rows, events)
    message, fields = _fields(post(tid, {**body, "satisfaction": "satisfied"}), 409)
    assert "already surveyed" in message and "wechat" in message
    assert _survey_rows(settings, tid) == (rows, events)
    # Without a channel: by phone; without a comment: none.
    assert post(tid2, {"action": "survey", "satisfaction": "basic"}).status_code == 200
    assert _survey_rows(settings, tid2)[0] == [("phone", "basic", None, "centre")]


# ---- the live simulator surveys and names its workers through the write path ---------------------


def test_live_simulator_writes_surveys_and_worker_steps_the_rollups_count(demo):
    settings = demo
    scope = Scope(settings.jurisdiction)
    rng = np.random.default_rng(5)
    store = PositionStore.from_url(settings.redis_url, settings.database_url)
    with connect(settings) as conn:
        # No GPS fixes (the next fix is a lifetime away): tickets and steps only.
        world = live._load_world(conn, settings, scope, rng, 1e9)
        pace = live._Pace(120.0, 6000.0, 1e9, 1.0)
        stats = live.LiveStats()
        for minute in range(1, 13):
            now = DEMO_NOW + timedelta(minutes=minute)
            live._tick(conn, world, settings, scope, rng, now, pace, store, stats)
        assert stats.advanced > 300 and stats.created > 5
        new = conn.execute(
            "SELECT channel, result, comment, actor_kind FROM survey WHERE at > %s", (DEMO_NOW,)
        ).fetchall()
        assert len(new) >= 5
        assert all(c in SURVEY_CHANNELS and k == "centre" for c, _, _, k in new)
        assert all((m in UNSATISFIED_COMMENTS) == (r == "unsatisfied") for _, r, m, _ in new)
        # Every worker step names one of the ticket's grid workers.
        steps = conn.execute(
            "SELECT e.action, e.actor_id, EXISTS (SELECT 1 FROM staff_assignment a"
            "  WHERE a.staff_id = e.actor_id AND a.grid_code = t.grid_code)"
            " FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id"
            " AND t.created_at = e.ticket_created_at"
            " WHERE e.at > %s AND e.actor_kind = 'worker'",
            (DEMO_NOW,),
        ).fetchall()
        assert {a for a, _, _ in steps} >= {"self_resolve", "report", "verify_pass"}
        assert all(named for _, _, named in steps)
        kept = rollups(conn)
        rebuild_task_worker_rollups(conn, settings.timezone)
        rebuild_surveys_from_events(conn, seed=1, channel_mix=CHANNEL_MIX)
        rebuilt = rollups(conn)
        assert kept[:2] == rebuilt[:2]
        assert [s for s in kept[2] if s[4] > DEMO_NOW] == [s for s in rebuilt[2] if s[4] > DEMO_NOW]
