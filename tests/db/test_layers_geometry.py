"""The grid layer against the small demo in PostGIS + Redis: every level's simplified coverage
has no gaps or overlaps, payloads are small, values equal SQL, the scope is applied on the
server, geometry is cached in Redis and keyed by its signature (not the data version)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace

import geobuf
import numpy as np
import pytest
import shapely

from dashboard.map.payload import layer_payload
from domain.clock.now import FixedClock
from domain.config import Settings
from domain.geo.coverage import TOLERANCE_DEG, simplify_coverage
from layers.grid_geometry import level_geometry
from layers.registry import get
from queries.cache import Cache, bump_data_version
from queries.db import connect, make_pool
from queries.geo import LEVELS, level_units
from queries.scope import Scope
from queries.services import Services
from tests.conftest import DEMO_NOW, create_database, drop_database, settings_for

NOW = DEMO_NOW


@pytest.fixture(scope="module")
def small(small_demo_template: str) -> Iterator[Settings]:
    name = f"gs_test_{uuid.uuid4().hex[:10]}"
    create_database(name, template=small_demo_template)
    try:
        yield settings_for(name)
    finally:
        drop_database(name)


@pytest.fixture
def svc(small: Settings, redis_client) -> Iterator[Services]:
    pool = make_pool(small)
    pool.open(wait=True)
    cache = Cache.from_url(small.redis_url, 600, f"test-{uuid.uuid4().hex[:8]}")
    try:
        yield Services(small, pool, cache, Scope(""), FixedClock(NOW))
    finally:
        pool.close()


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_simplifies_without_gaps_or_overlaps(small: Settings, level: str):
    with connect(small) as conn:
        units = level_units(conn, Scope(""), level, NOW)
    geoms = shapely.from_wkb(np.array([u.wkb for u in units], dtype=object))
    out = simplify_coverage(geoms, TOLERANCE_DEG[level])
    total = float(np.sum(shapely.area(out)))
    union = shapely.union_all(out)
    # no overlaps: parts add up to their union; no gaps: the union keeps the original extent
    assert total == pytest.approx(union.area, rel=1e-6)
    assert union.area == pytest.approx(shapely.union_all(geoms).area, rel=0.03)
    assert sum(len(getattr(p, "interiors", [])) for p in shapely.get_parts(union)) == 0
    assert shapely.coverage_is_valid(out)


def test_geometry_is_compact_cached_and_keyed_by_signature(svc: Services, small: Settings):
    geo = level_geometry(svc, "grid", NOW)
    with connect(small) as conn:
        n = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
    assert geo.features == n
    assert len(geo.gz) <= 6_000, len(geo.gz)  # 64 grids: about 35 bytes each, gzipped
    fc = geobuf.decode(gzip.decompress(geo.gz))
    assert len(fc["features"]) == n
    assert set(fc["features"][0]["properties"]) == {"code", "name", "parent", "level"}
    # a ticket write bumps the data version, not the geometry version
    with connect(small) as conn:
        bump_data_version(conn)
        conn.commit()
    again = level_geometry(svc, "grid", NOW)
    assert again.version == geo.version and again.gz == geo.gz
    keys = list(svc.cache.client.scan_iter(f"*{svc.cache.namespace}:geo-units:*"))
    assert len(keys) == 1


def test_recolour_payload_is_values_only_and_equals_sql(svc: Services, small: Settings):
    spec = get("grids")
    body = layer_payload(svc, spec, {"level": "grid", "measure": "open"}, {}, NOW)
    assert len(gzip.compress(body)) <= 2_000
    p = json.loads(body)
    assert p["url"].startswith("/geo/units/grid.pbf?v=") and p["data"] is None
    assert "coordinates" not in body.decode()
    with connect(small) as conn:
        expected = dict(
            conn.execute(
                "SELECT grid_code, count(*) FROM ticket WHERE state NOT IN"
                " ('closed', 'surveyed', 'rejected', 'suspended') GROUP BY grid_code"
            ).fetchall()
        )
    assert p["hideout"]["values"] == expected
    h = p["hideout"]
    assert len(h["labels"]) == len(h["breaks"]) == len(h["colors"]["heat"])


def test_scope_is_applied_on_the_server(svc: Services, small: Settings):
    spec = get("grids")
    with connect(small) as conn:
        community = conn.execute(
            "SELECT code FROM region WHERE level = 'community' ORDER BY code LIMIT 1"
        ).fetchone()[0]
        other = conn.execute(
            "SELECT code FROM grid WHERE community_code <> %s ORDER BY code LIMIT 1", (community,)
        ).fetchone()[0]
        n = conn.execute(
            "SELECT count(*) FROM grid WHERE community_code = %s AND valid_to IS NULL",
            (community,),
        ).fetchone()[0]
    narrow = replace(svc, scope=Scope(community))
    geo = level_geometry(narrow, "grid", NOW)
    codes = {f["properties"]["code"] for f in geobuf.decode(gzip.decompress(geo.gz))["features"]}
    assert len(codes) == n and all(c.startswith(community) for c in codes)
    # a drill-down focus outside the jurisdiction is ignored, never widened
    p = json.loads(layer_payload(narrow, spec, {"level": "micro"}, {"focus": other}, NOW))
    assert p["hideout"]["focus"] is None
    assert all(c.startswith(community) for c in p["hideout"]["values"])
    with pytest.raises(ValueError):
        level_geometry(narrow, "micro", NOW, within=other)
