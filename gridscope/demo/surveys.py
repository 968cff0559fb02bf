"""The demo's satisfaction surveys and the per-department and per-worker rollups after a load.

The bulk-loaded event log carries each survey's result but not how the party was asked:
``after_load`` fills the ``survey`` records from the survey events with a channel drawn from
``CHANNEL_MIX`` and, for the unsatisfied, one of ``UNSATISFIED_COMMENTS`` (seeded draws in SQL,
no loop over rows), then rebuilds ``stat_task_daily`` and ``stat_worker_daily``. The live
simulator (``gridscope.demo.live``) surveys through the write path with the same mix and
comments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import numpy as np
import psycopg

from domain.config import Settings

# How call-backs reach people in a city's grid system: mostly the hotline's phone call-back,
# then text messages and the apps; visits for the few a worker calls on.
CHANNEL_MIX: tuple[tuple[str, float], ...] = (
    ("phone", 0.62),
    ("sms", 0.14),
    ("wechat", 0.11),
    ("app", 0.08),
    ("visit", 0.04),
    ("other", 0.01),
)
# What an unsatisfied party says (the demo's comments; a real survey records the party's words).
UNSATISFIED_COMMENTS: tuple[str, ...] = (
    "问题没有彻底解决，过几天又出现了",
    "处理太慢，拖了很久才有人来",
    "没有人联系我说明处理结果",
    "只是表面处理，根本问题还在",
    "工作人员态度不好",
    "处理结果和我反映的不是一回事",
    "希望加强日常巡查，不要等群众反映",
)
# Salt of the demo's survey draws, so they do not repeat the simulator's other seeded draws.
SURVEY_SALT = 0x5EED_0012


def draw_channel(rng: np.random.Generator) -> str:
    """A channel drawn from CHANNEL_MIX (the live simulator's surveys)."""
    names = [c for c, _ in CHANNEL_MIX]
    weights = np.array([w for _, w in CHANNEL_MIX])
    return str(rng.choice(names, p=weights / weights.sum()))


def draw_comment(rng: np.random.Generator, result: str) -> str | None:
    """One of UNSATISFIED_COMMENTS for an unsatisfied result, else None (most satisfied
    parties leave no comment)."""
    if result != "unsatisfied":
        return None
    return UNSATISFIED_COMMENTS[int(rng.integers(len(UNSATISFIED_COMMENTS)))]


def after_load(
    conn: psycopg.Connection,
    settings: Settings,
    territory,
    seed: int,
    now: datetime,
    echo: Callable[[str], None] = print,
) -> dict[str, int]:
    """Fill the survey records and rebuild the per-department and per-worker rollups of the
    loaded demo on ``conn`` (the caller commits); returns the rows written per table.

    ``territory`` and ``now`` are the load's (unused: everything follows from the loaded
    tickets, tasks and events); the same ``seed`` gives the same records.
    """
    from queries.analytics.rollup_build import (
        rebuild_surveys_from_events,
        rebuild_task_worker_rollups,
    )

    del territory, now
    t0 = time.perf_counter()
    rows = {
        "survey": rebuild_surveys_from_events(
            conn,
            seed=(seed ^ SURVEY_SALT) & 0x7FFF_FFFF,
            channel_mix=CHANNEL_MIX,
            comments=UNSATISFIED_COMMENTS,
        )
    }
    rows.update(rebuild_task_worker_rollups(conn, settings.timezone))
    echo(
        f"surveys and per-department/per-worker rollups: {rows['survey']:,} surveys,"
        f" {rows['stat_task_daily']:,} + {rows['stat_worker_daily']:,} rollup rows"
        f" ({time.perf_counter() - t0:.1f} s)"
    )
    return rows
