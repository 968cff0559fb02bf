"""The layer registry and its documentation: every registered layer has a section in
docs/layers.md naming each of its options and option values (and, for the options labelled
from ``domain``, each label); options parse through their allowlists only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from layers import registry
from layers.base import AUTO, LayerOption, LayerSpec, OptionError

DOC = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def sections(text: str) -> dict[str, str]:
    """{layer id: section text} for every '## `id`' heading."""
    parts = re.split(r"^## `([a-z0-9_]+)`\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def undocumented(layer: LayerSpec, doc: str) -> list[str]:
    """What of ``layer`` its section does not name."""
    sec = sections(doc).get(layer.id)
    if sec is None:
        return [f"layer {layer.id}"]
    missing = []
    for opt in layer.all_options:
        if f"`{opt.name}`" not in sec:
            missing.append(f"{layer.id}.{opt.name}")
        missing += [f"{layer.id}.{opt.name}={v}" for v, _ in opt.choices if f"`{v}`" not in sec]
    for word in ("refresh", "sensitivity", "legend", "render"):
        if word not in sec:
            missing.append(f"{layer.id}: {word}")
    return missing


def test_every_registered_layer_and_option_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    missing = [m for layer in registry.LAYERS for m in undocumented(layer, doc)]
    assert missing == [], f"document these in docs/layers.md: {missing}"


# Options whose labels are domain names (item list, staff roles): the page names every label.
DOMAIN_LABELLED = (
    ("heat", "category"),
    ("heat", "urgency"),
    ("overdue", "category"),
    ("workers", "role"),
)


def test_domain_labels_are_the_documented_ones():
    from domain.categories import MAJOR_CODES, MAJOR_NAMES_ZH
    from domain.vocabulary import STAFF_ROLE_NAMES_ZH

    doc = sections(DOC.read_text(encoding="utf-8"))
    for layer_id, name in DOMAIN_LABELLED:
        option = next(o for o in registry.get(layer_id).all_options if o.name == name)
        missing = [label for _, label in option.choices if label not in doc[layer_id]]
        assert missing == [], f"docs/layers.md, {layer_id}.{name}: name {missing}"
    # the category selectors show the item list's own names, the role selector the roles'
    for layer_id in ("heat", "overdue"):
        option = next(o for o in registry.get(layer_id).data_options if o.name == "category")
        assert dict(option.choices) == {"all": "全部"} | {c: MAJOR_NAMES_ZH[c] for c in MAJOR_CODES}
    role = next(o for o in registry.get("workers").data_options if o.name == "role")
    assert all(STAFF_ROLE_NAMES_ZH[v] == label for v, label in role.choices if v != "all")


def test_the_check_fails_for_an_undocumented_layer_or_option():
    doc = DOC.read_text(encoding="utf-8")
    ghost = LayerSpec("ghost", "幽灵", "Ghost", "markers", lambda *a: {})
    assert undocumented(ghost, doc) == ["layer ghost"]
    grids = registry.get("grids")
    extra = LayerOption("colour_by", "按", (("x", "x"),), "x")
    widened = LayerSpec(**{**grids.__dict__, "style_options": (*grids.style_options, extra)})
    assert "grids.colour_by" in undocumented(widened, doc)


def test_registry_lookup_and_ids():
    assert registry.get("grids").render == "geojson"
    with pytest.raises(KeyError, match="known: grids"):
        registry.get("nope")
    assert len({x.id for x in registry.LAYERS}) == len(registry.LAYERS)


def test_options_parse_through_allowlists_and_auto_resolves_from_the_view():
    grids = registry.get("grids")
    raw = {"level": "county; DROP TABLE grid", "measure": "closure_rate", "window": 7}
    opts = grids.parse_data_options(raw, {"focus": "../../etc", "level": "town"})
    # the bad level falls back to "auto", which the view resolves; the bad focus is dropped
    assert opts == {
        "level": "town",
        "measure": "closure_rate",
        "window": "today",
        "from": "",
        "to": "",
        "category": "all",
        "focus": "",
    }
    opts = grids.parse_data_options({"level": AUTO}, {"level": "community", "focus": "330402007"})
    assert opts["level"] == "community" and opts["focus"] == "330402007"
    opts = grids.parse_data_options({"level": AUTO}, {"level": "planet"})
    assert opts["level"] == AUTO  # an unknown view value is refused like a browser value
    assert grids.parse_options({"palette": "blues", "opacity": "1e9"}) == {
        "level": AUTO,
        "measure": "created",
        "window": "today",
        "from": "",
        "to": "",
        "category": "all",
        "palette": "blues",
        "opacity": "0.82",
    }
    # strict options refuse what they do not allow instead of using the default
    with pytest.raises(OptionError, match="事项类别"):
        grids.parse_data_options({"category": "0977"})
    with pytest.raises(OptionError, match="YYYY-MM-DD"):
        grids.parse_data_options({"from": "2015/07/01"})


def test_specs_refuse_bad_ids_kinds_and_duplicate_options():
    opt = LayerOption("a", "a", (("x", "x"),), "x")
    with pytest.raises(ValueError):
        LayerSpec("Bad-Id", "x", "x", "markers", lambda *a: {})
    with pytest.raises(ValueError):
        LayerSpec("ok", "x", "x", "pie", lambda *a: {})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LayerSpec(
            "ok", "x", "x", "markers", lambda *a: {}, data_options=(opt,), style_options=(opt,)
        )
