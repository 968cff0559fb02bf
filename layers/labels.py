"""Display names for the codes the queries return, applied in the presentation tier (the map
layers and the dashboard). Every name comes from ``domain``; this module only composes them.
"""

from __future__ import annotations

from domain.categories import MAJOR_CODES, MAJOR_NAMES_ZH
from domain.supervision import STEP_NAMES_ZH
from domain.vocabulary import EXCLUSIVE_KIND_NAMES_ZH, GRID_TYPE_NAMES_ZH, ROLE_NAMES_ZH
from domain.workflow.rules import STAGE_NAMES_ZH, STATE_NAMES_ZH

ALL_ZH = "全部"


def category_label(major: str, minor: str) -> str:
    """ "major·minor" category names, or the major name alone (minor missing or the same)."""
    return major if not minor or minor == major else f"{major}·{minor}"


def role_name(role: str) -> str:
    """The Chinese name of a staff role (the code when unknown)."""
    return ROLE_NAMES_ZH.get(role, role)


def kind_name(kind: str | None) -> str:
    """The Chinese name of an exclusive-grid kind ("" for none, the code when unknown)."""
    return EXCLUSIVE_KIND_NAMES_ZH.get(kind, kind) if kind else ""


def grid_type_name(grid_type: str) -> str:
    """综合网格 / 专属网格 (the code when unknown)."""
    return GRID_TYPE_NAMES_ZH.get(grid_type, grid_type)


def state_name(state: str) -> str:
    """The Chinese name of a ticket state (the code when unknown)."""
    return STATE_NAMES_ZH.get(state, state)  # type: ignore[call-overload]


def stage_name(stage: str | None) -> str:
    """The Chinese name of a stage T1–T7 ("" outside a stage, the code when unknown)."""
    return STAGE_NAMES_ZH.get(stage, stage) if stage else ""


def step_name(step: int) -> str:
    """The Chinese name of a supervision ladder step 1–3 ("" for 0)."""
    return STEP_NAMES_ZH.get(int(step), "")


def jurisdiction_label(name: str | None, prefix: str) -> str:
    """The jurisdiction's display name: its unit's name, else "辖区 <prefix>", else "全辖区"."""
    if name:
        return name
    return f"辖区 {prefix}" if prefix else "全辖区"


def major_choices() -> tuple[tuple[str, str], ...]:
    """(value, label) choices of a major-category option: 全部, then the item list's majors."""
    return (("all", ALL_ZH), *((c, MAJOR_NAMES_ZH[c]) for c in MAJOR_CODES))


def role_choices(roles: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(value, label) choices of a staff-role option: 全部, then ``roles`` in the given order."""
    return (("all", ALL_ZH), *((r, role_name(r)) for r in roles))


__all__ = [
    "ALL_ZH",
    "GRID_TYPE_NAMES_ZH",
    "category_label",
    "grid_type_name",
    "jurisdiction_label",
    "kind_name",
    "major_choices",
    "role_choices",
    "role_name",
    "stage_name",
    "state_name",
    "step_name",
]
