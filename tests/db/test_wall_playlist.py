"""A wall link's rotation against a private copy of the small demo: the migration's column,
storing and reading it, `gridscope wall create --playlist` and `gridscope wall playlist`, the
/admin/walls card (through the real callback endpoint), the audit rows of every change, the
views expanded inside the wall's scope only (a forged unit is left out), and the overdue
board's payload equal to SQL with no personal data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from app import create_app
from dashboard.screen.board import ROWS, board_payload, span_text
from dashboard.screen.rotation import rotation_config, rotation_of
from domain.access import Role
from domain.clock.now import FixedClock
from domain.playlist import PlaylistError
from gridscope.auth import walls
from gridscope.cli import main as cli
from queries import audit
from queries import walls as wall_queries
from queries.cache import Cache
from queries.db import connect, make_pool
from queries.scope import NOWHERE, WHOLE, Scope
from queries.services import Services
from queries.viewer import Viewer
from tests.access import signed_in
from tests.conftest import DEMO_NOW
from tests.security.test_admin_pages import body, key_of, render, text_of

pytestmark = pytest.mark.db

TOWN = "330402007"  # 建设街道, the small demo's only town
OTHER_TOWN = "330402008"  # a code of the same county that the small demo does not load
CALLBACK = "/_dash-update-component"


def new_wall(settings, jurisdiction: str = TOWN, name: str = "测试大屏") -> int:
    with connect(settings) as conn:
        wid, _token = walls.create(conn, name, jurisdiction, "standard", "tests")
        conn.commit()
    return wid


def run(settings, *args: str):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
        "USER": "ops-tester",
    }
    return CliRunner().invoke(cli, list(args), env=env)


def audit_rows(settings, action: str) -> list[dict]:
    with connect(settings) as conn:
        return audit.search(conn, WHOLE, action=action, limit=500)


def stored(settings, wid: int) -> str | None:
    with connect(settings) as conn:
        return wall_queries.playlist_of(conn, wid)


def communities(settings) -> list[str]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT code FROM region WHERE level = 'community' AND code LIKE %s"
            " AND valid_to IS NULL ORDER BY code",
            (TOWN + "%",),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def svc(demo_db, redis_client) -> Iterator[Services]:
    pool = make_pool(demo_db)
    pool.open(wait=True)
    yield Services(
        settings=demo_db,
        pool=pool,
        scope=WHOLE,
        cache=Cache.from_url(demo_db.redis_url, 60, "test"),
        clock=FixedClock(DEMO_NOW),
    )
    pool.close()


def as_wall(svc: Services, wid: int, jurisdiction: str = TOWN) -> Services:
    return svc.for_viewer(Viewer("wall", wid, "测试大屏", Role.WALL, Scope(jurisdiction)))


# ------------------------------------------------------------------ storage


def test_migration_adds_the_column_with_an_empty_default(fresh_db):
    with connect(fresh_db) as conn:
        row = conn.execute(
            "SELECT data_type, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_name = 'wall_link' AND column_name = 'playlist'"
        ).fetchone()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert row == ("text", "NO", "''::text")
    assert version >= "0006"


def test_set_and_read_back_in_canonical_form(demo_db):
    wid = new_wall(demo_db)
    assert stored(demo_db, wid) == ""
    with connect(demo_db) as conn:
        assert wall_queries.set_playlist(conn, wid, " Overview：60， towns:20 ")
        conn.commit()
        assert wall_queries.playlist_of(conn, wid) == "overview:60,towns:20"
        with pytest.raises(PlaylistError, match="第 2 步"):
            wall_queries.set_playlist(conn, wid, "overview:60,towns:5")
        conn.rollback()
        assert wall_queries.playlist_of(conn, wid) == "overview:60,towns:20"
        assert wall_queries.set_playlist(conn, 999_999, "overview:60") is False
        assert wall_queries.playlist_of(conn, 999_999) is None
        conn.execute("UPDATE wall_link SET revoked_at = now() WHERE id = %s", (wid,))
        assert wall_queries.playlist_of(conn, wid) is None
        assert wall_queries.set_playlist(conn, wid, "overview:60") is False
        assert wall_queries.playlists(conn, Scope(TOWN)) == {wid: "overview:60,towns:20"}
        assert wall_queries.playlists(conn, Scope("330411")) == {}


# ------------------------------------------------------------------ command line


def test_cli_create_with_a_playlist_then_change_show_and_clear_it(demo_db):
    res = run(demo_db, "wall", "create", "--jurisdiction", TOWN, "--name", "建设街道指挥中心",
              "--playlist", "overview:60,towns:20,overdue:30")  # fmt: skip
    assert res.exit_code == 0, res.output
    wid = int(re.search(r"created wall link (\d+)", res.output).group(1))
    assert stored(demo_db, wid) == "overview:60,towns:20,overdue:30"
    (created,) = audit_rows(demo_db, "wall_create")
    (first,) = audit_rows(demo_db, "wall_playlist")
    assert created["object_ids"] == first["object_ids"] == [str(wid)]
    assert first["actor_kind"] == "cli" and first["actor_name"] == "ops-tester"
    assert first["detail"]["from"] == "" and first["detail"]["to"].startswith("overview:60")
    assert first["jurisdiction"] == TOWN

    res = run(demo_db, "wall", "playlist", str(wid), f"town:{communities(demo_db)[0]}:45")
    assert res.exit_code == 0, res.output
    assert "was: overview:60,towns:20,overdue:30" in res.output
    shown = run(demo_db, "wall", "playlist", str(wid))
    assert shown.exit_code == 0 and f"town:{communities(demo_db)[0]}:45" in shown.output
    assert "指定区域" in shown.output
    again = run(demo_db, "wall", "playlist", str(wid), f"town:{communities(demo_db)[0]}:45")
    assert "unchanged" in again.output
    assert len(audit_rows(demo_db, "wall_playlist")) == 2  # the unchanged one wrote nothing

    assert run(demo_db, "wall", "playlist", str(wid), "").exit_code == 0
    assert stored(demo_db, wid) == ""
    listing = run(demo_db, "wall", "list")
    assert listing.exit_code == 0 and "[" not in listing.output.splitlines()[1]
    assert len(audit_rows(demo_db, "wall_playlist")) == 3


def test_cli_refusals_name_the_step_and_change_nothing(demo_db):
    res = run(demo_db, "wall", "create", "--jurisdiction", TOWN, "--name", "x",
              "--playlist", "overview:60,towns:5")  # fmt: skip
    assert res.exit_code == 2 and "第 2 步" in res.output and "towns:5" in res.output
    with connect(demo_db) as conn:
        assert conn.execute("SELECT count(*) FROM wall_link").fetchone()[0] == 0
    # A unit outside the wall's jurisdiction: refused, and the link is not created either.
    res = run(demo_db, "wall", "create", "--jurisdiction", TOWN, "--name", "x",
              "--playlist", f"town:{OTHER_TOWN}:30")  # fmt: skip
    assert res.exit_code == 2 and OTHER_TOWN in res.output, res.output
    with connect(demo_db) as conn:
        assert conn.execute("SELECT count(*) FROM wall_link").fetchone()[0] == 0

    wid = new_wall(demo_db)
    for text in ("overview:9", "map:30", "town:3304:30"):  # 3304 contains the town: not inside
        res = run(demo_db, "wall", "playlist", str(wid), text)
        assert res.exit_code == 2, (text, res.output)
    assert run(demo_db, "wall", "playlist", "999999", "overview:60").exit_code == 1
    assert stored(demo_db, wid) == "" and audit_rows(demo_db, "wall_playlist") == []


# ------------------------------------------------------------------ /admin/walls


@pytest.fixture
def app(demo_db, redis_client):
    app = create_app(demo_db)
    yield app
    app.server.extensions["gridscope"].close()


def save_body(app, target, text) -> dict:
    values = {"adm-walls-playlist-target.value": target, "adm-walls-playlist.value": text}
    key = key_of(app, "adm-walls-create-msg")
    return body(app, key, values, "adm-walls-playlist-save.n_clicks")


def test_admin_sets_a_playlist_with_the_message_inline_and_audited(app, demo_db):
    wid = new_wall(demo_db)
    client = signed_in(app, demo_db, "admin", TOWN)
    page = text_of(render(client, app, "/admin/walls"))
    assert "大屏轮播" in page and "adm-walls-playlist" in page

    resp = client.post(CALLBACK, json=save_body(app, wid, "overview:60,towns:3"))
    text = text_of(resp)
    assert resp.status_code == 200 and "第 2 步「towns:3」" in text and "10–3600" in text
    assert stored(demo_db, wid) == ""

    resp = client.post(CALLBACK, json=save_body(app, wid, "overview:60，towns:20"))
    text = text_of(resp)
    assert "已保存大屏链接" in text and "overview:60,towns:20" in text
    assert stored(demo_db, wid) == "overview:60,towns:20"
    (row,) = audit_rows(demo_db, "wall_playlist")
    assert row["actor_kind"] == "user" and row["detail"]["to"] == "overview:60,towns:20"
    # The table shows it.
    assert "overview:60,towns:20" in text_of(render(client, app, "/admin/walls"))

    # Choosing the link fills the input; typing is checked as it goes.
    key = key_of(app, "adm-walls-playlist")
    values = {"adm-walls-playlist-target.value": wid}
    resp = client.post(CALLBACK, json=body(app, key, values, "adm-walls-playlist-target.value"))
    assert "overview:60,towns:20" in text_of(resp) and "2 步" in text_of(resp)
    values = {"adm-walls-playlist.value": "overview:60,overdue"}
    resp = client.post(CALLBACK, json=body(app, key, values, "adm-walls-playlist.value"))
    assert "第 2 步" in text_of(resp) and "缺少时长" in text_of(resp)


def test_admin_of_another_jurisdiction_and_an_analyst_change_nothing(app, demo_db):
    wid = new_wall(demo_db)
    other = signed_in(app, demo_db, "admin", "330411")
    resp = other.post(CALLBACK, json=save_body(app, wid, "overview:60"))
    assert resp.status_code == 200 and f"没有大屏链接 {wid}" in text_of(resp)
    analyst = signed_in(app, demo_db, "analyst", TOWN)
    resp = analyst.post(CALLBACK, json=save_body(app, wid, "overview:60"))
    assert resp.status_code == 403
    for target in (None, "1", 10**30, True, [wid]):
        admin = signed_in(app, demo_db, "admin", TOWN)
        resp = admin.post(CALLBACK, json=save_body(app, target, {"x": 1}))
        assert resp.status_code in (200, 204)
    assert stored(demo_db, wid) == "" and audit_rows(demo_db, "wall_playlist") == []


# ------------------------------------------------------------------ run time


def test_towns_expand_inside_the_scope_only(demo_db):
    with connect(demo_db) as conn:
        city, more = wall_queries.towns_in(conn, Scope("3304"), DEMO_NOW)
        town, _ = wall_queries.towns_in(conn, Scope(TOWN), DEMO_NOW)
        community, _ = wall_queries.towns_in(conn, Scope(communities(demo_db)[0]), DEMO_NOW)
        nowhere, _ = wall_queries.towns_in(conn, NOWHERE, DEMO_NOW)
        assert wall_queries.unit_in(conn, Scope(TOWN), OTHER_TOWN, DEMO_NOW) is None
        assert wall_queries.unit_in(conn, Scope(communities(demo_db)[0]), TOWN, DEMO_NOW) is None
    assert [u.code for u in city] == [TOWN] and not more
    # A wall of one town visits its communities (its one town would repeat the overview).
    assert [u.code for u in town] == communities(demo_db)
    assert all(u.level == "community" and u.parent_name == "建设街道" for u in town)
    assert all(u.bounds and u.bounds[0] < u.bounds[2] for u in town)
    assert community == [] and nowhere == []


def test_rotation_of_a_wall_expands_its_link_and_skips_what_it_cannot_show(svc, demo_db):
    wid = new_wall(demo_db)
    first = communities(demo_db)[0]
    with connect(demo_db) as conn:
        wall_queries.set_playlist(
            conn, wid, f"overview:60,towns:20,town:{first}:30,overdue:30,analytics:30"
        )
        conn.commit()
    rot = rotation_of(as_wall(svc, wid))
    assert rot.source == "link"
    units = [s["unit"] for s in rot.steps]
    assert units == [None, *communities(demo_db), first, None]
    assert [s["board"] for s in rot.steps] == [False] * 7 + [True]
    assert rot.steps[0]["label"] == "建设街道 · 全域总览" and rot.steps[0]["bounds"]
    assert rot.steps[1]["label"].startswith("建设街道 ") and rot.steps[1]["seconds"] == 20
    assert rot.steps[-1]["label"].startswith("超期督办榜")
    (note,) = rot.notes
    assert "第 5 步「analytics:30」" in note and "/analytics" in note

    # A unit outside the scope written past the checks (a forged row) is never shown.
    with connect(demo_db) as conn:
        conn.execute(
            "UPDATE wall_link SET playlist = %s WHERE id = %s",
            (f"town:{OTHER_TOWN}:30,town:3304:30,overview:20", wid),
        )
        conn.commit()
    rot = rotation_of(as_wall(svc, wid))
    assert [s["unit"] for s in rot.steps] == [None]
    assert len(rot.notes) == 2 and all("不是本大屏辖区内的现行区域" in n for n in rot.notes)
    # A stored text that does not read: no rotation, one note; nobody's page breaks.
    with connect(demo_db) as conn:
        conn.execute("UPDATE wall_link SET playlist = 'overview:1' WHERE id = %s", (wid,))
        conn.commit()
    rot = rotation_of(as_wall(svc, wid))
    assert rot.steps == [] and "轮播设置有误" in rot.notes[0]


def test_the_setting_applies_to_links_without_one_and_only_walls_rotate(svc, demo_db):
    wid = new_wall(demo_db)
    assert rotation_of(as_wall(svc, wid)).steps == []  # no link playlist, empty setting
    svc2 = Services(**{**svc.__dict__, "settings": demo_db.model_copy(
        update={"wall_playlist": "overdue:15,overview:10"})})  # fmt: skip
    rot = rotation_of(as_wall(svc2, wid))
    assert rot.source == "settings" and [s["kind"] for s in rot.steps] == ["overdue", "overview"]
    person = svc2.for_viewer(Viewer("user", 1, "leader", Role.LEADER, Scope(TOWN)))
    assert rotation_of(person).steps == []
    element = rotation_config(as_wall(svc2, wid)).to_plotly_json()["props"]
    config = json.loads(element["data-config"])
    assert element["id"] == "gs-rotation" and element["hidden"] is True
    assert config["steps"][0]["unit"] is None and config["pause_s"] == 60


def test_the_wall_page_carries_its_rotation(app, demo_db):
    with connect(demo_db) as conn:
        wid, token = walls.create(conn, "墙", TOWN, "standard", "t")
        wall_queries.set_playlist(conn, wid, "overview:10,towns:10")
        conn.commit()
    client = app.server.test_client()
    assert client.get(f"/wall/{token}").status_code == 302
    page = text_of(render(client, app, "/screen"))
    match = re.search(r'"data-config": "((?:[^"\\]|\\.)*)"', page)
    assert match, page[:500]
    config = json.loads(json.loads(f'"{match.group(1)}"'))
    assert [s["unit"] for s in config["steps"]] == [None, *communities(demo_db)]
    assert '"gs-board"' in page


# ------------------------------------------------------------------ the overdue board

COUNTS_SQL = """
SELECT count(*) FILTER (WHERE stage_due_at < %(now)s),
       count(*) FILTER (WHERE stage_due_at > %(now)s)
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')
   AND grid_code LIKE %(like)s AND stage_warn_at <= %(now)s
