"""The admin pages (/admin/users, /admin/walls, /admin/audit), the index and the user bar,
through the real sign-in and the real callback endpoint on a private copy of the small demo:
an administrator opens the pages and changes accounts and wall links inside its jurisdiction
(each change audited); an analyst gets 403 on every admin page and callback and changes
nothing, however the request is forged."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import create_app
from queries import accounts, audit
from queries.db import connect
from queries.scope import WHOLE
from tests.access import add_user, login, signed_in

pytestmark = pytest.mark.db

TOWN = "330402007"  # 建设街道: the small demo's only town
HTML = {"Accept": "text/html"}
CALLBACK = "/_dash-update-component"
ROUTER = ".._pages_content.children..._pages_store.data.."
NEW_PASSWORD = "Kx7-harbour-lamp"
ADMIN_PATHS = ("/admin/users", "/admin/walls", "/admin/audit")


@pytest.fixture
def app(demo_db, redis_client):
    app = create_app(demo_db)
    yield app
    app.server.extensions["gridscope"].close()


def key_of(app, first_output: str) -> str:
    (key,) = [k for k in app.callback_map if k.lstrip(".").startswith(first_output + ".")]
    return key


def body(app, key: str, values: dict[str, Any], trigger: str) -> dict:
    """A POST body for the callback under output ``key``: inputs and states from ``values``
    ("id.prop" → value, None otherwise), ``trigger`` ("id.prop") as the changed input."""
    spec = app.callback_map[key]

    def deps(items):
        return [
            {
                "id": d["id"],
                "property": d["property"],
                "value": values.get(f"{d['id']}.{d['property']}"),
            }
            for d in items
        ]

    outs = [o.rsplit(".", 1) for o in key.strip(".").split("...")]
    outputs = [{"id": i, "property": p} for i, p in outs]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": deps(spec["inputs"]),
        "state": deps(spec.get("state", [])),
        "changedPropIds": [trigger],
    }


def text_of(resp) -> str:
    """A callback response as JSON text (Dash escapes '/' and non-ASCII in its own)."""
    return json.dumps(resp.get_json(), ensure_ascii=False)


def find_prop(tree: Any, key: str, value: str) -> dict | None:
    """The props of the first component in a layout tree whose ``key`` prop is ``value``."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get(key) == value:
            return props
        children = tree.values()
    elif isinstance(tree, list):
        children = tree
    else:
        return None
    for child in children:
        found = find_prop(child, key, value)
        if found is not None:
            return found
    return None


def render(client, app, path: str):
    """The page router's response for ``path`` (what the browser gets on navigation)."""
    values = {"_pages_location.pathname": path, "_pages_location.search": ""}
    return client.post(CALLBACK, json=body(app, ROUTER, values, "_pages_location.pathname"))


def create_user_body(app, username: str, **fields: Any) -> dict:
    values = {
        "adm-users-create.n_clicks": 1,
        "adm-users-username.value": username,
        "adm-users-name.value": "李四",
        "adm-users-role.value": "leader",
        "adm-users-jurisdiction.value": TOWN,
        "adm-users-password.value": NEW_PASSWORD,
        "adm-users-password2.value": NEW_PASSWORD,
        **fields,
    }
    return body(app, key_of(app, "adm-users-create-msg"), values, "adm-users-create.n_clicks")


def user_row(settings, name: str):
    with connect(settings) as conn:
        return accounts.user_by_name(conn, name)


def audit_count(settings, action: str | None = None) -> int:
    with connect(settings) as conn:
        return len(audit.search(conn, WHOLE, action=action, limit=500))


def test_admin_opens_every_admin_page(app, demo_db):
    client = signed_in(app, demo_db, "admin", TOWN)
    for path, marker in zip(
        ADMIN_PATHS, ("adm-users-table", "adm-walls-table", "adm-audit-table"), strict=True
    ):
        assert client.get(path, headers=HTML).status_code == 200
        page = render(client, app, path)
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        text = page.get_data(as_text=True)
        assert marker in text and "无权访问" not in text and "退出" in text


