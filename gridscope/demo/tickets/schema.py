"""The Arrow tables the simulator writes (column order = schema order) and how columns are built.

Instants inside the simulator are int64 microseconds since the Unix epoch (UTC), ``NAT`` for
"none"; the helpers here turn them and label indexes into typed Arrow columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Units of the int64 µs axis.
NAT = np.iinfo(np.int64).min  # numpy's NaT as int64: "no instant"
SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
TS = pa.timestamp("us", tz="UTC")

# ---- what the tables look like (column order = schema order) --------------------------------

TICKET_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("created_at", TS),
        ("ticket_no", pa.string()),
        ("external_id", pa.string()),
        ("source", pa.string()),
        ("category_code", pa.string()),
        ("urgency", pa.string()),
        ("state", pa.string()),
        ("stage", pa.string()),
        ("stage_started_at", TS),
        ("stage_warn_at", TS),
        ("stage_due_at", TS),
        ("due_at", TS),
        ("original_due_at", TS),
        ("grid_code", pa.string()),
        ("micro_grid_code", pa.string()),
        ("geom", pa.binary()),
        ("address", pa.string()),
        ("description", pa.string()),
        ("reported_at", TS),
        ("finished_at", TS),
        ("closed_at", TS),
        ("closed_on_time", pa.bool_()),
        ("self_resolved", pa.bool_()),
        ("rework_count", pa.int16()),
        ("return_count", pa.int16()),
        ("extension_count", pa.int16()),
        ("escalated", pa.bool_()),
        ("supervision", pa.int16()),
        ("satisfaction", pa.string()),
        ("updated_at", TS),
        ("lead_department_id", pa.int64()),
    ]
)
TASK_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ticket_id", pa.int64()),
        ("ticket_created_at", TS),
        ("department_id", pa.int64()),
        ("role", pa.string()),
        ("state", pa.string()),
        ("dispatched_at", TS),
        ("sign_due_at", TS),
        ("signed_at", TS),
        ("due_at", TS),
        ("original_due_at", TS),
        ("finished_at", TS),
        ("on_time", pa.bool_()),
    ]
)
# ``data`` is JSON text for the jsonb column: COPY BINARY needs the jsonb encoder for it.
EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ticket_id", pa.int64()),
        ("ticket_created_at", TS),
        ("at", TS),
        ("action", pa.string()),
        ("from_state", pa.string()),
        ("to_state", pa.string()),
        ("actor_kind", pa.string()),
        ("actor_id", pa.int64()),
        ("task_id", pa.int64()),
        ("comment", pa.string()),
        ("data", pa.string()),
    ]
)


@dataclass
class TicketBatch:
    """The simulated tables, typed like the schema (``ticket_event.data`` is JSON text)."""

    ticket: pa.Table
    ticket_task: pa.Table
    ticket_event: pa.Table
    stats: dict[str, float] = field(default_factory=dict)


# ---- building columns ------------------------------------------------------------------------


def ts_array(a: np.ndarray) -> pa.Array:
    """A UTC timestamp column from int64 µs (NAT = null)."""
    return pa.array(a, type=TS, mask=a == NAT)


def str_take(labels, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A string column: ``labels[idx[i]]``, null where ``mask``."""
    arr = pa.array(idx.astype(np.int32), mask=mask)
    return pc.take(pa.array(labels, pa.string()), arr)


def i64_array(a: np.ndarray) -> pa.Array:
    """An int64 column, NAT = null."""
    return pa.array(a, type=pa.int64(), mask=a == NAT)


def ewkb_points(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """EWKB points (little-endian, SRID 4326, 25 bytes each) for PostGIS geometry columns."""
    rec = np.empty(
        x.size,
        dtype=np.dtype(
            [("bo", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
        ),
    )
    rec["bo"], rec["type"], rec["srid"] = 1, 0x20000001, 4326
    rec["x"], rec["y"] = x, y
    offsets = np.arange(0, 25 * (x.size + 1), 25, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), x.size, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())]
    )
