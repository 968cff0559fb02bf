"""Coverage simplification keeps neighbours edge to edge: no gaps, no overlaps (unit tier, on a
synthetic Voronoi coverage; the db tier checks every level of the demo)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from domain.geo.coverage import TOLERANCE_DEG, simplify_coverage


def wiggly_coverage(n: int = 60, seed: int = 3) -> np.ndarray:
    """A Voronoi coverage of a box with densified (wiggly) shared edges, in degrees."""
    rng = np.random.default_rng(seed)
    box = shapely.box(120.70, 30.70, 120.76, 30.75)
    pts = shapely.multipoints(
        np.column_stack([rng.uniform(120.70, 120.76, n), rng.uniform(30.70, 30.75, n)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=box))
    cells = shapely.intersection(cells, box)
    cells = shapely.segmentize(cells, 0.00005)

    def jitter(xy: np.ndarray) -> np.ndarray:  # same vertex -> same jitter on both sides
        return xy + 0.00001 * np.sin(xy[:, ::-1] * 4e4)

    cells = shapely.transform(cells, jitter)
    return np.asarray(shapely.set_precision(cells, 1e-9), dtype=object)


@pytest.mark.parametrize("level", list(TOLERANCE_DEG))
def test_no_gaps_or_overlaps_after_simplification(level: str):
    cov = wiggly_coverage()
    assert shapely.coverage_is_valid(cov)
    out = simplify_coverage(cov, TOLERANCE_DEG[level])
    union = shapely.union_all(out)
    total = float(np.sum(shapely.area(out)))
    # No overlaps: the parts add up to their union; no gaps: the union is one piece covering the
    # original outline (its boundary is simplified too, hence a tolerance on the area).
    assert total == pytest.approx(union.area, rel=1e-9)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert union.area == pytest.approx(shapely.union_all(cov).area, rel=0.02)
    assert shapely.coverage_is_valid(out)
    assert int(shapely.get_num_coordinates(out).sum()) <= int(
        shapely.get_num_coordinates(cov).sum()
    )


def test_an_invalid_coverage_is_simplified_one_by_one_and_said(caplog):
    a, b = shapely.box(0, 0, 1, 1), shapely.box(0.5, 0, 1.5, 1)  # overlapping
    out = simplify_coverage(np.array([a, b], dtype=object), 0.01)
    assert len(out) == 2
    assert "not a valid coverage" in caplog.text
