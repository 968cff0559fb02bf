"""The monthly situation report on a private copy of the small demo (one town, October 2026):
`gridscope report` writes a PDF whose text (pdftotext) carries the numbers collect() returns,
formatted as on the page, and an xlsx (read back with openpyxl) carrying the same tables;
bad input is a one-line usage error; the page's download serves the same report to a viewer
of /analytics, masked and audited, and refuses an area outside the viewer's jurisdiction."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from domain.access import Tier
from domain.analytics.formatting import fmt_change, fmt_value
from domain.analytics.periods import parse_period
from gridscope.cli import main as cli
from gridscope.report import narrative
from gridscope.report.data import SECTIONS, behind
from gridscope.report.tables import masked
from gridscope.report.xlsx import SECTION_SHEETS
from queries import audit
from queries.analytics.collect import collect
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import WHOLE, Scope
from tests.access import signed_in
from tests.conftest import DEMO_NOW, database_copy

pytestmark = pytest.mark.db

TOWN = "330402007"  # 建设街道, the small demo's town
PERIOD = "2026-10"


def run(settings, *args: str, **env: str):
    environ = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
        "USER": "report-tester",
        **env,
    }
    return CliRunner().invoke(cli, list(args), env=environ)


# October rollup rows for the town's grid workers, so the worker ranking (a table with a
# personal column) has rows whatever the demo's own worker rollup holds.
_WORKERS_SQL = """
INSERT INTO stat_worker_daily (day, staff_id, grid_code, discovered, self_resolved, reported,
                               reported_on_time, verify_due, verified_on_time)
SELECT DATE '2026-10-15', a.staff_id, a.grid_code, 20, 5 + a.staff_id %% 7, 15,
       15 - a.staff_id %% 4, 10, 10 - a.staff_id %% 3
  FROM (SELECT DISTINCT ON (staff_id) staff_id, grid_code
          FROM staff_assignment
         WHERE grid_code LIKE %(like)s
         ORDER BY staff_id, grid_code) a
 ORDER BY a.staff_id
 LIMIT 12
ON CONFLICT DO NOTHING
"""


@pytest.fixture(scope="module")
def db(small_demo_template):
    with database_copy(small_demo_template) as settings:
        with connect(settings) as conn:
            conn.execute(_WORKERS_SQL, {"like": TOWN + "%"})
            conn.commit()
        yield settings


@pytest.fixture(scope="module")
def raw(db):
    """collect() of the town's October, as the command sees it (same clock, same settings)."""
    tz = db.tz
    q = Query(Scope(TOWN), parse_period(PERIOD).cut(DEMO_NOW, tz), DEMO_NOW, tz, db)
    with connect(db) as conn:
        return collect(conn, q)


@pytest.fixture(scope="module")
def data(raw):
    """What the command prints: masked for a leader (its default reader)."""
    return masked(raw, Tier.L3)


@pytest.fixture(scope="module")
def made(db, tmp_path_factory):
    """One run of the command: its result and the output directory."""
    out = tmp_path_factory.mktemp("report")
    res = run(db, "report", "--jurisdiction", TOWN, "--period", PERIOD, "--out", str(out))
    assert res.exit_code == 0, res.output
    return res, out


def pdf_text(path: Path) -> str:
    """The PDF's text with all white space removed (lines may break anywhere in CJK text)."""
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True)
    return re.sub(r"\s+", "", out.stdout)


def test_the_command_writes_both_files_and_says_where(made):
    res, out = made
    lines = res.output.strip().splitlines()
    assert lines[:2] == [str(out / f"report_{TOWN}_{PERIOD}.pdf"),
                         str(out / f"report_{TOWN}_{PERIOD}.xlsx")]  # fmt: skip
    assert re.fullmatch(r"report: .+ 2026年10月 \(2026-10\) in \d+\.\d s", lines[2])
    pdf = out / f"report_{TOWN}_{PERIOD}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, text=True)
    assert re.search(r"Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)", info.stdout)


