"""Splitting polygons into Voronoi cells of density-weighted k-means seeds."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gridscope.demo.territory.frame import Density


def sample_batch(
    parents: NDArray,
    m: NDArray,
    rngs: list[np.random.Generator],
    density: Density | None,
    alpha: float,
) -> list[NDArray]:
    """About m[i] points inside parents[i], drawn with probability ∝ density**alpha.

    Rejection sampling in rounds; each parent draws only from its own generator, so its
    points do not depend on the other parents. The point-in-polygon tests of a round run as
    one vectorised shapely call.
    """
    p_count = len(parents)
    bounds = shapely.bounds(parents)
    box_area = np.maximum((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-12)
    accept = np.clip(shapely.area(parents) / box_area, 0.05, 1.0)
    have = np.zeros(p_count, dtype=np.int64)
    wmax = np.full(p_count, np.nan)
    chunks: list[list[NDArray]] = [[] for _ in range(p_count)]
    use_density = density is not None and alpha > 0
    shapely.prepare(parents)
    for _ in range(40):
        todo = np.flatnonzero(have < m)
        if todo.size == 0:
            break
        k = np.clip(np.ceil(1.6 * (m[todo] - have[todo]) / accept[todo]), 32, 400_000)
        k = k.astype(np.int64)
        xs, ys, us = [], [], []
        for i, ki in zip(todo.tolist(), k.tolist(), strict=True):
            rng = rngs[i]
            xs.append(rng.uniform(bounds[i, 0], bounds[i, 2], ki))
            ys.append(rng.uniform(bounds[i, 1], bounds[i, 3], ki))
            if use_density:
                us.append(rng.random(ki))
        owner = np.repeat(todo, k)
        x, y = np.concatenate(xs), np.concatenate(ys)
        keep = shapely.contains_xy(parents[owner], x, y)
        if use_density:
            u = np.concatenate(us)[keep]
            x, y, owner = x[keep], y[keep], owner[keep]
            w = density(x, y) ** alpha
            first = np.isnan(wmax)
            np.fmax.at(wmax, owner[first[owner]], w[first[owner]])
            keep = u * wmax[owner] < w
        x, y, owner = x[keep], y[keep], owner[keep]
        got = np.bincount(owner, minlength=p_count)
        drawn = np.zeros(p_count)
        drawn[todo] = k
        ratio = np.divide(got, drawn, out=np.zeros(p_count), where=drawn > 0)
        accept[todo] = np.clip(ratio[todo], 0.01, 1.0)
        starts = np.searchsorted(owner, todo)
        stops = np.searchsorted(owner, todo, side="right")
        for i, a, b in zip(todo.tolist(), starts.tolist(), stops.tolist(), strict=True):
            if b > a:
                chunks[i].append(np.column_stack((x[a:b], y[a:b])))
        have += got
    out = []
    for i in range(p_count):
        pts = np.concatenate(chunks[i]) if chunks[i] else np.zeros((0, 2))
        out.append(pts[: m[i]])
    return out


def kmeans_batch(
    samples: list[NDArray], counts: NDArray, rngs: list[np.random.Generator], iters: int = 12
) -> list[NDArray]:
    """k-means centres per parent (k-means++ start, Lloyd iterations), batched and padded."""
    out: list[NDArray] = []
    kmax = int(counts.max())
    mmax = max(len(s) for s in samples)
    chunk = max(1, 3_000_000 // max(mmax * kmax, 1))
    for lo in range(0, len(samples), chunk):
        part = samples[lo : lo + chunk]
        n = counts[lo : lo + chunk].astype(np.int64)
        b = len(part)
        pts = np.zeros((b, mmax, 2))
        cnt = np.array([len(s) for s in part])
        valid = np.arange(mmax)[None, :] < cnt[:, None]
        for r, s in enumerate(part):
            pts[r, : len(s)] = s
        # One uniform draw per centre from each parent's own generator; (0, 1] avoids picking
        # a point with zero weight in the k-means++ step.
        u = np.stack([1.0 - rngs[lo + r].random(kmax) for r in range(b)])
        rows = np.arange(b)
        centres = np.zeros((b, kmax, 2))
        first = np.minimum((u[:, 0] * cnt).astype(np.int64), cnt - 1)
        centres[:, 0] = pts[rows, first]
        d2 = np.where(valid, ((pts - centres[:, :1]) ** 2).sum(-1), 0.0)
        for k in range(1, kmax):
            cs = np.cumsum(d2, axis=1)
            j = np.minimum((cs < (u[:, k] * cs[:, -1])[:, None]).sum(axis=1), cnt - 1)
            centres[:, k] = pts[rows, j]
            new = np.where(valid, ((pts - centres[:, k : k + 1]) ** 2).sum(-1), 0.0)
            d2 = np.where((n > k)[:, None], np.minimum(d2, new), d2)
        live = np.arange(kmax)[None, :] < n[:, None]
        flat_base = (rows * kmax)[:, None]
        for _ in range(iters):
            # |p − c|² without the |p|² term, which does not change the argmin.
            dist = (centres**2).sum(-1)[:, None, :] - 2 * np.matmul(pts, centres.transpose(0, 2, 1))
            dist[~np.broadcast_to(live[:, None, :], dist.shape)] = np.inf
            lab = (dist.argmin(-1) + flat_base)[valid]
            sx = np.bincount(lab, weights=pts[..., 0][valid], minlength=b * kmax)
            sy = np.bincount(lab, weights=pts[..., 1][valid], minlength=b * kmax)
            c = np.bincount(lab, minlength=b * kmax)
            ok = (c > 0).reshape(b, kmax)
            mean = np.column_stack((sx / np.maximum(c, 1), sy / np.maximum(c, 1)))
            centres = np.where(ok[..., None], mean.reshape(b, kmax, 2), centres)
        out.extend(centres[r, : n[r]] for r in range(b))
    return out


def partition(
    parents: NDArray,
    counts: NDArray,
    rngs: list[np.random.Generator],
    density: Density | None,
    alpha: float,
    per_child: int,
) -> tuple[NDArray, NDArray, NDArray]:
    """Split each parent polygon into counts[i] Voronoi cells of k-means seeds.

    Seeds are k-means centres of about per_child·counts[i] points sampled inside the parent
    with probability ∝ density**alpha, so cells hold similar "population". Returns (child
    polygons, parent index per child, seed xy per child), children grouped by parent in
    parent order. Children of one parent tile it exactly (up to float rounding); stray
    fragments of a cell are merged into the sibling they share most border with.
    """
    counts = np.asarray(counts, dtype=np.int64)
    parent_idx = np.repeat(np.arange(len(parents)), counts)
    multi = counts > 1
    sel = np.flatnonzero(multi)
    seeds: list[NDArray] = [np.zeros((0, 2))] * len(parents)
    if sel.size:
        sub_rngs = [rngs[i] for i in sel]
        samples = sample_batch(parents[sel], per_child * counts[sel], sub_rngs, density, alpha)
        for i, s in zip(sel, samples, strict=True):
            if len(s) < counts[i]:
                raise RuntimeError(f"cannot place {counts[i]} seeds in unit {i}")
        for i, c in zip(sel, kmeans_batch(samples, counts[sel], sub_rngs), strict=True):
            seeds[i] = c
    single = np.flatnonzero(~multi)
    if single.size:
        reps = shapely.point_on_surface(parents[single])
        for i, x, y in zip(single, shapely.get_x(reps), shapely.get_y(reps), strict=True):
            seeds[i] = np.array([[x, y]])
    xy = np.concatenate(seeds)
    children = np.empty(len(xy), dtype=object)
    children[np.searchsorted(parent_idx, single)] = parents[single]
    if sel.size:
        child_sel = multi[parent_idx]
        mps = shapely.multipoints(
            xy[child_sel], indices=np.searchsorted(sel, parent_idx[child_sel])
        )
        env = shapely.buffer(shapely.envelope(parents[sel]), 1.0, join_style="mitre")
        vor = shapely.voronoi_polygons(mps, extend_to=env, ordered=True)
        cells = shapely.get_parts(vor)
        if len(cells) != child_sel.sum():
            raise RuntimeError(f"voronoi returned {len(cells)} cells, expected {child_sel.sum()}")
        children[child_sel] = shapely.intersection(cells, parents[parent_idx[child_sel]])
    children = polygonal(children)
    _merge_fragments(children, parent_idx)
    if (shapely.area(children) <= 0).any():
        raise RuntimeError("empty unit in partition")
    return children, parent_idx, xy


def polygonal(geoms: NDArray) -> NDArray:
    """Keep only the polygonal parts of each geometry (as Polygon or MultiPolygon)."""
    out = geoms.copy()
    types = shapely.get_type_id(out)
    for i in np.flatnonzero((types != 3) & (types != 6)):
        parts = [
            p for p in shapely.get_parts(shapely.make_valid(out[i])) if p.geom_type == "Polygon"
        ]
        out[i] = shapely.MultiPolygon(parts) if parts else shapely.Polygon()
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = [polygonal(np.array([shapely.make_valid(g)]))[0] for g in out[bad]]
    return out


def _merge_fragments(children: NDArray, parent_idx: NDArray) -> None:
    """Move the minor parts of multi-part cells into the sibling with the longest shared edge.

    A Voronoi cell clipped to a non-convex parent can fall apart; the minor pieces usually
    sit in a bay of the parent next to another sibling. Pieces touching no sibling stay.
    """
    multi = np.flatnonzero(shapely.get_num_geometries(children) > 1)
    for i in multi:
        parts = sorted(shapely.get_parts(children[i]), key=lambda p: -p.area)
        kept = [parts[0]]
        sib = np.flatnonzero((parent_idx == parent_idx[i]) & (np.arange(len(children)) != i))
        for part in parts[1:]:
            shared = shapely.length(shapely.intersection(part.boundary, children[sib]))
            if len(sib) and shared.max() > 0:
                j = sib[int(np.argmax(shared))]
                children[j] = polygonal(np.array([shapely.union(children[j], part)]))[0]
            else:
                kept.append(part)
        children[i] = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
