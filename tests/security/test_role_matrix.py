"""Every role against every page, a representative callback of each page, the map geometry and
the export, signed in through the real sign-in (walls through a real wall link) on the small
demo (one town, five communities): anonymous callers get the sign-in page or 401, a role gets
200 where ``domain.access.POLICY`` allows it and 403 elsewhere, and an account bound to one
community never receives a code of another, however it asks."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from app import create_app
from domain import masking
from domain.access import PAGES, Action, Role, may, may_mount, may_open, sees
from gridscope.auth import walls
from gridscope.auth.callbacks import page_of
from queries.db import connect
from tests.access import add_user, login
from tests.conftest import database_copy

pytestmark = pytest.mark.db

TOWN = "330402007"
ROLES = tuple(Role)
PAGE_PATHS = tuple(p.path for p in PAGES)
HTML = {"Accept": "text/html"}
CALLBACK = "/_dash-update-component"
ROUTER = ".._pages_content.children..._pages_store.data.."


@dataclass
class World:
    """One private copy of the small demo, one app, and signed-in clients per role and
    jurisdiction (created on first use)."""

    settings: Any
    app: Any
    communities: list[str]
    names: dict[str, str]
    clients: dict[tuple[Role, str], Any] = field(default_factory=dict)

    @property
    def a(self) -> str:
        return self.communities[0]

    @property
    def b(self) -> str:
        return self.communities[1]

    def client(self, role: Role, jurisdiction: str = TOWN):
        key = (role, jurisdiction)
        if key not in self.clients:
            client = self.app.server.test_client()
            if role is Role.WALL:  # a wall signs in through its link, never with a password
                with connect(self.settings) as conn:
                    _, token = walls.create(
                        conn, f"墙-{jurisdiction}", jurisdiction, "standard", "t"
                    )
                    conn.commit()
                resp = client.get(f"/wall/{token}")
            else:
                resp = login(client, add_user(self.settings, role.value, jurisdiction))
            assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
            self.clients[key] = client
        return self.clients[key]

    def grid_of(self, community: str) -> str:
        with connect(self.settings) as conn:
            return conn.execute(
                "SELECT min(code) FROM grid WHERE community_code = %s AND valid_to IS NULL",
                (community,),
            ).fetchone()[0]


@pytest.fixture(scope="module")
def world(small_demo_template, redis_client):
    with database_copy(small_demo_template) as settings:
        with connect(settings) as conn:
            names = dict(
                conn.execute(
                    "SELECT code, name FROM region WHERE level = 'community' AND parent_code = %s"
                    " AND valid_to IS NULL ORDER BY code",
                    (TOWN,),
                ).fetchall()
            )
        communities = sorted(names)
        assert len(communities) == 5, communities
        app = create_app(settings)
        try:
            yield World(settings, app, communities, names)
        finally:
            app.server.extensions["gridscope"].close()


# --- callback bodies built from the app's own callback map ---------------------------------


def _deps(items: list[dict], values: dict[str, Any]) -> list[dict]:
    return [
        {
            "id": d["id"],
            "property": d["property"],
            "value": values.get(f"{d['id']}.{d['property']}"),
        }
        for d in items
    ]


def callback_body(app, key: str, values: dict[str, Any] | None = None) -> dict:
    """A well-formed POST body for the callback registered under output ``key``; inputs and
    states take ``values`` ("id.prop" → value), None otherwise; the first input triggered."""
    spec, values = app.callback_map[key], values or {}
    outs = [o.rsplit(".", 1) for o in _outputs(key)]
    outputs = [{"id": i, "property": p} for i, p in outs]
    first = spec["inputs"][0]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": _deps(spec["inputs"], values),
        "state": _deps(spec.get("state", []), values),
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def key_of(app, prefix: str) -> str:
    keys = [k for k in app.callback_map if k.lstrip(".").startswith(prefix)]
    assert keys, f"no callback with output {prefix!r} registered"
    return keys[0]


def router_body(app, path: str) -> dict:
    return callback_body(
        app, ROUTER, {"_pages_location.pathname": path, "_pages_location.search": ""}
    )


def _click(code: str) -> dict:
    return {"type": "Feature", "properties": {"code": code}}


def page_callbacks(world: World, page: str, grid: str) -> list[tuple[str, dict]]:
    """(name, body) of the representative server callbacks of ``page``: the page router
    rendering it, then its data callbacks (hand-filled for the screen and the map, with
    every input None for any other page's first server callback)."""
    app = world.app
    out = [("router", router_body(app, page))]
    if page == "/screen":
        card = {"scr-layer-grids.n_clicks": 1, "scr-layer-grids.clickData": _click(grid)}
        out.append(("card", callback_body(app, key_of(app, "scr-card-body"), card)))
    elif page == "/map":
        grids = {
            "ana-layer-grids-opt-level.value": "grid",
            "ana-layer-grids-opt-measure.value": "open",
            "ana-layer-grids-opt-window.value": "7d",
            "ana-layer-grids-view.data": {"level": "grid"},
        }
        out.append(("grid layer", callback_body(app, "ana-layer-grids-payload.data", grids)))
        card = {"ana-layer-grids.n_clicks": 1, "ana-layer-grids.clickData": _click(grid)}
        out.append(("card", callback_body(app, key_of(app, "ana-card-body"), card)))
    else:
        own = sorted(
            k
            for k, spec in app.callback_map.items()
            if "callback" in spec
            and not k.startswith(".._pages")
            and all(page_of(o.rsplit(".", 1)[0]) == page for o in _outputs(k))
        )
        out += [("first callback", callback_body(app, k)) for k in own[:1]]
    return out


def _outputs(key: str) -> list[str]:
    """The "id.prop" outputs named by a callback-map key ("id.prop" or "..a.p...b.q..")."""
    return key[2:-2].split("...") if key.startswith("..") else [key]


# --- anonymous -------------------------------------------------------------------------------


def test_anonymous_gets_the_login_page_or_401(world):
    client = world.app.server.test_client()
    for path in PAGE_PATHS:
        resp = client.get(path, headers=HTML)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login?next="), path
    for level in ("county", "town", "community", "grid"):
        assert client.get(f"/geo/units/{level}.pbf").status_code == 401
    assert client.get("/export/grids.csv?window=today").status_code == 401
    for page in PAGE_PATHS:
        for name, body in page_callbacks(world, page, world.grid_of(world.a)):
            assert client.post(CALLBACK, json=body).status_code == 401, (page, name)


# --- pages and their callbacks ---------------------------------------------------------------


@pytest.mark.parametrize("path", PAGE_PATHS)
@pytest.mark.parametrize("role", ROLES, ids=str)
def test_page_is_served_to_the_roles_the_policy_names(world, role, path):
    resp = world.client(role).get(path, headers=HTML)
    assert resp.status_code == (200 if may_open(role, path) else 403)


@pytest.mark.parametrize("page", PAGE_PATHS)
@pytest.mark.parametrize("role", ROLES, ids=str)
def test_page_callbacks_answer_the_roles_the_policy_names(world, role, page):
    client = world.client(role, world.a)
    for name, body in page_callbacks(world, page, world.grid_of(world.a)):
        resp = client.post(CALLBACK, json=body)
        if not may_open(role, page):
            assert resp.status_code == 403, (name, resp.status_code)
            continue
        # 204: the callback ran and chose to change nothing (e.g. an admin form not submitted)
        assert resp.status_code in (200, 204), (name, resp.get_data(as_text=True)[:300])
        if name != "first callback":
            assert resp.status_code == 200, name
        text = resp.get_data(as_text=True)
        for other in world.communities[1:]:
            assert other not in text, f"{name}: a code of {other} in the answer"
            assert world.names[other] not in text, f"{name}: {world.names[other]} in the answer"


@pytest.mark.parametrize("role", [r for r in ROLES if may_open(r, "/map")], ids=str)
def test_the_card_of_a_grid_outside_the_jurisdiction_shows_nothing(world, role):
    client, app = world.client(role, world.a), world.app
    key = key_of(app, "ana-card-body")
    inside = {
        "ana-layer-grids.n_clicks": 1,
        "ana-layer-grids.clickData": _click(world.grid_of(world.a)),
    }
    resp = client.post(CALLBACK, json=callback_body(app, key, inside))
    assert resp.status_code == 200 and resp.get_json()["response"]["ana-card"]["hidden"] is False
    outside = {
        "ana-layer-grids.n_clicks": 1,
        "ana-layer-grids.clickData": _click(world.grid_of(world.b)),
    }
    resp = client.post(CALLBACK, json=callback_body(app, key, outside))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["response"]["ana-card"]["hidden"] is True
    assert world.b.encode() not in resp.data


# The wall's data: GET /feed/<panel> (the screen has no data callback left).
WALL_FEEDS = (
    "/feed/counters",
    "/feed/ticker",
    "/feed/board",
    "/feed/layer-grids?level=grid&measure=created&window=30d",
    "/feed/layer-heat",
    "/feed/layer-overdue",
    "/feed/workers",
)


def _feed_text(resp) -> str:
    data = resp.data
    if resp.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def test_anonymous_gets_401_from_every_feed(world):
    client = world.app.server.test_client()
    for path in WALL_FEEDS:
        assert client.get(path).status_code == 401, path


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_feeds_answer_the_roles_the_policy_names(world, role):
    """A panel needs /screen, a layer's feed needs the layer (domain.access)."""
    client = world.client(role, world.a)
    for path in WALL_FEEDS:
        panel = path.split("?")[0].rsplit("/", 1)[1]
        if panel.startswith("layer-") or panel == "workers":
            allowed = may_mount(role, panel.removeprefix("layer-"))
        else:
            allowed = may_open(role, "/screen")
        resp = client.get(path)
        assert resp.status_code == (200 if allowed else 403), (path, resp.status_code)


@pytest.mark.parametrize("role", [r for r in ROLES if may_open(r, "/screen")], ids=str)
def test_screen_data_of_a_community_account_stays_in_the_community(world, role):
    client = world.client(role, world.a)
    for path in WALL_FEEDS:
        resp = client.get(path)
        assert resp.status_code in (200, 404), (path, resp.status_code)
        text = _feed_text(resp)
        if "layer-grids" in path:
            assert world.a in text
        for other in world.communities[1:]:
            assert other not in text, f"{role}: {path} of {world.a} names {other}"
            assert world.names[other] not in text, f"{role}: {path} names {world.names[other]}"
    # Asking for another community's unit is refused, not answered with its numbers.
    for other in world.communities[1:]:
        assert client.get(f"/feed/counters?unit={other}").status_code == 404


# --- geometry and export ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_geometry_is_served_in_the_jurisdiction_only(world, role):
    client = world.client(role, world.a)
    for level in ("town", "community", "grid"):
        resp = client.get(f"/geo/units/{level}.pbf")
        assert resp.status_code == 200, (level, resp.status_code)
        data = (
            resp.data
            if resp.headers.get("Content-Encoding") != "gzip"
            else gzip.decompress(resp.data)
        )
        for other in world.communities[1:]:
            assert other.encode() not in data, f"{level}: {other} served to an account of {world.a}"
    assert world.a.encode() in data
    # Outside: naming another community's unit is refused, not answered with its grids.
    resp = client.get(f"/geo/units/micro.pbf?within={world.b}")
    assert resp.status_code in (400, 404) and resp.mimetype == "text/plain"


def _csv(resp) -> list[list[str]]:
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _last_export(world) -> tuple:
    with connect(world.settings) as conn:
        return conn.execute(
            "SELECT role, jurisdiction, count, outcome, detail->>'window', object"
            " FROM audit_event WHERE action = 'export' ORDER BY id DESC LIMIT 1"
        ).fetchone()


def _chiefs(world) -> dict[str, tuple[str, str]]:
    """{grid code: (chief name, phone)} as stored."""
    with connect(world.settings) as conn:
        rows = conn.execute(
            "SELECT a.grid_code, s.name, s.phone FROM staff_assignment a"
            " JOIN staff s ON s.id = a.staff_id AND s.active"
            " WHERE a.role = 'grid_chief' AND a.valid_to IS NULL"
            " ORDER BY a.grid_code, s.staff_no DESC"
        ).fetchall()
    return {code: (name, phone) for code, name, phone in rows}


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_export_is_served_to_the_roles_the_policy_names(world, role):
    town, community = world.client(role, TOWN), world.client(role, world.a)
    resp = community.get("/export/grids.csv?window=7d")
    if not may(role, Action.EXPORT):
        assert resp.status_code == 403
        assert _last_export(world)[:4] == (role.value, world.a, None, "refused")
        assert town.get("/export/grids.csv?window=month").status_code == 403
        return
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Content-Type"].startswith("text/csv")
    header, *rows = _csv(resp)
    assert header[0] == "网格编码" and rows and all(r[0].startswith(world.a) for r in rows)
    assert world.b.encode() not in resp.data
    assert _last_export(world) == (role.value, world.a, len(rows), "ok", "7d", "grids.csv")
    whole = _csv(town.get("/export/grids.csv?window=month"))[1:]
    assert {r[0][:12] for r in whole} == set(world.communities)
    # The chief's name and phone: whole from L3 up, masked below (domain.masking).
    chiefs = _chiefs(world)
    for r in whole:
        name, phone = chiefs[r[0]]
        if sees(role, "staff.name"):
            assert (r[-2], r[-1]) == (name, phone)
        else:
            assert (r[-2], r[-1]) == (masking.name(name), masking.phone(phone))
            assert name not in r and phone not in r


@pytest.mark.parametrize("window", ["", "year", "7D", "30d;drop", "x" * 500])
def test_export_refuses_an_unknown_window(world, window):
    resp = world.client(Role.ANALYST, world.a).get(
        "/export/grids.csv", query_string={"window": window}
    )
    assert resp.status_code == 400
    assert "window" in resp.get_data(as_text=True)