def test_the_pdf_carries_collects_numbers_as_the_page_formats_them(data, made):
    _, out = made
    text = pdf_text(out / f"report_{TOWN}_{PERIOD}.pdf")
    assert "建设街道网格化服务管理月度运行分析报告" in text
    # The summary, sentence for sentence: every number in it comes from collect().
    paragraphs = narrative.summary(data)
    assert re.sub(r"\s+", "", paragraphs[0]) in text
    created = data["measures"]["counts"]["created"]
    assert created > 0 and f"共受理事件{fmt_value('count', created)}件" in text
    # The measure table: every card's value and 环比 in the page's format.
    for c in data["measures"]["cards"]:
        assert fmt_value(c["kind"], c["value"]) in text, c["key"]
        if c["mom"] is not None:
            assert fmt_change(c["kind"], c["mom"]) in text, c["key"]
    closure = next(c for c in data["measures"]["cards"] if c["key"] == "closure_rate")
    assert closure["value"] is not None
    assert f"结案率{fmt_value('rate', closure['value'])}" in text
    # The communities furthest behind, named with their reason.
    last = behind(data, "communities", 3)
    assert last, "the demo town's communities are ranked"
    for unit in last:
        assert unit["name"] in text
        if unit["why"]:
            assert re.sub(r"\s+", "", unit["why"]) in text
    for heading in ("一、总体情况", "二、主要指标", "三、趋势", "四、排名", "五、热点与重复问题",
                    "六、群众满意度", "七、巡查情况"):  # fmt: skip
        assert heading in text
    assert "—1—" in text  # the page number in the bottom margin
    workers = data["rankings"]["tables"]["workers"]
    assert workers["rows"], "the planted worker rollup is ranked"
    ni = [c[0] for c in workers["columns"]].index("name")
    assert workers["rows"][0][ni] in text  # a leader (the default reader) reads names whole


def _same(cell, value) -> bool:
    if value is None or value == "":
        return cell is None or cell == ""
    if isinstance(value, bool):
        return cell == ("是" if value else "否")
    if isinstance(value, int | float):
        return isinstance(cell, int | float) and abs(cell - value) <= 1e-9 * max(1, abs(value))
    if isinstance(value, list | tuple):
        return cell == "、".join(str(v) for v in value)
    return cell == str(value)


def test_the_xlsx_carries_the_same_tables(data, made):
    _, out = made
    book = openpyxl.load_workbook(out / f"report_{TOWN}_{PERIOD}.xlsx", read_only=True)
    assert book.sheetnames == ["说明", *(SECTION_SHEETS[s] for s in SECTIONS)]
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert notes["辖区"] == f"{data['meta']['area_name']}（{TOWN}）"
    assert notes["期间"] == "2026年10月（2026-10）"
    assert notes["生成时间"].startswith("2026-11-25 15:30:00")  # the command's clock, local
    assert notes["口径：结案率"] == "结案数 ÷ 应结案数"
    n_tables = 0
    for section in SECTIONS:
        rows = list(book[SECTION_SHEETS[section]].iter_rows(values_only=True))
        at = 0
        for name, table in (data[section].get("tables") or {}).items():
            while rows[at][0] != table["title"]:  # tables follow one another in order
                at += 1
            headers = [h for h in rows[at + 1] if h is not None]
            assert headers == [c[1] for c in table["columns"]], (section, name)
            for i, expected in enumerate(table["rows"]):
                got = rows[at + 2 + i]
                for j, value in enumerate(expected):
                    assert _same(got[j], value), (section, name, i, j, got[j], value)
            at += 2 + len(table["rows"])
            n_tables += 1
    assert n_tables >= 8


def test_the_report_is_audited(db, made):
    with connect(db) as conn:
        rows = audit.search(conn, WHOLE, action="analytics_report")
    row = next(r for r in rows if r["actor_name"] == "report-tester")
    assert row["actor_kind"] == "cli" and row["jurisdiction"] == TOWN
    assert row["detail"]["period"] == PERIOD
    assert row["detail"]["files"] == [f"report_{TOWN}_{PERIOD}.pdf", f"report_{TOWN}_{PERIOD}.xlsx"]
    assert row["at"] == DEMO_NOW


