"""The columns of the onboarding files, as the importers name them: declared once in
``domain.onboarding.columns`` (which the admin pages' template download reads too)."""

from __future__ import annotations

from domain.onboarding.columns import (
    CELL_KINDS,
    DEPARTMENT_KINDS,
    DEPARTMENT_LEVELS,
    DEPARTMENTS,
    ITEM_ACTIONS,
    ITEM_MATTERS,
    ITEMS,
    KINDS,
    MICRO_GRIDS,
    STAFF,
    Column,
    match_headers,
)

__all__ = [
    "CELL_KINDS",
    "DEPARTMENTS",
    "DEPARTMENT_KINDS",
    "DEPARTMENT_LEVELS",
    "ITEMS",
    "ITEM_ACTIONS",
    "ITEM_MATTERS",
    "KINDS",
    "MICRO_GRIDS",
    "STAFF",
    "Column",
    "match_headers",
]