def test_admin_creates_a_user_through_the_callback(app, demo_db):
    client = signed_in(app, demo_db, "admin", TOWN)
    resp = client.post(CALLBACK, json=create_user_body(app, "li.si"))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert "已创建账号 li.si" in resp.get_data(as_text=True)
    row = user_row(demo_db, "li.si")
    assert row and row.role == "leader" and row.jurisdiction == TOWN and row.display_name == "李四"
    with connect(demo_db) as conn:
        (event,) = audit.search(conn, WHOLE, action="user_add", limit=5)
    assert event["actor_kind"] == "user" and event["role"] == "admin"
    assert event["object"] == "user:li.si" and event["detail"]["jurisdiction"] == TOWN
    assert event["object_ids"] == [str(row.id)]
    # The new account signs in with its password.
    assert login(app.server.test_client(), "li.si", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"adm-users-password.value": "short", "adm-users-password2.value": "short"},
            "密码不符合要求",
        ),
        ({"adm-users-password2.value": "Other-lamp-92"}, "两次输入的密码不一致"),
        ({"adm-users-jurisdiction.value": ""}, "请填写辖区编码"),
        (
            {"adm-users-jurisdiction.value": "330402"},
            "不在可管理范围",
        ),  # the county: above the admin
        ({"adm-users-jurisdiction.value": TOWN + "999"}, f"没有以 {TOWN}999 开头"),
        ({"adm-users-role.value": "root"}, "请选择角色"),
        ({"adm-users-username.value": "Bad Name"}, "用户名须为"),
        ({"adm-users-username.value": {"$ne": 1}}, "用户名须为"),
        ({"adm-users-jurisdiction.value": ["3304"]}, "辖区编码格式不正确"),
    ],
)
def test_bad_form_values_get_a_message_and_change_nothing(app, demo_db, fields, message):
    client = signed_in(app, demo_db, "admin", TOWN)
    before = audit_count(demo_db, "user_add")
    username = fields.get("adm-users-username.value", "wang.wu")
    resp = client.post(CALLBACK, json=create_user_body(app, "wang.wu", **fields))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert message in resp.get_data(as_text=True)
    if isinstance(username, str):
        assert user_row(demo_db, username.lower()) is None
    assert audit_count(demo_db, "user_add") == before


def test_admin_changes_role_disables_and_resets_only_inside_its_scope(app, demo_db):
    client = signed_in(app, demo_db, "admin", TOWN)
    client.post(CALLBACK, json=create_user_body(app, "zhao.liu"))
    key = key_of(app, "adm-users-create-msg")

    def edit(button: str, **values: Any):
        values = {f"adm-users-{button}.n_clicks": 1, "adm-users-target.value": "zhao.liu", **values}
        resp = client.post(CALLBACK, json=body(app, key, values, f"adm-users-{button}.n_clicks"))
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    with connect(demo_db) as conn:
        community = conn.execute(
            "SELECT min(code) FROM region WHERE parent_code = %s AND valid_to IS NULL", (TOWN,)
        ).fetchone()[0]
    moved = {"adm-users-edit-role.value": "analyst", "adm-users-edit-jurisdiction.value": community}
    out = edit("save", **moved)
    row = user_row(demo_db, "zhao.liu")
    assert row.role == "analyst" and row.jurisdiction == community, out
    assert "已停用账号 zhao.liu" in edit("disable")
    assert user_row(demo_db, "zhao.liu").active is False
    edit("enable")
    assert user_row(demo_db, "zhao.liu").active
    epoch = user_row(demo_db, "zhao.liu").session_epoch
    fresh = "New-harbour-71"
    out = edit(
        "reset",
        **{"adm-users-edit-password.value": fresh, "adm-users-edit-password2.value": fresh},
    )
    assert "已重置" in out and user_row(demo_db, "zhao.liu").session_epoch == epoch + 1
    assert audit_count(demo_db, "user_role") == 1 and audit_count(demo_db, "user_passwd") == 1

    # An account outside the admin's town is invisible to it and cannot be touched.
    with connect(demo_db) as conn:
        accounts.insert_user(conn, "city.boss", "", "leader", "3304", "x")
        conn.commit()
    out = edit("disable", **{"adm-users-target.value": "city.boss"})
    assert "没有账号 city.boss" in out and user_row(demo_db, "city.boss").active
    assert "city.boss" not in render(client, app, "/admin/users").get_data(as_text=True)