def test_without_a_period_the_report_is_of_the_last_whole_month(db, tmp_path):
    res = run(db, "report", "--jurisdiction", TOWN, "--format", "xlsx", "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "2026年10月 (2026-10)" in res.output  # the clock says 25 November 2026
    assert [p.name for p in tmp_path.iterdir()] == [f"report_{TOWN}_2026-10.xlsx"]


@pytest.mark.parametrize(
    ("args", "env", "option", "problem"),
    [
        (["--period", "2026-13"], {}, "--period", "names no calendar period"),
        (["--period", "October"], {}, "--period", "is not one of 2026-10"),
        (["--period", "2027-01"], {}, "--period", "has not started yet"),
        (["--jurisdiction", "33 04"], {}, "--jurisdiction", "is not a code prefix"),
        (["--jurisdiction", "999999"], {}, "--jurisdiction", "names no current region or grid"),
        (["--jurisdiction", TOWN], {"GRIDSCOPE_JURISDICTION": "330411"}, "--jurisdiction",
         "outside this deployment's jurisdiction"),
        (["--format", "doc"], {}, "--format", "unknown format 'doc'"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_usage_error(db, tmp_path, args, env, option, problem):
    base = {"--jurisdiction": TOWN, "--period": PERIOD, "--out": str(tmp_path)}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    res = run(db, "report", *(x for kv in base.items() for x in kv), **env)
    assert res.exit_code == 2, res.output
    assert option in res.output and problem in res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


def test_no_chromium_is_one_line_and_exit_1(db, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = run(
        db, "report", "--jurisdiction", TOWN, "--period", PERIOD, "--format", "pdf",
        "--out", str(tmp_path), PATH=str(empty),
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert res.output.strip() == (
        "gridscope: error: the PDF report needs headless Chromium and none is on PATH: run "
        "scripts/setup.sh (or apt-get install chromium fonts-noto-cjk)"
    )
    assert list(tmp_path.glob("*.pdf")) == []


# ---------------------------------------------------------------- the page's download


@pytest.fixture(scope="module")
def app(db):
    from app import create_app
    from dashboard.analytics import report_route

    application = create_app(db)
    if "analytics_report" not in application.server.view_functions:
        report_route.register(application.server)  # until dashboard/routes.py registers it
    return application


def test_the_download_is_the_viewers_report_masked_and_audited(app, db, raw, tmp_path):
    client = signed_in(app, db, "analyst", TOWN)
    resp = client.get(f"/analytics/report.pdf?area={TOWN}&period={PERIOD}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "2026-10.pdf" in disposition
    assert resp.headers["Cache-Control"] == "no-store"
    path = tmp_path / "download.pdf"
    path.write_bytes(resp.data)
    text = pdf_text(path)
    analyst = masked(raw, Tier.L2)
    assert re.sub(r"\s+", "", narrative.summary(analyst)[0]) in text
    workers = raw["rankings"]["tables"]["workers"]
    ni = [c[0] for c in workers["columns"]].index("name")
    first = workers["rows"][0][ni]
    assert len(first) > 1 and first not in text  # an analyst (L2) reads workers' names masked
    assert analyst["rankings"]["tables"]["workers"]["rows"][0][ni] == first[0] + "*" * (
        len(first) - 1
    )
    assert analyst["rankings"]["tables"]["workers"]["rows"][0][ni] in text
    resp = client.get(f"/analytics/report.xlsx?period={PERIOD}")
    assert resp.status_code == 200 and resp.data.startswith(b"PK")
    with connect(db) as conn:
        rows = audit.search(conn, WHOLE, action="analytics_report")
    mine = [r for r in rows if r["actor_kind"] == "user" and r["role"] == "analyst"]
    assert {r["object"] for r in mine} >= {"report.pdf", "report.xlsx"}
    assert all(r["outcome"] == "ok" and r["detail"]["period"] == PERIOD for r in mine)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("?area=330411&period=2026-10", 403, "不在您的辖区内"),
        ("?period=2026-13", 400, "期间参数无效"),
        ("?period=2030-01", 400, "has not started yet"),
    ],
)
def test_the_download_refuses_what_the_viewer_may_not_have(app, db, query, status, message):
    client = signed_in(app, db, "leader", TOWN)
    resp = client.get("/analytics/report.pdf" + query)
    assert resp.status_code == status and message in resp.get_data(as_text=True)


def test_the_download_needs_a_session_and_a_known_format(app, db):
    assert app.server.test_client().get("/analytics/report.pdf").status_code == 401
    client = signed_in(app, db, "leader", TOWN)
    assert client.get("/analytics/report.docx").status_code == 404
