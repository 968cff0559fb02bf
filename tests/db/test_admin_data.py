"""/admin/data (基础数据) through the real sign-in and the real callback endpoint on a copy of
the small demo: an administrator sees the staffing report of its jurisdiction, filters it and
downloads it; an analyst gets 403; malformed filter values never fail."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest

from app import create_app
from queries.db import connect
from tests.access import signed_in
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

TOWN = "330402007"
HTML = {"Accept": "text/html"}
CALLBACK = "/_dash-update-component"
ROUTER = ".._pages_content.children..._pages_store.data.."


@pytest.fixture
def app(demo_db, redis_client):
    app = create_app(demo_db)
    yield app
    app.server.extensions["gridscope"].close()


def key_of(app, first_output: str) -> str:
    (key,) = [k for k in app.callback_map if k.lstrip(".").startswith(first_output + ".")]
    return key


def body(app, key: str, values: dict[str, Any], trigger: str) -> dict:
    """A callback request: inputs from ``values`` ("id.prop" → value), ``trigger`` as the
    changed input."""
    spec = app.callback_map[key]
    inputs = [
        {
            "id": d["id"],
            "property": d["property"],
            "value": values.get(f"{d['id']}.{d['property']}"),
        }
        for d in spec["inputs"]
    ]
    outs = [o.rsplit(".", 1) for o in key.strip(".").split("...")]
    return {
        "output": key,
        "outputs": [{"id": i, "property": p} for i, p in outs],
        "inputs": inputs,
        "state": [],
        "changedPropIds": [trigger],
    }


def filters(app, trigger: str = "adm-data-rule.value", **values: Any) -> dict:
    return body(
        app,
        key_of(app, "adm-data-headline"),
        {f"adm-data-{k}.value": v for k, v in values.items()},
        trigger,
    )


def text_of(resp) -> str:
    return json.dumps(resp.get_json(), ensure_ascii=False)


def drop_a_chief(settings) -> str:
    """Close a grid chief's only-grid assignment; returns the grid's code."""
    with connect(settings) as conn:
        (grid,) = conn.execute(
            "SELECT grid_code FROM staff_assignment WHERE valid_to IS NULL AND role = 'grid_chief'"
            " ORDER BY grid_code DESC LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE staff_assignment SET valid_to = %s WHERE grid_code = %s AND valid_to IS NULL"
            " AND role = 'grid_chief'",
            (DEMO_NOW - timedelta(days=1), grid),
        )
        conn.commit()
    return grid


def test_admin_sees_filters_and_downloads_the_report(app, demo_db):
    grid = drop_a_chief(demo_db)
    client = signed_in(app, demo_db, "admin", TOWN)
    assert client.get("/admin/data", headers=HTML).status_code == 200
    values = {"_pages_location.pathname": "/admin/data", "_pages_location.search": ""}
    spec = app.callback_map[ROUTER]
    page = client.post(
        CALLBACK,
        json={
            "output": ROUTER,
            "outputs": [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            "inputs": [
                {"id": d["id"], "property": d["property"], "value": values.get(
                    f"{d['id']}.{d['property']}")}
                for d in spec["inputs"]
            ],
            "state": [
                {"id": d["id"], "property": d["property"], "value": values.get(
                    f"{d['id']}.{d['property']}")}
                for d in spec.get("state", [])
            ],
            "changedPropIds": ["_pages_location.pathname"],
        },
    )  # fmt: skip
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    text = text_of(page)
    assert "人员配备检查" in text and "违规 1 项" in text and grid in text
    for kind in ("staff", "departments", "micro-grids", "items"):
        assert f"/admin/templates/{kind}.xlsx" in text
    assert "gridscope import staff" in text and "最近导入" in text

    only = client.post(CALLBACK, json=filters(app, rule="chief_missing"))
    assert only.status_code == 200
    out = text_of(only)
    assert grid in out and "共 1 条" in out and "百福弄社区第1网格" not in out

    # A card click sets the rule filter (a second click on it clears it).
    card_key = key_of(app, "adm-data-rule")
    clicked = {
        "output": card_key,
        "outputs": {"id": "adm-data-rule", "property": "value"},
        "inputs": [
            [{"id": {"rule": "chief_missing", "type": "adm-data-card"},
              "property": "n_clicks", "value": 1}]
        ],
        "state": [{"id": "adm-data-rule", "property": "value", "value": ""}],
        "changedPropIds": ['{"rule":"chief_missing","type":"adm-data-card"}.n_clicks'],
    }  # fmt: skip
    resp = client.post(CALLBACK, json=clicked)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["response"]["adm-data-rule"]["value"] == "chief_missing"
    clicked["state"][0]["value"] = "chief_missing"
    again = client.post(CALLBACK, json=clicked)
    assert again.get_json()["response"]["adm-data-rule"]["value"] == ""

    download = client.post(
        CALLBACK, json=filters(app, "adm-data-csv.n_clicks", severity="violation")
    )
    assert download.status_code == 200
    sent = download.get_json()["response"]["adm-data-download"]["data"]
    assert sent["filename"].startswith(f"staffing_{TOWN}_") and sent["filename"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(sent["content"].lstrip("\ufeff"))))
    assert [(r["规则编号"], r["网格编码"]) for r in rows] == [("chief_missing", grid)]
    with connect(demo_db) as conn:  # staff names and phones left the server: audited
        audited = conn.execute(
            "SELECT object, count, detail->>'severity' FROM audit_event WHERE action = 'export'"
        ).fetchall()
    assert audited == [("staffing_report", 1, "violation")]


@pytest.mark.parametrize(
    "values",
    [
        {"rule": {"x": 1}, "town": 5, "severity": ["violation"]},
        {"rule": "no_such_rule", "town": "9" * 500, "severity": "critical"},
        {"rule": None, "town": None, "severity": None},
    ],
)
def test_malformed_filters_never_fail(app, demo_db, values):
    client = signed_in(app, demo_db, "admin", TOWN)
    for trigger in ("adm-data-rule.value", "adm-data-csv.n_clicks", "adm-data-nope.value"):
        resp = client.post(CALLBACK, json=filters(app, trigger, **values))
        assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:300]


def test_analyst_gets_403(app, demo_db):
    analyst = signed_in(app, demo_db, "analyst", TOWN)
    assert analyst.get("/admin/data", headers=HTML).status_code == 403
    resp = analyst.post(CALLBACK, json=filters(app, "adm-data-csv.n_clicks"))
    assert resp.status_code == 403