"""


def test_board_payload_equals_sql_and_carries_no_personal_data(demo_db):
    with connect(demo_db) as conn:
        overdue, warning = conn.execute(
            COUNTS_SQL, {"now": DEMO_NOW, "like": TOWN + "%"}
        ).fetchone()
        sensitive = {
            r[0]
            for r in conn.execute(
                "SELECT ticket_no FROM ticket WHERE category_code LIKE '0702%%'"
                " OR category_code LIKE '05%%'"
            ).fetchall()
        }
        data = board_payload(conn, Scope(TOWN), DEMO_NOW, demo_db)
        part = board_payload(conn, Scope(communities(demo_db)[0]), DEMO_NOW, demo_db)
        none = board_payload(conn, NOWHERE, DEMO_NOW, demo_db)
    assert overdue > 0, "the small demo has overdue tickets"
    by_key = {g["key"]: g for g in data["groups"]}
    assert by_key["overdue"]["count"] == overdue and by_key["warning"]["count"] == warning
    assert f"超期 {overdue} 件" in data["summary"]
    rows = by_key["overdue"]["rows"] + by_key["warning"]["rows"]
    assert rows and len(by_key["overdue"]["rows"]) <= ROWS
    assert by_key["overdue"]["more"] == overdue - len(by_key["overdue"]["rows"])
    assert all(g["empty"] == ("" if g["count"] else g["empty"]) for g in data["groups"])
    keys = {"no", "category", "place", "stage", "department", "due_text", "due_local", "step",
            "step_key", "step_name", "step_short"}  # fmt: skip
    assert all(set(r) == keys for r in rows)
    assert not sensitive & {r["no"] for r in rows}
    steps = [r["step"] for r in by_key["overdue"]["rows"]]
    assert steps == sorted(steps, reverse=True) and min(steps) >= 2
    json.dumps(data, ensure_ascii=False)  # display-ready: plain JSON
    assert sum(g["count"] for g in part["groups"]) <= overdue + warning
    assert [g["count"] for g in none["groups"]] == [0, 0]
    assert [g["more_text"] for g in none["groups"]] == ["", ""] and none["groups"][0]["empty"]


def test_what_the_board_does_not_list_is_said():
    from dashboard.screen.board import _more_text

    assert _more_text(4, 4, 0) == "" and _more_text(20, 12, 0) == "另有 8 件未列出"
    assert _more_text(1, 0, 1) == "另有 1 件属特殊人群、矛盾纠纷类，只计数、不列出"
    assert "其中 2 件属特殊人群" in _more_text(20, 12, 2)


def test_span_text():
    assert span_text(0) == "不足1分钟" and span_text(25) == "25分钟"
    assert span_text(60) == "1小时" and span_text(192) == "3小时12分"
    assert span_text(1440) == "1天" and span_text(3 * 1440 + 125) == "3天2小时"
    assert span_text(197 * 1440 + 6 * 60) == "197天" and span_text(17 * 60 + 1) == "17小时"
