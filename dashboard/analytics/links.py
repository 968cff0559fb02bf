"""Links from the leadership page to the analyst workbench (/explore) with the same area,
period and filters, so that every number can be opened down to its tickets."""

from __future__ import annotations

from dataclasses import replace

from domain.analytics.periods import Period
from domain.explore.filters import CUSTOM, Filters, encode


def explore_href(area: str, period: Period, **filters: object) -> str:
    """/explore?… for ``area`` over ``period``'s days plus any workbench filter
    (``cat=("0101",)``, ``clock=("closed_late",)``, ``basis="closed"``, ``dept=(3,)`` …)."""
    f = replace(Filters(), area=area, period=CUSTOM, start=period.start, end=period.end)
    if filters:
        f = f.with_(**filters)
    query = encode(f, drawer=False)
    return "/explore?" + query if query else "/explore"
