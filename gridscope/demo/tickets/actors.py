"""Who acts on each ticket: the grid worker, a centre operator and the departments."""

from __future__ import annotations

import numpy as np

from gridscope.demo.tickets.context import Context
from gridscope.demo.tickets.numeric import draw_from_pool
from gridscope.demo.tickets.schema import NAT


class People:
    """Per-ticket actors: the grid worker, a centre operator and the departments."""

    def __init__(self, rng, ctx: Context, mg, major, n):
        grid = ctx.mg_grid[mg]
        self.worker = draw_from_pool(rng, ctx.worker_offsets, ctx.worker_pool, grid)
        if ctx.centre_pool.size:
            self.centre = ctx.centre_pool[rng.integers(0, ctx.centre_pool.size, n)]
        else:
            self.centre = np.full(n, NAT, dtype=np.int64)
        self.lead1 = draw_from_pool(rng, ctx.dept_offsets, ctx.dept_pool, major)
        self.source_dept = draw_from_pool(rng, ctx.dept_offsets, ctx.dept_pool, major)
        # Re-dispatch after a return goes to another department.
        pool = ctx.all_depts
        pos = np.searchsorted(pool, self.lead1)
        pos = np.where(
            (pos < pool.size) & (pool[np.minimum(pos, pool.size - 1)] == self.lead1), pos, 0
        )
        step = 1 + rng.integers(0, max(pool.size - 1, 1), n)
        self.lead2 = pool[(pos + step) % pool.size] if pool.size > 1 else self.lead1.copy()
        self.pool = pool


def assist_departments(rng, pool, lead, count):
    """``count`` (0–2) distinct assisting departments per ticket, none of them the lead."""
    n = lead.size
    pos = np.searchsorted(pool, lead)
    pos = np.minimum(pos, pool.size - 1)
    m = max(pool.size - 1, 1)
    r1 = rng.integers(0, m, n)
    r2 = (r1 + 1 + rng.integers(0, max(m - 1, 1), n)) % m
    a1 = pool[(pos + 1 + r1) % pool.size]
    a2 = pool[(pos + 1 + r2) % pool.size]
    count = np.where(pool.size >= 3, count, np.minimum(count, pool.size - 1))
    return a1, a2, count
