"""The rollup (``stat_daily``) counts of imported tickets, by the rules of
``queries/sql/rebuild_stat_daily.sql``: a count lands on the local day of the event causing it,
and an imported ticket has one event, its 'create' at the open time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain.workflow.rules import State
from domain.workflow.timeliness import STAT_COUNTS

# The counts a create event can carry (created; reported when it creates into 'reported';
# closed when it creates into 'closed'); every other count needs a later step.
IMPORT_COUNTS: tuple[str, ...] = (
    "created",
    "reported",
    "reported_on_time",
    "closed",
    "closed_on_time",
)
assert set(IMPORT_COUNTS) <= set(STAT_COUNTS)


def local_days(ts: pa.Array, tz: str) -> pa.Array:
    """The local calendar day (date32) in ``tz`` of UTC timestamps: the day the rollup counts
    an event on."""
    return pc.local_timestamp(ts.cast(pa.timestamp("us", tz=tz))).cast(pa.date32())


def stat_counts(ticket: pa.Table, tz: str) -> pa.Table:
    """Counts per (local day in ``tz``, grid, category) of the new tickets: columns day
    (date32), grid_code, category_code and the int32 counts of ``IMPORT_COUNTS``.

    Created and (create into 'reported') reported, reported on time; closed and closed on time
    for creates into 'closed'; all on the create event's local day.
    """
    state = ticket.column("state")
    reported = pc.cast(pc.equal(state, State.REPORTED.value), pa.int64())
    frame = pa.table(
        {
            "day": local_days(ticket.column("created_at"), tz),
            "grid": ticket.column("grid_code"),
            "cat": ticket.column("category_code"),
            "created": pa.array(np.ones(ticket.num_rows, dtype=np.int64)),
            "reported": reported,
            "reported_on_time": reported,
            "closed": pc.cast(pc.equal(state, State.CLOSED.value), pa.int64()),
            "closed_on_time": pc.cast(
                pc.fill_null(ticket.column("closed_on_time"), False), pa.int64()
            ),
        }
    )
    agg = frame.group_by(["day", "grid", "cat"]).aggregate([(c, "sum") for c in IMPORT_COUNTS])
    return pa.table(
        {
            "day": agg.column("day"),
            "grid_code": agg.column("grid"),
            "category_code": agg.column("cat"),
            **{c: agg.column(f"{c}_sum").cast(pa.int32()) for c in IMPORT_COUNTS},
        }
    )