def test_analyst_gets_403_and_a_forged_admin_callback_changes_nothing(app, demo_db):
    analyst = signed_in(app, demo_db, "analyst", TOWN)
    for path in ADMIN_PATHS:
        assert analyst.get(path, headers=HTML).status_code == 403
        assert "无权访问" in render(analyst, app, path).get_data(as_text=True)
    users_before, audit_before = _users(demo_db), audit_count(demo_db)
    forged = [
        create_user_body(app, "sneaky", **{"adm-users-role.value": "admin"}),
        body(
            app,
            key_of(app, "adm-walls-create-msg"),
            {
                "adm-walls-name.value": "x",
                "adm-walls-jurisdiction.value": TOWN,
                "adm-walls-layout.value": "standard",
            },
            "adm-walls-create.n_clicks",
        ),  # fmt: skip
        body(app, key_of(app, "adm-audit-table"), {}, "adm-audit-search.n_clicks"),
        body(
            app,
            key_of(app, "adm-users-edit-role"),
            {"adm-users-target.value": "admin"},
            "adm-users-target.value",
        ),  # fmt: skip
    ]
    for request in forged:
        resp = analyst.post(CALLBACK, json=request)
        assert resp.status_code == 403, request["output"]
    assert _users(demo_db) == users_before
    with connect(demo_db) as conn:
        assert accounts.list_walls(conn, WHOLE) == []
    # The refusals wrote nothing either (only the analyst's own login is in the trail).
    assert audit_count(demo_db) == audit_before


def _users(settings) -> list[tuple]:
    with connect(settings) as conn:
        return [
            (r["username"], r["role"], r["jurisdiction"], r["active"])
            for r in accounts.list_users(conn, WHOLE)
        ]


def test_admin_creates_and_revokes_a_wall_link(app, demo_db):
    client = signed_in(app, demo_db, "admin", TOWN)
    key = key_of(app, "adm-walls-create-msg")
    values = {
        "adm-walls-name.value": "建设街道指挥中心",
        "adm-walls-jurisdiction.value": TOWN,
        "adm-walls-layout.value": "standard",
    }
    resp = client.post(CALLBACK, json=body(app, key, values, "adm-walls-create.n_clicks"))
    text = text_of(resp)
    assert resp.status_code == 200 and "已创建大屏链接" in text
    link = re.search(r"http://localhost/wall/(gw_[0-9a-f]{8}_[A-Za-z0-9_-]{43})", text)
    assert link, text[:500]
    with connect(demo_db) as conn:
        (wall,) = accounts.list_walls(conn, WHOLE)
    assert wall["jurisdiction"] == TOWN and wall["created_by"].startswith("user:")
    # The link opens a wall session; the list no longer carries the secret.
    assert app.server.test_client().get(f"/wall/{link.group(1)}").status_code == 302
    assert link.group(1) not in text_of(render(client, app, "/admin/walls"))

    revoke = {"adm-walls-target.value": wall["id"]}
    resp = client.post(CALLBACK, json=body(app, key, revoke, "adm-walls-revoke.n_clicks"))
    assert "已吊销" in resp.get_data(as_text=True)
    assert app.server.test_client().get(f"/wall/{link.group(1)}").status_code == 404
    assert audit_count(demo_db, "wall_create") == 1 and audit_count(demo_db, "wall_revoke") == 1


