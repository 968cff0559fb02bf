"""Invariants of the policy table (domain.access): what no edit of it may break."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domain.access import (
    FIELD_TIERS,
    LAYER_IDS,
    PAGE_PATHS,
    PAGES,
    POLICY,
    Action,
    Role,
    Tier,
    home_path,
    is_sensitive_category,
    may,
    may_open,
    policy,
    sees,
)
from domain.masking import mask

ROOT = Path(__file__).resolve().parents[2]


def dash_page_paths() -> set[str]:
    """The ``path`` of every ``dash.register_page`` in dashboard/pages, read from the source
    without running the page modules (register_page needs a Dash app): a literal, or an
    expression over the module's imports (``path=users.PATH``), evaluated after running only
    those imports."""
    paths = set()
    for file in sorted((ROOT / "dashboard" / "pages").glob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        namespace: dict = {}
        exec(compile(ast.Module(imports, []), str(file), "exec"), namespace)
        for node in ast.walk(tree):
            fn = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(fn, "attr", None) == "register_page":
                for kw in node.keywords:
                    if kw.arg == "path":
                        expr = ast.Expression(kw.value)
                        paths.add(eval(compile(expr, str(file), "eval"), namespace))
    return paths


def test_every_role_has_a_policy_of_its_own():
    assert set(POLICY) == set(Role)
    assert all(p.role is r for r, p in POLICY.items())
    assert len({p.name_zh for p in POLICY.values()}) == len(POLICY)
    with pytest.raises(ValueError):
        policy("root")


def test_the_wall_opens_only_the_screen_and_reads_at_most_l2():
    wall = POLICY[Role.WALL]
    assert wall.pages == {"/screen"}
    assert wall.tier <= Tier.L2
    assert wall.actions == frozenset()
    assert home_path(Role.WALL) == "/screen"


def test_only_the_administrator_administers_and_opens_admin_pages():
    assert [r for r in Role if may(r, Action.ADMINISTER)] == [Role.ADMIN]
    for page in PAGES:
        if page.admin:
            assert [r for r in Role if may_open(r, page.path)] == [Role.ADMIN], page.path


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_actions_need_the_tier_of_the_data_they_reveal(role):
    tier = POLICY[role].tier
    if may(role, Action.READ_TRACKS):
        assert tier >= FIELD_TIERS["worker.track"] == Tier.L4
    if may(role, Action.EXACT_POINTS):
        assert tier >= FIELD_TIERS["ticket.point"]
    if may(role, Action.ADMINISTER):  # administrators read everything they administer
        assert tier == max(Tier)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_policies_name_only_known_pages_and_layers(role):
    p = POLICY[role]
    assert p.pages <= PAGE_PATHS and p.pages
    assert p.layers <= set(LAYER_IDS)
    assert may_open(role, home_path(role))


def test_every_page_of_the_policy_is_a_dash_page():
    missing = sorted(PAGE_PATHS - dash_page_paths())
    assert missing == [], f"PAGES lists paths no dashboard/pages module registers: {missing}"


def test_the_layer_registry_is_the_policy_list():
    from layers import registry

    assert tuple(layer.id for layer in registry.LAYERS) == LAYER_IDS


def test_every_component_prefix_belongs_to_a_page_of_the_policy():
    from gridscope.auth.callbacks import COMPONENT_PAGES

    assert {p for p in COMPONENT_PAGES.values() if p is not None} <= PAGE_PATHS


@pytest.mark.parametrize("field", list(FIELD_TIERS))
def test_no_personal_field_is_shown_as_it_is_below_its_tier(field):
    value = "张三丰 13812341234 330402199001011234 勤俭路12号"
    tier = FIELD_TIERS[field]
    assert tier >= Tier.L3, "personal fields are L3 or L4 (DOMAIN.md §7)"
    for below in (t for t in Tier if t < tier):
        assert mask(field, value, below) != value, (field, below)
    assert mask(field, value, tier) == value
    for role in Role:
        assert sees(role, field) == (POLICY[role].tier >= tier)


def test_sensitive_categories_are_special_populations_and_disputes():
    assert is_sensitive_category("0702")
    assert is_sensitive_category("070201")
    assert is_sensitive_category("0501")
    assert not is_sensitive_category("0701")
    assert not is_sensitive_category("0901")
    assert not is_sensitive_category(None)
    assert not is_sensitive_category("")
