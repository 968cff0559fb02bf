"""The warning rule and the supervision ladder (预警, 督办: DOMAIN.md §4), written once.

- **Warning** when at most 20 % of a stage's time is left: ``warn_at`` = start + 80 % of the
  stage's span, measured on the stage's own clock (``WorkCalendar.warn_at``).
- Ladder steps of an open ticket at an instant: 1 reminder at warning, 2 yellow card when
  overdue, 3 red card when overdue by at least the stage's whole limit or reworked twice.
  Suspended, closed, surveyed and rejected tickets are off the ladder.

``queries.supervision.LADDER_SQL`` and the overdue layer evaluate the same rule in SQL; a test
holds them to ``ladder_step``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import IntEnum
from types import MappingProxyType

# Warning at 80 % of the stage's span consumed, kept as an exact fraction for integer clocks.
WARN_NUM, WARN_DEN = 4, 5
WARN_FRACTION = WARN_NUM / WARN_DEN
# Overdue by at least this share of the stage's own limit is a red card; so is this many reworks.
RED_OVERDUE_SHARE = 1.0
RED_REWORKS = 2

# States off the ladder: finished, refused, or suspended (挂账 leaves overdue statistics).
OFF_LADDER_STATES: frozenset[str] = frozenset({"closed", "surveyed", "rejected", "suspended"})


class Step(IntEnum):
    """A ladder step; 0 = none."""

    NONE = 0
    WARNING = 1
    YELLOW = 2
    RED = 3


STEP_KEYS: Mapping[int, str] = MappingProxyType(
    {Step.WARNING: "warning", Step.YELLOW: "yellow", Step.RED: "red"}
)
STEP_NAMES_ZH: Mapping[int, str] = MappingProxyType(
    {Step.WARNING: "预警提醒", Step.YELLOW: "黄牌督办", Step.RED: "红牌督办"}
)


def ladder_step(
    state: str,
    stage_started_at: datetime | None,
    stage_warn_at: datetime | None,
    stage_due_at: datetime | None,
    rework_count: int,
    now: datetime,
) -> Step:
    """The ladder step of a ticket at ``now`` (the rule of ``LADDER_SQL``)."""
    if state in OFF_LADDER_STATES or stage_due_at is None:
        return Step.NONE
    if rework_count >= RED_REWORKS:
        return Step.RED
    if now > stage_due_at:
        limit = stage_due_at - (stage_started_at or stage_due_at)
        return Step.RED if now - stage_due_at >= limit * RED_OVERDUE_SHARE else Step.YELLOW
    if stage_warn_at is not None and now >= stage_warn_at:
        return Step.WARNING
    return Step.NONE