def test_audit_search_shows_the_trail_newest_first(app, demo_db):
    client = signed_in(app, demo_db, "admin", TOWN)
    client.post(CALLBACK, json=create_user_body(app, "sun.qi"))
    client.post(CALLBACK, json=create_user_body(app, "zhou.ba"))
    key = key_of(app, "adm-audit-table")
    values = {"adm-audit-action.value": "user_add", "adm-audit-limit.value": 50}
    resp = client.post(CALLBACK, json=body(app, key, values, "adm-audit-search.n_clicks"))
    text = text_of(resp)
    assert resp.status_code == 200 and "共 2 条" in text
    assert text.index("user:zhou.ba") < text.index("user:sun.qi")
    bad = {"adm-audit-since.value": "yesterday", "adm-audit-limit.value": "all"}
    resp = client.post(CALLBACK, json=body(app, key, bad, "adm-audit-search.n_clicks"))
    assert resp.status_code == 200 and "起始日期须为日期" in resp.get_data(as_text=True)
    # The search is audited; the refused one searched nothing and is not.
    assert audit_count(demo_db, "audit_search") == 1


def test_index_lists_only_the_role_s_pages_and_the_user_bar_signs_out(app, demo_db):
    admin = signed_in(app, demo_db, "admin", TOWN)
    page = text_of(render(admin, app, "/"))
    assert all(f'"href": "{p}"' in page for p in ADMIN_PATHS)
    analyst = signed_in(app, demo_db, "analyst", TOWN)
    page = text_of(render(analyst, app, "/"))
    assert "/admin/" not in page and "/map" in page and "退出" in page
    token = find_prop(json.loads(page), "name", "csrf_token")
    assert token and token.get("type") == "hidden", page[:800]
    resp = analyst.post("/logout", data={"csrf_token": token["value"]})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert analyst.get("/map", headers=HTML).status_code == 302  # signed out


@pytest.mark.parametrize(
    "values",
    [
        {"adm-users-target.value": 5, "adm-users-edit-role.value": {"x": 1}},
        {"adm-users-target.value": ["admin"], "adm-users-edit-password.value": 123},
        {"adm-users-target.value": "", "adm-users-edit-jurisdiction.value": None},
    ],
)
@pytest.mark.parametrize("trigger", ["adm-users-save", "adm-users-reset", "adm-users-nope", 7])
def test_malformed_admin_callbacks_never_fail(app, demo_db, values, trigger):
    client = signed_in(app, demo_db, "admin", TOWN)
    users_before = _users(demo_db)
    request = body(app, key_of(app, "adm-users-create-msg"), values, f"{trigger}.n_clicks")
    resp = client.post(CALLBACK, json=request)
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:300]
    assert _users(demo_db) == users_before
    walls_key = key_of(app, "adm-walls-create-msg")
    for target in (None, "1", 10**30, True):
        request = body(
            app, walls_key, {"adm-walls-target.value": target}, "adm-walls-revoke.n_clicks"
        )
        assert client.post(CALLBACK, json=request).status_code in (200, 204)


def test_an_admin_cannot_disable_or_demote_itself(app, demo_db):
    name = add_user(demo_db, "admin", TOWN, "self.admin")
    client = app.server.test_client()
    assert login(client, name).status_code == 302
    key = key_of(app, "adm-users-create-msg")
    for button, extra in (
        ("disable", {}),
        (
            "save",
            {"adm-users-edit-role.value": "analyst", "adm-users-edit-jurisdiction.value": TOWN},
        ),
    ):
        values = {f"adm-users-{button}.n_clicks": 1, "adm-users-target.value": name, **extra}
        resp = client.post(CALLBACK, json=body(app, key, values, f"adm-users-{button}.n_clicks"))
        assert "自己的账号" in text_of(resp)
    row = user_row(demo_db, name)
    assert row.active and row.role == "admin"
