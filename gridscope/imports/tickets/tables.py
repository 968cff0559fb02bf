"""The Arrow tables an import COPYs (``ticket``, ``ticket_event``, ``ticket_external``), typed
like the schema, built column by column with the rules of ``domain``: ticket numbers
(``domain.ticket_no``), the warning instant (``domain.supervision``), closing on time
(``domain.workflow.timeliness``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain import ticket_no
from domain.supervision import WARN_DEN, WARN_NUM
from domain.workflow.rules import STAGE_OF_STATE, State
from domain.workflow.timeliness import closed_on_time_many

from ..mapping import TicketMapping
from .parse import IMPORT_FLAG_CLOCK_SKEW, TS, Parsed


def ts_array(values: np.ndarray) -> pa.Array:
    """Naive UTC datetime64[us] (NaT allowed) → Arrow timestamp[us, UTC] with nulls."""
    values = np.asarray(values, dtype="datetime64[us]")
    return pa.array(values.view(np.int64), pa.int64(), mask=np.isnat(values)).cast(TS)


_EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> pa.Array:
    """EWKB points (little-endian, with SRID) built in one numpy buffer: 25 bytes each."""
    n = len(lon)
    rec = np.empty(n, dtype=_EWKB_POINT)
    rec["order"], rec["type"], rec["srid"] = 1, 0x20000001, srid
    rec["x"], rec["y"] = lon, lat
    offsets = np.arange(0, 25 * (n + 1), 25, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())]
    )


def flag_lists(flagged: np.ndarray, flag: str) -> pa.Array:
    """``[flag]`` where ``flagged``, else ``[]``: a list<string> column (text[]), built from
    offsets without a per-row loop."""
    flagged = np.asarray(flagged, dtype=bool)
    offsets = np.concatenate([[0], np.cumsum(flagged)]).astype(np.int32)
    values = pa.array(np.full(int(flagged.sum()), flag, dtype=object), pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _local_yyyymmdd(ts: pa.Array, tz: str) -> pa.Array:
    """The local calendar day of UTC timestamps in ``tz`` as 'yyyymmdd' text."""
    local = pc.local_timestamp(ts.cast(pa.timestamp("us", tz=tz)))
    ymd = pc.add(
        pc.add(pc.multiply(pc.year(local), 10000), pc.multiply(pc.month(local), 100)), pc.day(local)
    )
    return pc.cast(ymd, pa.string())


def tables_for(
    idx: np.ndarray,
    ids: np.ndarray,
    p: Parsed,
    grid_of: np.ndarray,
    micro_of: np.ndarray,
    m: TicketMapping,
    tz: str,
    now: datetime,
) -> dict[str, pa.Table]:
    """The Arrow tables to COPY, typed like the schema, for the rows ``idx`` with ticket ids
    ``ids``; ticket numbers carry the local day of creation in ``tz``, ``updated_at`` is ``now``."""
    n = len(idx)
    take = pa.array(idx, pa.int64())
    closed = p.is_closed[idx]
    open_ = ~closed
    open_state = m.state.open_state
    state = pa.array(np.where(closed, State.CLOSED.value, open_state.value), pa.string())
    stage = pa.array(np.where(closed, None, STAGE_OF_STATE[open_state]), pa.string())
    nat = np.datetime64("NaT", "us")
    c_us, d_us, x_us = p.created[idx], p.due[idx], p.closed_at[idx]
    span = d_us - c_us
    warn = np.where(
        span > np.timedelta64(0, "us"),
        # The exact integer fraction of WorkCalendar.warn_at on the calendar clock.
        c_us + (span.astype(np.int64) * WARN_NUM // WARN_DEN).astype("timedelta64[us]"),
        d_us,
    )
    on_time = closed_on_time_many(x_us, d_us)
    created_utc = ts_array(c_us)
    ids_arr = pa.array(ids, pa.int64())
    # domain.ticket_no.ticket_no(), a whole column at a time.
    numbers = pc.binary_join_element_wise(
        ticket_no.PREFIX,
        _local_yyyymmdd(created_utc, tz),
        pc.utf8_lpad(pc.cast(ids_arr, pa.string()), ticket_no.ID_DIGITS, "0"),
        "",
    )
    source = p.source.take(take)
    skewed = p.clock_skew[idx]
    ext = pa.array(p.ext[idx], pa.string())
    ticket = pa.table(
        {
            "id": ids_arr,
            "created_at": created_utc,
            "ticket_no": numbers,
            "external_id": ext,
            "source": source,
            "category_code": p.category.take(take),
            "urgency": p.urgency.take(take),
            "state": state,
            "stage": stage,
            "stage_started_at": ts_array(np.where(open_, c_us, nat)),
            "stage_warn_at": ts_array(np.where(open_, warn, nat)),
            "stage_due_at": ts_array(np.where(open_, d_us, nat)),
            "due_at": ts_array(d_us),
            "original_due_at": ts_array(d_us),
            "grid_code": pa.array(grid_of[idx], pa.string()),
            "micro_grid_code": pa.array(micro_of[idx], pa.string()),
            "geom": ewkb_points(p.lon[idx], p.lat[idx]),
            "address": p.address.take(take),
            "description": p.description.take(take),
            "reported_at": created_utc,
            "finished_at": ts_array(np.where(closed, x_us, nat)),
            "closed_at": ts_array(np.where(closed, x_us, nat)),
            "closed_on_time": pa.array(np.where(closed, on_time, None), pa.bool_()),
            "updated_at": pa.array(np.full(n, now.astimezone(UTC)), TS),
            "source_type": p.source_type.take(take),
            "source_reason": p.source_reason.take(take),
            "import_flags": flag_lists(skewed, IMPORT_FLAG_CLOCK_SKEW),
        }
    )
    ns = json.dumps(m.namespace)
    # A row accepted with clock skew keeps the file's own closing time in its create event
    # (the ticket closes at its open time): the append-only log loses nothing of the source.
    skew_note = pc.if_else(
        pa.array(skewed, pa.bool_()),
        pc.binary_join_element_wise(
            ', "source_closed_at": "',
            pc.strftime(ts_array(p.source_closed_at[idx]), format="%Y-%m-%dT%H:%M:%SZ"),
            '"',
            "",
        ),
        pa.scalar("", pa.string()),
    )
    data = pc.binary_join_element_wise(
        f'{{"imported": true, "namespace": {ns}, "source": "', source, '"', skew_note, "}", ""
    )
    event = pa.table(
        {
            "ticket_id": ids_arr,
            "ticket_created_at": created_utc,
            "at": created_utc,
            "action": pa.array(np.full(n, "create", dtype=object), pa.string()),
            "from_state": pa.nulls(n, pa.string()),
            "to_state": state,
            "actor_kind": pa.array(np.full(n, "system", dtype=object), pa.string()),
            "data": data,
        }
    )
    external = pa.table(
        {
            "namespace": pa.array(np.full(n, m.namespace, dtype=object), pa.string()),
            "external_id": ext,
            "ticket_id": ids_arr,
            "ticket_created_at": created_utc,
        }
    )
    return {"ticket": ticket, "ticket_event": event, "ticket_external": external}
