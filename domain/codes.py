"""Pluggable code rules for regions, grids and micro-grids (DOMAIN.md §1).

A code rule says what a valid region, grid or micro-grid code looks like and how a child's code
is made from its parent's code and a sequence number. Provinces differ (15- or 20-digit
variants exist), so the rule is chosen by name from `CODE_RULES`, the one registry of rules.
The validators return an error message, or None when the code is valid: callers that import
data collect messages, callers that issue codes raise.

`reading_order` gives the order in which sequence numbers are handed out.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

REGION_LEVELS: tuple[str, ...] = ("province", "city", "county", "town", "community")


class CodeRule(ABC):
    """How region, grid and micro-grid codes are formed and checked."""

    name: str

    @abstractmethod
    def validate_region(self, code: str, level: str) -> str | None:
        """Error message if `code` is not a valid region code of `level`, else None."""

    @abstractmethod
    def validate_grid(self, code: str, community_code: str) -> str | None:
        """Error message if `code` is not a valid grid code under `community_code`, else None."""

    @abstractmethod
    def validate_micro_grid(self, code: str, grid_code: str) -> str | None:
        """Error message if `code` is not a valid micro-grid code under `grid_code`, else None."""

    @abstractmethod
    def grid_code(self, community_code: str, seq: int) -> str:
        """The code of grid number `seq` (1-based) of a community; ValueError if impossible."""

    @abstractmethod
    def micro_grid_code(self, grid_code: str, seq: int) -> str:
        """The code of micro-grid number `seq` (1-based) of a grid; ValueError if impossible."""


def _check_level(level: str) -> str | None:
    if level not in REGION_LEVELS:
        return f"unknown region level {level!r}; expected one of {', '.join(REGION_LEVELS)}"
    return None


class NationalCodeRule(CodeRule):
    """统计用区划代码 regions (2/4/6/9/12 digits); grid = community + 3 digits; micro = grid + 3.

    Sequences run 001..999; 000 is never issued.
    """

    name = "national"
    REGION_DIGITS: Mapping[str, int] = MappingProxyType(
        {"province": 2, "city": 4, "county": 6, "town": 9, "community": 12}
    )
    SEQ_DIGITS = 3
    GRID_DIGITS = 15
    MICRO_GRID_DIGITS = 18

    def validate_region(self, code: str, level: str) -> str | None:
        if (err := _check_level(level)) is not None:
            return err
        digits = self.REGION_DIGITS[level]
        if not _is_digits(code, digits):
            return f"{level} code must be {digits} digits, got {code!r}"
        return None

    def validate_grid(self, code: str, community_code: str) -> str | None:
        if (err := self.validate_region(community_code, "community")) is not None:
            return f"grid parent: {err}"
        return self._validate_child(code, community_code, "grid", self.GRID_DIGITS)

    def validate_micro_grid(self, code: str, grid_code: str) -> str | None:
        if (err := self.validate_grid(grid_code, grid_code[:-3])) is not None:
            return f"micro-grid parent: {err}"
        return self._validate_child(code, grid_code, "micro-grid", self.MICRO_GRID_DIGITS)

    def grid_code(self, community_code: str, seq: int) -> str:
        if (err := self.validate_region(community_code, "community")) is not None:
            raise ValueError(err)
        return community_code + _seq(seq, self.SEQ_DIGITS)

    def micro_grid_code(self, grid_code: str, seq: int) -> str:
        if (err := self.validate_grid(grid_code, grid_code[:-3])) is not None:
            raise ValueError(err)
        return grid_code + _seq(seq, self.SEQ_DIGITS)

    def _validate_child(self, code: str, parent: str, what: str, digits: int) -> str | None:
        if not _is_digits(code, digits):
            return f"{what} code must be {digits} digits, got {code!r}"
        if not code.startswith(parent):
            return f"{what} code {code!r} does not start with its parent {parent!r}"
        if int(code[len(parent) :]) == 0:
            return f"{what} code {code!r} has sequence 000"
        return None


class PermissiveCodeRule(CodeRule):
    """Any code of 1..32 characters [0-9A-Za-z_-]; a child's code starts with its parent's.

    Generated children are `<parent>-<seq:03d>`; for imports from systems with their own scheme.
    """

    name = "permissive"
    MAX_LEN = 32
    _PATTERN = re.compile(r"[0-9A-Za-z_-]{1,32}")

    def validate_region(self, code: str, level: str) -> str | None:
        if (err := _check_level(level)) is not None:
            return err
        return self._validate_code(code, level)

    def validate_grid(self, code: str, community_code: str) -> str | None:
        return self._validate_child(code, community_code, "grid")

    def validate_micro_grid(self, code: str, grid_code: str) -> str | None:
        return self._validate_child(code, grid_code, "micro-grid")

    def grid_code(self, community_code: str, seq: int) -> str:
        return self._child(community_code, seq, "grid")

    def micro_grid_code(self, grid_code: str, seq: int) -> str:
        return self._child(grid_code, seq, "micro-grid")

    def _validate_code(self, code: str, what: str) -> str | None:
        if not isinstance(code, str) or self._PATTERN.fullmatch(code) is None:
            return (
                f"{what} code must be 1..{self.MAX_LEN} characters of [0-9A-Za-z_-], got {code!r}"
            )
        return None

    def _validate_child(self, code: str, parent: str, what: str) -> str | None:
        if (err := self._validate_code(parent, f"{what} parent")) is not None:
            return err
        if (err := self._validate_code(code, what)) is not None:
            return err
        if len(code) <= len(parent) or not code.startswith(parent):
            return f"{what} code {code!r} must extend its parent code {parent!r}"
        return None

    def _child(self, parent: str, seq: int, what: str) -> str:
        code = f"{parent}-{_seq(seq, 3)}"
        if (err := self._validate_child(code, parent, what)) is not None:
            raise ValueError(err)
        return code


def _is_digits(code: object, n: int) -> bool:
    # str.isdigit accepts non-ASCII digits such as '²' or '٣'; codes are ASCII only.
    return isinstance(code, str) and len(code) == n and code.isascii() and code.isdigit()


def _seq(seq: int, digits: int) -> str:
    if isinstance(seq, bool) or not isinstance(seq, int | np.integer):
        raise ValueError(f"sequence must be an integer, got {seq!r}")
    top = 10**digits - 1
    if not 1 <= seq <= top:
        raise ValueError(f"sequence {seq} out of range 1..{top}")
    return f"{int(seq):0{digits}d}"


CODE_RULES: Mapping[str, CodeRule] = MappingProxyType(
    {"national": NationalCodeRule(), "permissive": PermissiveCodeRule()}
)


def get_code_rule(name: str) -> CodeRule:
    """The registered rule called `name`; ValueError naming the known rules otherwise."""
    try:
        return CODE_RULES[name]
    except KeyError:
        raise ValueError(
            f"unknown code rule {name!r}; expected one of {', '.join(sorted(CODE_RULES))}"
        ) from None


def reading_order(centroids_x: ArrayLike, centroids_y: ArrayLike, band_deg: float) -> NDArray:
    """Indices putting centroids in sequence order: "west→east, then north→south".

    Interpretation (like reading a page): the centroids are cut into horizontal bands of
    `band_deg` degrees of latitude, counted southwards from the northernmost centroid; bands are
    taken north to south and, within a band, centroids west to east (x ascending). Ties go
    north first, then by input position, so the order is total and deterministic. Choose
    `band_deg` about the typical height of one unit, e.g. sqrt(parent area / number of units).
    Coordinates are lon (x) / lat (y) degrees.
    """
    x = np.asarray(centroids_x, dtype=float)
    y = np.asarray(centroids_y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("centroids_x and centroids_y must be 1-d arrays of equal length")
    if not (np.isfinite(band_deg) and band_deg > 0):
        raise ValueError(f"band_deg must be a positive number, got {band_deg!r}")
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("centroids must be finite")
    band = np.floor((y.max() - y) / band_deg).astype(np.int64)
    # np.lexsort sorts by the last key first.
    return np.lexsort((np.arange(x.size), -y, x, band))
