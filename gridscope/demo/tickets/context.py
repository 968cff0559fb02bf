"""The territory, the item list and the people as flat arrays the simulation indexes into."""

from __future__ import annotations

import logging
import math

import numpy as np
import pyarrow as pa
import shapely

from domain.categories import CATEGORIES, MAJOR_CODES
from domain.clock.work_calendar import WorkCalendar
from domain.vocabulary import STAFF_ROLES
from gridscope.demo.model import Territory
from gridscope.demo.people import CENTRE_OPERATOR, GRID_INSTRUCTOR
from gridscope.demo.tickets.numeric import csr
from gridscope.demo.tickets.params import (
    CLASS_BASE,
    CLASS_MIX,
    CLASS_SOURCES,
    EXCLUSIVE_SOURCES,
    GRID_CLASSES,
    MAJOR_ONLY_P,
    SEASON,
    SELF_RESOLVE_P,
    URGENT_P,
)
from gridscope.demo.tickets.texts import ROADS, templates_for

log = logging.getLogger(__name__)


class Context:
    """Territory, categories and people as flat arrays."""

    def __init__(self, t: Territory, cal: WorkCalendar, by_category, rng):
        grids = t.grids.reset_index(drop=True)
        mgs = t.micro_grids.reset_index(drop=True)
        grid_pos = {c: i for i, c in enumerate(grids["code"].astype(str))}
        self.grid_codes = grids["code"].astype(str).to_numpy()
        self.mg_codes = mgs["code"].astype(str).to_numpy()
        self.mg_grid = np.array([grid_pos[c] for c in mgs["grid_code"].astype(str)], np.int64)
        self.mg_geoms = np.asarray(mgs.geometry.values, dtype=object)
        shapely.prepare(self.mg_geoms)
        self.mg_bounds = shapely.bounds(self.mg_geoms)

        # Grid class: urban/rural comprehensive, or the exclusive kind.
        kind = grids["exclusive_kind"].astype(object).where(grids["exclusive_kind"].notna(), None)
        urban = grids["urban"].astype(bool).to_numpy()
        cls_of_grid = np.array(
            [
                GRID_CLASSES.index(k)
                if k in GRID_CLASSES
                else GRID_CLASSES.index("other")
                if k is not None
                else (0 if u else 1)
                for k, u in zip(kind, urban, strict=True)
            ],
            dtype=np.int64,
        )
        self.mg_class = cls_of_grid[self.mg_grid]

        # Micro-grid weights: class base × households × hotspot kernel.
        hh = mgs["households"].fillna(0).to_numpy(dtype=np.float64)
        hh_term = 0.3 + hh / max(hh.mean(), 1.0)
        cx = shapely.get_x(shapely.centroid(self.mg_geoms))
        cy = shapely.get_y(shapely.centroid(self.mg_geoms))
        kern = _hotspot_kernel(cx, cy, t.hotspots, rng)
        kern_term = 0.25 + kern / max(kern.mean(), 1e-12)
        w = np.asarray(CLASS_BASE)[self.mg_class] * hh_term * kern_term
        self.mg_weight = w / w.sum()

        # Addresses per micro-grid: community name + road + number, or village + group.
        communities = t.regions.loc[t.regions["level"] == "community"]
        comm_name = dict(
            zip(communities["code"].astype(str), communities["name"].astype(str), strict=True)
        )
        comm_of_grid = grids["community_code"].astype(str).to_numpy()
        prefixes = []
        road_pick = rng.integers(0, len(ROADS), size=len(self.mg_codes))
        group_pick = rng.integers(1, 13, size=len(self.mg_codes))
        for i, g in enumerate(self.mg_grid):
            name = comm_name.get(comm_of_grid[g], "")
            if urban[g] or self.mg_class[i] >= 2:
                prefixes.append(f"{name}{ROADS[road_pick[i]]}")
            else:
                prefixes.append(f"{name}{group_pick[i]}组")
        self.mg_address_prefix = pa.array(prefixes, pa.string())
        self.mg_urban = urban[self.mg_grid] | (self.mg_class >= 2)

        # Categories: majors and codes (major or minor) used on tickets.
        self.codes = tuple(c.code for c in CATEGORIES)
        self.code_pos = {c: i for i, c in enumerate(self.codes)}
        self.major_codes = MAJOR_CODES
        self.minors_of = [
            np.array([self.code_pos[c] for c in self.codes if len(c) == 4 and c[:2] == m], np.int64)
            for m in MAJOR_CODES
        ]
        self.urgent_p = np.array([URGENT_P[m] for m in MAJOR_CODES])
        self.self_resolve_p = np.array([SELF_RESOLVE_P[m] for m in MAJOR_CODES])
        mix = np.array([CLASS_MIX[c] for c in GRID_CLASSES], np.float64)  # class × major
        season = np.array([SEASON.get(m, (1.0,) * 12) for m in MAJOR_CODES]).T  # month × major
        self.category_probs = (mix[:, None, :] * season[None, :, :]).reshape(-1, len(MAJOR_CODES))
        self.class_sources = np.array(
            [CLASS_SOURCES.get(c, EXCLUSIVE_SOURCES) for c in GRID_CLASSES]
        )

        # People: workers per grid, centre operators, departments per major category.
        staff = t.staff
        a = t.assignments
        # Everyone on a grid's team patrols it except the instructor (a cadre who advises).
        worker_roles = set(STAFF_ROLES) - {GRID_INSTRUCTOR}
        a = a.loc[a["role"].isin(worker_roles) & a["grid_code"].astype(str).isin(grid_pos)]
        keys = np.array([grid_pos[c] for c in a["grid_code"].astype(str)], np.int64)
        self.worker_offsets, self.worker_pool = csr(
            keys, a["staff_id"].to_numpy(np.int64), len(self.grid_codes)
        )
        missing = int((np.diff(self.worker_offsets) == 0).sum())
        if missing:
            log.warning(
                "%d grids have no grid worker assigned: their events get no actor_id", missing
            )
        self.centre_pool = staff.loc[staff["role"] == CENTRE_OPERATOR, "id"].to_numpy(np.int64)
        if by_category is None:
            by_category = {}
            for dept_id, cats in zip(t.departments["id"], t.departments["categories"], strict=True):
                for c in cats or ():
                    by_category.setdefault(str(c)[:2], []).append(int(dept_id))
        deps = t.departments
        linked = deps.loc[deps["kind"].isin(["linked", "service_unit"]), "id"].to_numpy(np.int64)
        if linked.size == 0:
            linked = deps["id"].to_numpy(np.int64)
        if linked.size == 0:
            raise ValueError("the territory has no departments to dispatch tickets to")
        self.all_depts = np.unique(linked)
        lists = []
        for m in MAJOR_CODES:
            ids = sorted({int(i) for code, v in by_category.items() if code[:2] == m for i in v})
            if not ids:
                log.warning("no lead department for category %s: any linked department leads", m)
                ids = [int(i) for i in self.all_depts]
            lists.append(np.array(ids, np.int64))
        self.dept_offsets = np.concatenate([[0], np.cumsum([len(v) for v in lists])])
        self.dept_pool = np.concatenate(lists)

        # Descriptions: per-code template ranges in one flat array.
        texts, offsets = [], [0]
        for code in self.codes:
            pool = templates_for(code)
            texts.extend(pool)
            offsets.append(len(texts))
        self.templates = pa.array(texts, pa.string())
        self.template_offsets = np.array(offsets, np.int64)


