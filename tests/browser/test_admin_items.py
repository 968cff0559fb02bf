"""/admin/items in a real browser: an administrator sees the list in force, admits an entry
through the form (shown in the list from its effective date) and sees the guard's refusal
with the clauses it quotes."""

from __future__ import annotations

import os

from domain.item_list import PY14_TEXT
from tests.browser.conftest import sign_in


def _submit(page, expect: str, **fields: str) -> str:
    """Fill the form, submit, and return the notice once it contains ``expect``."""
    for ident, value in fields.items():
        page.fill(f"#adm-items-{ident}", value)
    page.click("#adm-items-submit")
    page.wait_for_function(
        "t => (document.querySelector('#adm-items-msg') || {}).innerText?.includes(t)",
        arg=expect,
        timeout=15_000,
    )
    return page.inner_text("#adm-items-msg")


def test_an_administrator_admits_an_entry_and_meets_the_guard(live_server, browser):
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        sign_in(page, live_server, "admin")
        page.goto(live_server.url + "/admin/items", wait_until="domcontentloaded")
        page.wait_for_selector("#adm-items-table table", timeout=15_000)
        assert "城市管理" in page.inner_text("#adm-items-table")
        assert "共享单车乱停放" not in page.inner_text("#adm-items-table")
        said = _submit(
            page,
            "已记录",
            code="0910",
            decision="南湖网格〔2026〕3号",
            effective="2026-11-25",
            name="共享单车乱停放",
            limit="3WD",
            urgent="24h",
        )
        assert "已记录 0910" in said and "已生效" in said
        page.wait_for_function(
            "document.querySelector('#adm-items-table').innerText.includes('共享单车乱停放')",
            timeout=15_000,
        )
        assert "南湖网格〔2026〕3号" in page.inner_text("#adm-items-history")
        said = _submit(page, "第十四条", code="0911", decision="G-1", name="占道经营罚款")
        assert PY14_TEXT in "".join(said.split())
        if shot := os.environ.get("ITEMS_SCREENSHOT_DIR"):
            page.screenshot(path=f"{shot}/admin_items.png", full_page=True)
    finally:
        ctx.close()
