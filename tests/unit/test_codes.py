"""Code rules (DOMAIN.md §1): formats, prefixes, sequence range and reading order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.codes import (
    CODE_RULES,
    NationalCodeRule,
    PermissiveCodeRule,
    get_code_rule,
    reading_order,
)

NATIONAL = NationalCodeRule()
PERMISSIVE = PermissiveCodeRule()

digits = st.text(alphabet="0123456789", min_size=12, max_size=12)
seqs = st.integers(min_value=1, max_value=999)
safe_chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"


def test_registry_lists_both_rules() -> None:
    assert set(CODE_RULES) == {"national", "permissive"}
    assert isinstance(get_code_rule("national"), NationalCodeRule)
    assert isinstance(get_code_rule("permissive"), PermissiveCodeRule)


def test_unknown_rule_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="national.*permissive"):
        get_code_rule("zhejiang-20")


@given(community=digits, seq=seqs, micro_seq=seqs)
def test_national_grid_and_micro_grid_codes(community: str, seq: int, micro_seq: int) -> None:
    grid = NATIONAL.grid_code(community, seq)
    assert len(grid) == 15 and grid.isdigit() and grid.startswith(community)
    assert int(grid[12:]) == seq
    assert NATIONAL.validate_grid(grid, community) is None
    micro = NATIONAL.micro_grid_code(grid, micro_seq)
    assert len(micro) == 18 and micro.startswith(grid) and int(micro[15:]) == micro_seq
    assert NATIONAL.validate_micro_grid(micro, grid) is None


@given(community=digits, a=seqs, b=seqs)
def test_national_codes_are_unique_per_sequence(community: str, a: int, b: int) -> None:
    assert (NATIONAL.grid_code(community, a) == NATIONAL.grid_code(community, b)) == (a == b)


@pytest.mark.parametrize("seq", [0, -1, 1000, 1.0, "7", True])
def test_national_sequence_out_of_range(seq: object) -> None:
    with pytest.raises(ValueError):
        NATIONAL.grid_code("330402007024", seq)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "level", "ok"),
    [
        ("33", "province", True),
        ("3304", "city", True),
        ("330402", "county", True),
        ("330402007", "town", True),
        ("330402007024", "community", True),
        ("33040200702", "community", False),
        ("3304020070245", "community", False),
        ("33040200702a", "community", False),
        ("33040200702٣", "community", False),  # Arabic-Indic digit: isdigit() but not ASCII
        ("330402", "town", False),
        ("330402", "district", False),
    ],
)
def test_national_region_codes(code: str, level: str, ok: bool) -> None:
    assert (NATIONAL.validate_region(code, level) is None) == ok


def test_national_rejects_wrong_parent_and_zero_sequence() -> None:
    assert "does not start" in NATIONAL.validate_grid("330402007025001", "330402007024")
    assert "000" in NATIONAL.validate_grid("330402007024000", "330402007024")
    assert "15 digits" in NATIONAL.validate_grid("3304020070241", "330402007024")
    assert NATIONAL.validate_micro_grid("330402007024001001", "330402007024002") is not None
    assert NATIONAL.validate_micro_grid("330402007024001000", "330402007024001") is not None


@given(parent=st.text(alphabet=safe_chars, min_size=1, max_size=28), seq=seqs)
def test_permissive_child_extends_parent(parent: str, seq: int) -> None:
    assert PERMISSIVE.validate_region(parent, "community") is None
    grid = PERMISSIVE.grid_code(parent, seq)
    assert grid.startswith(parent) and len(grid) > len(parent)
    assert PERMISSIVE.validate_grid(grid, parent) is None


def test_permissive_limits() -> None:
    with pytest.raises(ValueError, match="32"):
        PERMISSIVE.grid_code("A" * 29, 1)
    assert PERMISSIVE.validate_region("", "town") is not None
    assert PERMISSIVE.validate_region("网格1", "town") is not None
    assert PERMISSIVE.validate_grid("X-001", "Y") is not None
    assert PERMISSIVE.validate_grid("X", "X") is not None


coords = st.floats(min_value=-1000, max_value=1000, allow_nan=False)


@given(
    pts=st.lists(st.tuples(coords, coords), min_size=1, max_size=40),
    band=st.floats(min_value=0.01, max_value=500),
)
def test_reading_order_is_bands_north_to_south_then_west_to_east(
    pts: list[tuple[float, float]], band: float
) -> None:
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    order = reading_order(x, y, band)
    assert sorted(order.tolist()) == list(range(len(pts)))
    bands = np.floor((y.max() - y) / band)[order]
    assert (np.diff(bands) >= 0).all()  # bands run north to south
    same = np.diff(bands) == 0
    assert (np.diff(x[order])[same] >= 0).all()  # west to east within a band


def test_reading_order_example() -> None:
    # Two rows: north row (y≈10) west→east, then the south row.
    x = [5, 1, 3, 2, 4]
    y = [10.2, 10.0, 0.1, 9.9, 0.0]
    assert reading_order(x, y, 2.0).tolist() == [1, 3, 0, 2, 4]
    assert reading_order([], [], 1.0).tolist() == []


@pytest.mark.parametrize("band", [0.0, -1.0, float("nan")])
def test_reading_order_rejects_bad_band(band: float) -> None:
    with pytest.raises(ValueError):
        reading_order([0.0], [0.0], band)