def _hotspot_kernel(cx, cy, hotspots, rng) -> np.ndarray:
    """Σ weight × Gaussian(distance; σ 300–800 m) over hotspots, at the given lon/lat points."""
    if hotspots is None or len(hotspots) == 0:
        return np.ones(cx.size)
    hx = hotspots["x"].to_numpy(np.float64)
    hy = hotspots["y"].to_numpy(np.float64)
    hw = hotspots["weight"].to_numpy(np.float64)
    sigma = rng.uniform(300.0, 800.0, size=hx.size)
    m_per_deg_y = 111_320.0
    m_per_deg_x = m_per_deg_y * math.cos(math.radians(float(np.mean(cy))))
    out = np.zeros(cx.size)
    for lo in range(0, cx.size, 20_000):
        dx = (cx[lo : lo + 20_000, None] - hx[None, :]) * m_per_deg_x
        dy = (cy[lo : lo + 20_000, None] - hy[None, :]) * m_per_deg_y
        out[lo : lo + 20_000] = (hw * np.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))).sum(1)
    return out


def minor_for(rng, ctx: Context, major: np.ndarray) -> np.ndarray:
    """Category code index per ticket: a minor of the major, or the major itself."""
    out = np.array([ctx.code_pos[m] for m in MAJOR_CODES], np.int64)[major]
    u = rng.random(major.size)
    for m, minors in enumerate(ctx.minors_of):
        if minors.size == 0:
            continue
        sel = np.flatnonzero((major == m) & (u >= MAJOR_ONLY_P))
        out[sel] = minors[rng.integers(0, minors.size, size=sel.size)]
    return out
