"""Access in a real browser: the sign-in flow, a wall link opening the screen with no password,
and the same grid card masked for an analyst and whole for an administrator."""

from __future__ import annotations

import re

from domain import masking
from queries.db import connect
from tests.access import PASSWORD
from tests.browser.conftest import sign_in
from tests.browser.test_layers_grids import pick, screen_point, sql_codes, wait_painted

_MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")


def test_login_flow_refuses_a_wrong_password_then_signs_in(live_server, browser):
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        page.goto(live_server.url + "/map", wait_until="domcontentloaded")
        assert page.url.startswith(live_server.url + "/login?next=/map")
        page.fill("#gs-username", live_server.users["analyst"])
        page.fill("#gs-password", "not-the-password")
        page.click("#gs-login")
        page.wait_for_selector(".gs-access-error")
        assert "用户名或密码错误" in page.inner_text(".gs-access-error")
        page.fill("#gs-password", PASSWORD)
        with page.expect_navigation():
            page.click("#gs-login")
        assert page.url == live_server.url + "/map"
        page.wait_for_selector("#ana-map", timeout=15_000)
        # The analyst may not open the administration pages.
        resp = page.goto(live_server.url + "/admin/users")
        assert resp.status == 403
    finally:
        ctx.close()


def test_a_wall_link_opens_the_screen_without_a_password(live_server, browser):
    from gridscope.auth.walls import create
    from queries.accounts import revoke_wall
    from queries.scope import WHOLE

    with connect(live_server.settings) as conn:
        wall_id, token = create(conn, "撤销测试大屏", "330402007", "standard", "tests")
        conn.commit()
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}/wall/{token}", wait_until="networkidle")
        assert page.url == live_server.url + "/screen"  # the secret is gone from the URL
        page.wait_for_function(
            "() => document.querySelector('#gs-jurisdiction').textContent.trim() !== '—'",
            timeout=20_000,
        )
        # A wall may not open the analyst map.
        assert page.goto(live_server.url + "/map").status == 403
        # Revoking the link ends the open wall session at its next request.
        with connect(live_server.settings) as conn:
            assert revoke_wall(conn, wall_id, WHOLE)
            conn.commit()
        page.goto(live_server.url + "/screen", wait_until="domcontentloaded")
        assert page.url.startswith(live_server.url + "/login")
        assert page.goto(f"{live_server.url}/wall/{token}").status == 404
    finally:
        ctx.close()


def _open_card(page, live_server, lon: float, lat: float) -> list[tuple[str, str]]:
    pick(page, "level", "grid")
    wait_painted(page, sql_codes(live_server.settings, "grid"))
    x, y = screen_point(page, lon, lat)
    page.mouse.click(x, y)
    page.wait_for_selector("#ana-card:not([hidden]) .gs-card-title", timeout=15_000)
    return [
        tuple(r)
        for r in page.eval_on_selector_all(
            ".gs-card-staff",
            "els => els.map(e => [e.querySelector('.gs-staff-name').textContent,"
            " e.querySelector('.gs-staff-phone').textContent])",
        )
    ]


def test_the_grid_card_is_masked_for_an_analyst_and_whole_for_an_administrator(
    live_server, browser, tmp_path
):
    with connect(live_server.settings) as conn:
        code, lon, lat = conn.execute(
            "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))"
            " FROM grid g WHERE g.valid_to IS NULL ORDER BY g.code LIMIT 1 OFFSET 17"
        ).fetchone()
        staff = sorted(
            conn.execute(
                "SELECT s.name, s.phone FROM staff_assignment a JOIN staff s ON s.id = a.staff_id"
                " WHERE a.grid_code = %s AND a.valid_to IS NULL AND s.active AND a.role IN"
                " ('grid_chief', 'fulltime_worker', 'parttime_worker', 'grid_instructor')",
                (code,),
            ).fetchall()
        )
    assert staff
    shown = {}
    for role in ("analyst", "admin"):
        ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
        try:
            page = ctx.new_page()
            sign_in(page, live_server, role)
            page.goto(live_server.url + "/map", wait_until="networkidle")
            shown[role] = sorted(_open_card(page, live_server, lon, lat))
            page.screenshot(path=str(tmp_path / f"card-{role}.png"))
        finally:
            ctx.close()
    assert shown["admin"] == staff
    assert shown["analyst"] == sorted((masking.name(n), masking.phone(p)) for n, p in staff)
    assert all(_MASKED_PHONE.match(p) for _, p in shown["analyst"])
    assert not any(n == m for (n, _), (m, _) in zip(shown["analyst"], staff, strict=True))
