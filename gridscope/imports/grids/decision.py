"""Boundary adjustments are decisions (ZJ 10, AR 11): the rules a grid or micro-grid import
follows before it changes a current version.

A division is approved by the county and filed with the city; the system keeps the number of
the decision (决定文号) on every version it draws and the decision's effective date as the
version's ``valid_from``. So an import that would change a current grid or micro-grid (its
boundary or any other attribute) is refused unless it names the decision; a first-time import
of new codes may omit it (there is nothing to adjust yet). Shared by ``gridscope import grids``
and ``gridscope import micro-grids``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..errors import ImportRefused

MAX_DECISION_LEN = 200
SHOWN_CODES = 5  # codes named in a refusal; the rest are counted


def decision_number(value: str | None) -> str | None:
    """The decision number as stored: trimmed, None when empty; ImportRefused when it holds a
    line break or runs past MAX_DECISION_LEN characters (a pasted paragraph, not a number)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if "\n" in text or "\r" in text:
        raise ImportRefused("--decision: one line, e.g. 南湖网格〔2027〕3号")
    if len(text) > MAX_DECISION_LEN:
        raise ImportRefused(f"--decision: at most {MAX_DECISION_LEN} characters")
    return text


def check_effective_date(valid_from: datetime | None, now: datetime) -> None:
    """Refuse an effective date after ``now``: the current version (``valid_to IS NULL``) is the
    one tickets are placed in, so a version that is not yet in force must not become current.
    Import an adjustment on or after its effective date."""
    if valid_from is not None and valid_from > now:
        raise ImportRefused(
            f"--valid-from {valid_from.isoformat()} is in the future (now {now.isoformat()}):"
            f" the new version would be current, and receive tickets, before it is in force;"
            f" import the adjustment on or after its effective date"
        )


def require_decision(
    path: object, what: str, changed: Sequence[str], decision_no: str | None
) -> None:
    """ImportRefused naming the changed codes when ``changed`` is not empty and no decision
    number is given (``what``: "grid" or "micro-grid")."""
    if not changed or decision_no:
        return
    shown = ", ".join(sorted(changed)[:SHOWN_CODES])
    more = f" and {len(changed) - SHOWN_CODES} more" if len(changed) > SHOWN_CODES else ""
    raise ImportRefused(
        f"{path}: {len(changed)} current {what}(s) would change ({shown}{more}): a boundary"
        f" adjustment needs the decision that approved it (ZJ 10, AR 11); give --decision NO"
        f" (决定文号) and --valid-from DATE (its effective date). Nothing was written"
    )
