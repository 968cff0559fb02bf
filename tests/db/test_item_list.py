"""The item list's administration against real PostGIS on a private copy of the small demo:
decisions through the queries, `gridscope items` and the API; the version in force on dates
before and after a decision; tickets refused at ingest (API and file import) when their
category is not in force on their day; the guard's refusal audited; the admin page's callback
refusing a non-administrator."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from plotly.utils import PlotlyJSONEncoder

from app import create_app
from dashboard.admin import items as page
from domain.access import Role
from domain.item_list import JX12_TEXT, PY14_TEXT, decision_from
from gridscope.api.tokens import create_token
from gridscope.cli import main as cli
from gridscope.imports.mapping import load_ticket_mapping
from gridscope.imports.tickets import import_tickets
from queries import audit, services
from queries.admin import Actor
from queries.db import connect
from queries.item_decisions import record_decision
from queries.item_list import admitted_on, load_timeline, refresh_in_force
from queries.scope import WHOLE, Scope
from queries.viewer import Viewer
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")
TODAY = DEMO_NOW.astimezone(TZ).date()  # 2026-11-25
D = date.fromisoformat
ACTOR = Actor.command_line("tester", WHOLE)


def run(settings, *args: str, now: datetime = DEMO_NOW):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": now.isoformat(),
        "USER": "items-tester",
    }
    return CliRunner().invoke(cli, list(args), env=env)


def decide(settings, today: date = TODAY, **fields):
    with connect(settings) as conn:
        done = record_decision(
            conn, ACTOR, DEMO_NOW, today, decision_from(**fields), about="", tz=TZ
        )
        conn.commit()
    return done


def sql(settings, query: str, params=()):
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def audit_rows(settings, action: str) -> list[dict]:
    with connect(settings) as conn:
        return audit.search(conn, WHOLE, action=action, limit=500)


# ---- decisions, the version in force, the flags -------------------------------------------------


def test_cli_decisions_and_the_version_in_force_on_dates(demo_db):
    s = demo_db
    r = run(
        s, "items", "admit", "0910", "--name", "共享单车乱停放", "--name-en", "Shared bikes",
        "--decision", "南湖网格〔2026〕3号", "--effective", "2026-12-01",
        "--limit", "3WD", "--urgent-limit", "24h",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "takes effect on 2026-12-01" in r.output
    # Recorded, not yet in force: the row exists, its flag is off, the limits wait.
    assert sql(s, "SELECT admitted, parent_code, name_zh FROM category WHERE code = '0910'") == [
        (False, "09", "共享单车乱停放")
    ]
    assert sql(s, "SELECT count(*) FROM stage_limit WHERE category_code = '0910'") == [(0,)]

    before = json.loads(run(s, "items", "show", "--on", "2026-11-30", "--format", "json").output)
    after = json.loads(run(s, "items", "show", "--on", "2026-12-01", "--format", "json").output)
    assert "0910" not in {i["code"] for i in before["items"]}
    (entry,) = [i for i in after["items"] if i["code"] == "0910"]
    assert entry == {
        "code": "0910",
        "parent_code": "09",
        "name_zh": "共享单车乱停放",
        "name_en": "Shared bikes",
        "matter": "服务管理",
        "normal_limit": "3WD",
        "urgent_limit": "24h",
        "normal_inherited": False,
        "urgent_inherited": False,
        "decision_no": "南湖网格〔2026〕3号",
        "effective_on": "2026-12-01",
    }
    legacy = [i for i in after["items"] if i["code"] == "0901"][0]
    assert legacy["decision_no"] is None and legacy["normal_limit"] == "1WD"
    assert len(after["items"]) == len(before["items"]) + 1

    # The sweep of 2026-12-01 brings it into force: flag and T5 limits.
    swept = run(s, "sweep", now=datetime(2026, 12, 1, 0, 5, tzinfo=TZ))
    assert swept.exit_code == 0, swept.output
    assert "item list: 1 entr(y/ies) came into or went out of force today" in swept.output
    with connect(s) as conn:
        assert refresh_in_force(conn, D("2026-12-01"), TZ) == 0  # nothing left to change
        assert sql(s, "SELECT admitted FROM category WHERE code = '0910'") == [(True,)]
    assert sql(s, "SELECT admitted FROM category WHERE code = '0910'") == [(True,)]
    assert sql(
        s,
        "SELECT urgency, amount::float, unit FROM stage_limit WHERE category_code = '0910'"
        " ORDER BY urgency",
    ) == [("normal", 3.0, "wd"), ("urgent", 24.0, "h")]

    # Amend from 2027-01-01; the history lists both in effective order.
    r = run(
        s, "items", "amend", "0910", "--limit", "2WD", "--decision", "南湖网格〔2026〕9号",
        "--effective", "2027-01-01",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    hist = json.loads(run(s, "items", "history", "0910", "--format", "json").output)
    assert [
        (h["action"], h["decision_no"], h["normal_limit"], h["urgent_limit"]) for h in hist
    ] == [
        ("admit", "南湖网格〔2026〕3号", "3WD", "24h"),
        ("amend", "南湖网格〔2026〕9号", "2WD", "24h"),
    ]
    text = run(s, "items", "show", "--on", "2027-01-02").output
    assert "共享单车乱停放" in text and "2WD" in text and "南湖网格〔2026〕9号" in text
    csv_out = run(s, "items", "show", "--format", "csv").output.splitlines()
    assert csv_out[0].startswith("code,parent_code,name_zh")

    # Re-sent: nothing changes. Another decision under the same number: refused (exit 2).
    n = sql(s, "SELECT count(*) FROM category_decision")
    again = run(
        s, "items", "amend", "0910", "--limit", "2WD", "--decision", "南湖网格〔2026〕9号",
        "--effective", "2027-01-01", "--note", "重复提交",
    )  # fmt: skip
    assert again.exit_code == 0 and "already recorded" in again.output
    clash = run(
        s, "items", "amend", "0910", "--limit", "4WD", "--decision", "南湖网格〔2026〕9号",
        "--effective", "2027-01-01",
    )  # fmt: skip
    assert clash.exit_code == 2 and "南湖网格〔2026〕9号" in clash.output
    assert sql(s, "SELECT count(*) FROM category_decision") == n
    # Bad input: one clear line, no traceback.
    for args in (
        ["admit", "0911", "--decision", "X1", "--effective", "2026-12-01", "--name", "x",
         "--limit", "5 days"],
        ["withdraw", "0999", "--decision", "X2", "--effective", "2026-12-01"],
        ["admit", "9", "--decision", "X3", "--effective", "2026-12-01", "--name", "x"],
    ):  # fmt: skip
        bad = run(s, "items", *args)
        assert bad.exit_code == 2 and "Traceback" not in bad.output, bad.output
    acts = [(r["action"], r["actor_name"]) for r in audit_rows(s, "item_admit")]
    assert acts == [("item_admit", "items-tester")]
    assert len(audit_rows(s, "item_amend")) == 1


def test_withdrawing_a_major_takes_its_minors_and_keeps_the_old_version(demo_db):
    s = demo_db
    with connect(s) as conn:
        minors = [c for (c,) in conn.execute("SELECT code FROM category WHERE parent_code = '05'")]
    done = decide(s, code="05", action="withdraw", decision_no="W-05", effective_on=TODAY)
    assert done.created and done.in_force
    assert sorted(d.code for d in done.decisions) == ["05", *sorted(minors)]
    # In force today: the flags are off at once.
    assert sql(s, "SELECT count(*) FROM category WHERE code LIKE '05%%' AND admitted") == [(0,)]
    with connect(s) as conn:
        t = load_timeline(conn)
        assert admitted_on(conn, ["05", "0501"], D("2026-11-24")) == {"05": True, "0501": True}
        assert admitted_on(conn, ["05", "0501"], TODAY) == {"05": False, "0501": False}
    # The legacy version was recorded as the baseline, with its name.
    (base, w) = t.history("0501")
    assert base[0].baseline and base[1].name_zh == "邻里纠纷" and w[0].decision_no == "W-05"
    # A minor cannot come back without its major.
    r = run(s, "items", "admit", "0501", "--name", "邻里纠纷", "--decision", "A-1",
            "--effective", "2026-12-01")  # fmt: skip
    assert r.exit_code == 2 and "大类 05" in r.output


def test_the_guard_refuses_and_audits(demo_db):
    s = demo_db
    r = run(s, "items", "admit", "0911", "--name", "占道经营罚款", "--decision", "G-1",
            "--effective", "2026-12-01")  # fmt: skip
    assert r.exit_code == 2
    flat = "".join(r.output.split())
    assert PY14_TEXT in flat and JX12_TEXT in flat
    r = run(s, "items", "admit", "0912", "--name", "餐饮油烟", "--matter", "行政处罚",
            "--decision", "G-2", "--effective", "2026-12-01")  # fmt: skip
    assert r.exit_code == 2 and "行政处罚" in r.output
    refused = audit_rows(s, "item_refused")
    assert [(x["outcome"], x["object"], x["detail"]["field"]) for x in refused] == [
        ("refused", "item:0912", "matter"),
        ("refused", "item:0911", "name_zh"),
    ]
    assert PY14_TEXT in refused[0]["detail"]["message"]
    assert sql(s, "SELECT count(*) FROM category_decision") == [(0,)]
    assert sql(s, "SELECT count(*) FROM category WHERE code IN ('0911', '0912')") == [(0,)]


def test_import_a_decisions_file_row_by_row(demo_db, tmp_path):
    s = demo_db
    path = tmp_path / "items.csv"
    rows = [
        [
            "事项编码",
            "事项名称",
            "操作",
            "决定文号",
            "生效日期",
            "事项性质",
            "一般时限",
            "紧急时限",
        ],
        ["10", "网格党建", "纳入", "D-1", "2026-11-01", "服务管理", "5WD", "24h"],
        ["1001", "党员联户", "纳入", "D-1", "2026-11-01", "", "", ""],
        ["1002", "违停罚款", "纳入", "D-1", "2026-11-01", "", "", ""],
        ["0901", "", "退出", "D-2", "2026-12-01", "", "", ""],
        ["1003", "志愿服务", "纳入", "", "2026-11-01", "", "", ""],
        ["903", "", "调整", "D-3", "2026-11-01", "", "10WD", ""],  # 0903 typed as a number
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    rejects = tmp_path / "rejects.csv"
    r = run(s, "items", "import", str(path), "--rejects", str(rejects))
    assert r.exit_code == 0, r.output
    assert "recorded 4, already recorded 0, refused 2" in r.output
    refused = list(csv.DictReader(rejects.open(encoding="utf-8-sig")))
    assert [(x["source_row"], x["事项编码"]) for x in refused] == [("4", "1002"), ("6", "1003")]
    assert "第十四条" in refused[0]["reject_reason"]
    assert "决定文号" in refused[1]["reject_reason"]
    # A new major has every stage's limits (T5 from the file); its minor falls back to it.
    assert sql(s, "SELECT count(*) FROM stage_limit WHERE category_code = '10'") == [(14,)]
    assert sql(
        s, "SELECT amount::float, unit FROM stage_limit WHERE category_code = '0903'"
        " AND stage = 'T5' AND urgency = 'normal'",
    ) == [(10.0, "wd")]  # fmt: skip
    assert sql(s, "SELECT code, admitted FROM category WHERE code IN ('10', '1001', '0901')"
               " ORDER BY code") == [("0901", True), ("10", True), ("1001", True)]  # fmt: skip
    # Re-run: nothing twice.
    again = run(s, "items", "import", str(path), "--rejects", str(rejects))
    assert "recorded 0, already recorded 4, refused 2" in again.output
    assert len(audit_rows(s, "item_admit")) == 2 and len(audit_rows(s, "item_refused")) == 2


# ---- refusal at ingest --------------------------------------------------------------------------


@pytest.fixture
def api(demo_db):
    app = create_app(demo_db)
    client = app.server.test_client()
    with connect(demo_db) as conn:
        tokens = {
            "admin": create_token(conn, "list admin", Scope(""), True, Role.ADMIN)[1],
            "town_admin": create_token(conn, "cmty", Scope("330402007024"), True, Role.ADMIN)[1],
            "dispatcher": create_token(conn, "hotline", Scope(""), True)[1],
        }
        conn.commit()
    yield app, client, tokens
    app.server.extensions["gridscope"].close()


def _point(settings):
    return sql(
        settings,
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid"
        " WHERE valid_to IS NULL ORDER BY code LIMIT 1) g",
    )[0]


def test_api_decisions_and_refusal_of_tickets_by_their_day(api, demo_db):
    _app, client, tokens = api

    def post(path, body, who="admin"):
        return client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[who]}"})

    def get(path, who="dispatcher"):
        return client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})

    withdraw = {
        "action": "withdraw", "code": "0902", "decision_no": "W-0902",
        "effective_on": "2026-11-20",
    }  # fmt: skip
    assert post("/api/v1/items/decisions", withdraw, "dispatcher").status_code == 403
    assert post("/api/v1/items/decisions", withdraw, "town_admin").status_code == 403
    r = post("/api/v1/items/decisions", withdraw)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["created"] and body["in_force"] and body["decision"]["decision_no"] == "W-0902"
    again = post("/api/v1/items/decisions", withdraw)
    assert again.status_code == 200 and again.get_json()["created"] is False
    clash = post("/api/v1/items/decisions", {**withdraw, "effective_on": "2026-11-21"})
    assert clash.status_code == 409
    admit = {
        "action": "admit", "code": "0910", "decision_no": "A-0910", "effective_on": "2026-12-01",
        "name_zh": "共享单车乱停放", "normal_limit": "3WD",
    }  # fmt: skip
    assert post("/api/v1/items/decisions", admit).status_code == 201
    # Bad input: 422 naming the field, never a 500.
    for bad, field in (
        ({**admit, "code": "0911", "normal_limit": "fast"}, "normal_limit"),
        ({**admit, "code": "0911", "effective_on": "2026-13-01"}, "effective_on"),
        ({**admit, "code": "0911", "name_zh": None}, "name_zh"),
        ({**admit, "code": "0911", "extra": 1}, "extra"),
        ({**withdraw, "code": "0999"}, "code"),
    ):
        r = post("/api/v1/items/decisions", bad)
        assert r.status_code == 422, (bad, r.get_data(as_text=True))
        assert field in {f["field"] for f in r.get_json()["error"]["fields"]}
    guarded = post("/api/v1/items/decisions", {**admit, "code": "0911", "matter": "行政强制"})
    assert guarded.status_code == 422 and PY14_TEXT in guarded.get_json()["error"]["message"]
    assert len(audit_rows(demo_db, "item_refused")) == 1

    # The list in force on dates before and after.
    on19 = {i["code"] for i in get("/api/v1/items?on=2026-11-19").get_json()["items"]}
    on20 = {i["code"] for i in get("/api/v1/items?on=2026-11-20").get_json()["items"]}
    dec1 = {i["code"] for i in get("/api/v1/items?on=2026-12-01").get_json()["items"]}
    assert "0902" in on19 and "0902" not in on20 and on19 - on20 == {"0902"}
    assert dec1 - on20 == {"0910"}
    assert get("/api/v1/items?on=someday").status_code == 422
    hist = get("/api/v1/items/0902/history").get_json()
    assert hist["in_force_today"] is False
    assert [(d["action"], d["baseline"]) for d in hist["decisions"]] == [
        ("admit", True),
        ("withdraw", False),
    ]
    assert get("/api/v1/items/7777/history").status_code == 404
    assert get("/api/v1/items/0101/history").get_json()["decisions"] == []

    # Tickets: 0902 loads when dated before its withdrawal, not after; 0910 not before 12-01.
    lon, lat = _point(demo_db)
    ticket = {"lat": lat, "long": lon, "service_code": "0902"}
    early = post(
        "/api/v1/tickets", {**ticket, "requested_datetime": "2026-11-19T10:00:00+08:00"},
        "dispatcher",
    )  # fmt: skip
    assert early.status_code == 201, early.get_data(as_text=True)
    late = post(
        "/api/v1/tickets", {**ticket, "requested_datetime": "2026-11-21T10:00:00+08:00"},
        "dispatcher",
    )  # fmt: skip
    assert late.status_code == 422
    assert late.get_json()["error"]["fields"][0] == {
        "field": "service_code",
        "problem": "category 0902 was withdrawn from the item list on 2026-11-20 (decision W-0902)",
    }
    soon = post("/api/v1/tickets", {**ticket, "service_code": "0910"}, "dispatcher")
    assert soon.status_code == 422
    assert "not yet admitted" in soon.get_json()["error"]["message"]
    assert "(effective 2026-12-01, decision A-0910)" in soon.get_json()["error"]["message"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/items", "/api/v1/items/{code}/history", "/api/v1/items/decisions"} <= set(
        spec["paths"]
    )


def test_ticket_import_refuses_rows_dated_after_the_withdrawal(demo_db, tmp_path):
    s = demo_db
    decide(s, code="0902", action="withdraw", decision_no="W-0902", effective_on="2026-11-20")
    lon, lat = _point(s)
    path = tmp_path / "requests.csv"
    header = ["service_request_id", "status", "service_code", "service_name",
              "requested_datetime", "updated_datetime", "expected_datetime", "lat", "long",
              "address", "description"]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        # 23:30 UTC on the 19th is the 20th in Jiaxing: refused (local day counts).
        for ext, when in (("E1", "2026-11-19T10:00:00+08:00"), ("E2", "2026-11-21T10:00:00+08:00"),
                          ("E3", "2026-11-19T23:30:00+00:00")):  # fmt: skip
            w.writerow([ext, "open", "0902", "Sanitation", when, "", "", lat, lon, "", ""])
    rejects = tmp_path / "rejects.csv"
    report = import_tickets(
        s, path, load_ticket_mapping("open311"), rejects_path=rejects, progress=False,
        now=DEMO_NOW,
    )  # fmt: skip
    assert (report.loaded, report.rejected) == (1, 2)
    assert report.reasons == {"category not in force": 2}
    got = {r["service_request_id"]: r["reject_reason"] for r in csv.DictReader(rejects.open())}
    assert got == {
        "E2": "category 0902 was withdrawn from the item list on 2026-11-20 (decision W-0902)"
        " (the ticket opened on 2026-11-21)",
        "E3": "category 0902 was withdrawn from the item list on 2026-11-20 (decision W-0902)"
        " (the ticket opened on 2026-11-20)",
    }
    assert sql(s, "SELECT external_id FROM ticket_external WHERE namespace = 'open311'") == [
        ("E1",)
    ]


# ---- the admin page -----------------------------------------------------------------------------


def flat(component) -> str:
    """A component tree as JSON text (what the browser receives)."""
    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_page_callback_refuses_a_non_admin_and_records_for_an_admin(demo_db, redis_client):
    app = create_app(demo_db)
    form = {
        "on": "2026-12-02", "action": "admit", "code": "0910", "decision_no": "P-1",
        "effective_on": "2026-12-01", "name_zh": "共享单车乱停放", "normal": "3WD",
    }  # fmt: skip
    try:
        with app.server.test_request_context():
            for role, prefix in (("analyst", ""), ("dispatcher", "")):
                services.bind(Viewer("user", 9, role, Role(role), Scope(prefix)))
                msg, listed, history = page.items_action("adm-items-submit", form)
                assert page.DENIED in flat(msg)
            assert sql(demo_db, "SELECT count(*) FROM category_decision") == [(0,)]
            # An administrator of one town only: the list is the deployment's.
            services.bind(Viewer("user", 3, "town", Role.ADMIN, Scope("330402007024")))
            msg, _, _ = page.items_action("adm-items-submit", form)
            assert page.NOT_WHOLE in str(msg.children)
            services.bind(Viewer("user", 1, "admin", Role.ADMIN, Scope("3304")))
            msg, listed, history = page.items_action("adm-items-submit", form)
            assert "已记录 0910" in msg.children and "将于 2026-12-01 生效" in msg.children
            assert "共享单车乱停放" in flat(listed)
            assert "P-1" in flat(history)
            guarded = {**form, "code": "0911", "decision_no": "P-2", "name_zh": "违停罚款"}
            msg, _, _ = page.items_action("adm-items-submit", guarded)
            assert PY14_TEXT in msg.children and JX12_TEXT in msg.children
    finally:
        app.server.extensions["gridscope"].close()
    assert [r["actor_name"] for r in audit_rows(demo_db, "item_admit")] == ["admin"]
    assert [r["actor_name"] for r in audit_rows(demo_db, "item_refused")] == ["admin"]
    at = sql(demo_db, "SELECT recorded_at FROM category_decision WHERE decision_no = 'P-1'")
    assert at == [(datetime.fromisoformat(DEMO_NOW.isoformat()),)]
