"""A ticket's stage clocks rebuilt from its append-only event log, for the workbench drawer.

Each run of a stage (a ticket can go through 分办 twice after a return) is one ``StageRun``:
when it started, when it was due and warned (the stage limit in force for the ticket's category
and urgency, on the work calendar), when it ended, and whether it ended on time and by how much
it was early or late. The handling stage's due time is the ticket's own (an approved extension
moves it; 按期结案 still judges the original one, which the ticket keeps). Suspended time is
not taken off here: a suspended run says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.workflow.clocks import Clocks
from domain.workflow.rules import STAGE_NAMES_ZH, STAGE_OF_STATE, State

# Actions after which the write path starts the same stage's clock again.
RESTARTS = frozenset({"escalate"})


@dataclass(frozen=True)
class StageRun:
    stage: str
    started: datetime
    warn_at: datetime | None
    due_at: datetime | None
    ended: datetime | None  # None: still running at "now"
    suspended: bool = False

    @property
    def name_zh(self) -> str:
        return STAGE_NAMES_ZH.get(self.stage, self.stage)

    def on_time(self, now: datetime) -> bool | None:
        """True/False once judged (ended, or past due while running); None while in time."""
        if self.due_at is None:
            return None
        if self.ended is not None:
            return self.ended <= self.due_at
        return False if now > self.due_at else None

    def margin(self, now: datetime) -> timedelta | None:
        """Due minus end (or minus now while running): negative when late."""
        if self.due_at is None:
            return None
        return self.due_at - (self.ended or now)


def _stage(state: str | None) -> str | None:
    if state is None:
        return None
    try:
        return STAGE_OF_STATE[State(state)]
    except ValueError:
        return None


def stage_runs(
    ticket: Mapping[str, Any], events: Sequence[Mapping[str, Any]], clocks: Clocks | None
) -> list[StageRun]:
    """The stage runs of ``ticket`` from its ``events`` (ordered by time): a new run each time
    the ticket's stage changes. ``clocks`` gives due and warning times (None: none shown)."""
    runs: list[StageRun] = []
    current: tuple[str, datetime, bool] | None = None
    cat, urgency = ticket["category_code"], ticket["urgency"]

    def close(end: datetime | None) -> None:
        if current is None:
            return
        stage, start, suspended = current
        warn = due = None
        if clocks is not None:
            try:
                warn, due = clocks.stage_times(start, cat, stage, urgency)
            except (KeyError, ValueError):
                warn = due = None
        runs.append(StageRun(stage, start, warn, due, end, suspended))

    for e in events:
        to_state = e.get("to_state")
        if to_state is None:
            continue
        if to_state == State.SUSPENDED and current is not None:
            current = (current[0], current[1], True)
            continue
        stage = _stage(to_state)
        # Escalating restarts the dispatch clock at the upper level (the write path starts T3
        # afresh): a new run although the stage stays the same.
        if current is not None and stage == current[0] and e.get("action") not in RESTARTS:
            continue
        close(e["at"])
        current = (stage, e["at"], False) if stage else None
    # The last run ends when the ticket reached a state with no clock; else it still runs.
    close(None)
    # The running stage is due and warns when the ticket's own clock says (stage_due_at and
    # stage_warn_at, which the table, the clock facet and the overdue layer read: suspensions,
    # extensions and rework already moved them). The last finished handling run is due at the
    # ticket's due_at (an approved extension moves it); its warning is then unknown unless the
    # limit's own due time still stands.
    if runs and runs[-1].ended is None and runs[-1].stage == ticket.get("stage"):
        r = runs[-1]
        due = ticket.get("stage_due_at") or r.due_at
        warn = ticket.get("stage_warn_at") if ticket.get("stage_due_at") else r.warn_at
        runs[-1] = StageRun(r.stage, r.started, warn, due, r.ended, r.suspended)
    t5 = [i for i, r in enumerate(runs) if r.stage == "T5" and r.ended is not None]
    if t5 and ticket.get("due_at") is not None:
        r = runs[t5[-1]]
        if r.due_at != ticket["due_at"]:
            runs[t5[-1]] = StageRun(
                r.stage, r.started, None, ticket["due_at"], r.ended, r.suspended
            )
    return runs
