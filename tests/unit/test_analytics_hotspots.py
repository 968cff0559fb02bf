"""The hotspot panel's pure parts: the Poisson tail and the flagging rule
(domain/analytics/hotspots.py), the recurring-place cells (domain/analytics/recurring.py), the
baseline periods, and what the panel shows to viewers of each tier (dashboard/analytics)."""

from __future__ import annotations

import json
import math
import random
from datetime import date

import pytest
from dash._utils import to_json
from hypothesis import given
from hypothesis import strategies as st

from dashboard.analytics import hotspots as panel
from domain.analytics import hotspots as hs
from domain.analytics.periods import Period, parse_period
from domain.analytics.recurring import Cell, merge_cells, metres_per_degree
from queries.analytics.hotspots import assess_grids, baseline_periods


def upper_tail_by_sum(x: int, lam: float) -> float:
    """P(X ≥ x) by summing the pmf from x upwards (in log space, 2,000 terms)."""
    return math.fsum(
        math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1)) for k in range(x, x + 2000)
    )


# ---- the Poisson tail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, lam, expected",
    [
        (1, 1.0, 1 - math.exp(-1)),
        (2, 1.0, 1 - 2 * math.exp(-1)),
        (3, 2.0, 1 - math.exp(-2) * (1 + 2 + 2)),
        (1, 1e-9, -math.expm1(-1e-9)),
    ],
)
def test_poisson_tail_matches_closed_forms(x, lam, expected):
    assert hs.poisson_upper_tail(x, lam) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "x, lam",
    [(5, 2.0), (10, 10.0), (3, 10.0), (30, 10.0), (50, 50.0), (100, 20.0), (60, 40.0), (7, 0.3)],
)
def test_poisson_tail_matches_the_summed_pmf(x, lam):
    assert hs.poisson_upper_tail(x, lam) == pytest.approx(upper_tail_by_sum(x, lam), rel=1e-9)


def test_tiny_tails_do_not_underflow_to_zero_early():
    # P(X ≥ 100 | 20) ≈ 3.49e-37: 1 − CDF would give rounding noise (~1e-15), not this.
    assert hs.poisson_upper_tail(100, 20.0) == pytest.approx(3.4888786696896e-37, rel=1e-9)


def test_poisson_tail_edges():
    assert hs.poisson_upper_tail(0, 5.0) == 1.0
    assert hs.poisson_upper_tail(-3, 5.0) == 1.0
    assert hs.poisson_upper_tail(1, 0.0) == 0.0
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="Poisson mean"):
            hs.poisson_upper_tail(3, bad)


@given(st.integers(1, 400), st.floats(0.01, 300))
def test_poisson_tail_is_a_probability_and_falls_with_the_count(x, lam):
    p, p_next = hs.poisson_upper_tail(x, lam), hs.poisson_upper_tail(x + 1, lam)
    assert 0.0 <= p_next <= p <= 1.0


def test_regularized_gamma_special_cases():
    for x in (0.1, 1.0, 2.5, 10.0):
        assert hs.regularized_lower_gamma(1.0, x) == pytest.approx(-math.expm1(-x), rel=1e-12)
        assert hs.regularized_lower_gamma(0.5, x) == pytest.approx(math.erf(math.sqrt(x)))
    with pytest.raises(ValueError):
        hs.regularized_lower_gamma(0, 1.0)


# ---- the baseline and the rule ------------------------------------------------------------


def test_baseline_is_a_daily_rate_with_half_a_ticket_of_prior():
    assert hs.baseline_rate([10, 20], [30, 30], 30) == pytest.approx((30 + 0.5) / 60 * 30)
    # A 28-day February counts as much per day as a 31-day month.
    assert hs.baseline_rate([28], [28], 31) == pytest.approx(28.5 / 28 * 31)
    assert hs.baseline_rate([0, 0, 0], [30, 30, 30], 30) == pytest.approx(0.5 / 3)
    with pytest.raises(ValueError):
        hs.baseline_rate([], [], 30)


@given(st.integers(0, 500), st.integers(2, 24))
def test_a_flat_series_is_never_flagged(level, periods):
    expected = hs.baseline_rate([level] * periods, [30] * periods, 30)
    assert not hs.assess(level, expected, 0.001).flagged


def test_poisson_noise_around_a_flat_rate_is_rarely_flagged():
    rng = random.Random(12)

    def draw(lam: float) -> int:  # Knuth's method, enough for λ = 20
        k, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1

    counts, expected = [], []
    for _ in range(5000):
        expected.append(hs.baseline_rate([draw(20.0) for _ in range(6)], [30] * 6, 30))
        counts.append(draw(20.0))
    tests = hs.assess_many(counts, expected, 0.001)
    # The batch agrees with one-by-one tests.
    singles = [hs.assess(c, e, 0.001) for c, e in zip(counts[:50], expected[:50], strict=True)]
    assert tests[:50] == singles
    flagged = sum(t.flagged for t in tests)
    # α = 0.001 would give ~5; the estimated baseline adds a little (7 with this seed).
    assert flagged <= 12


def test_a_threefold_jump_is_flagged():
    expected = hs.baseline_rate([10] * 6, [30] * 6, 30)
    t = hs.assess(30, expected, 0.001)
    assert t.flagged and t.ratio == pytest.approx(30 / expected)
    assert t.p < 1e-5 and t.z > 5


def test_small_counts_are_not_flagged_even_when_tripled():
    # 2 → 6 tickets: three times the baseline, p ≈ 0.02, far from significant.
    t = hs.assess(6, hs.baseline_rate([2] * 6, [30] * 6, 30), 0.001)
    assert t.ratio > 2.5 and not t.flagged
    # From nothing to 4 is significant but under the minimum count.
    t = hs.assess(4, hs.baseline_rate([0] * 6, [30] * 6, 30), 0.001)
    assert t.p < 0.001 and not t.flagged


def test_significant_but_small_rises_are_not_flagged():
    # A busy grid 20 % up: p < 0.001, ratio 1.2 < 1.5.
    t = hs.assess(1200, hs.baseline_rate([1000] * 6, [30] * 6, 30), 0.001)
    assert t.p < 0.001 and not t.flagged


def test_benjamini_hochberg():
    assert hs.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx(
        [0.02, 0.04, 0.04, 0.02]
    )
    assert hs.benjamini_hochberg([]) == []


def test_assess_grids_tests_every_grid_and_counts_silent_grids_in_q():
    periods = [parse_period("2026-10"), *baseline_periods(parse_period("2026-10"), 6)]
    counts = {"g1": [30] + [10] * 6, "g2": [10] * 7}
    out = {code: (t, q) for code, t, q in assess_grids(counts, periods, 0.001, 100)}
    assert out["g1"][0].flagged and not out["g2"][0].flagged
    # 100 grids in scope, 98 without tickets: q = p × 100 / 1 for the smallest p.
    assert out["g1"][1] == pytest.approx(out["g1"][0].p * 100)


def test_baseline_periods_are_cut_like_this_one():
    cut = Period("month", date(2026, 11, 1), date(2026, 11, 25), date(2026, 11, 30))
    before = baseline_periods(cut, 6)
    assert [p.key for p in before] == [
        "2026-10",
        "2026-09",
        "2026-08",
        "2026-07",
        "2026-06",
        "2026-05",
    ]
    assert all(p.start.day == 1 and p.end.day == 25 for p in before)


# ---- recurring places ---------------------------------------------------------------------


def test_metres_per_degree():
    lon, lat = metres_per_degree(0.0)
    assert lon == pytest.approx(111_319.5, abs=1) and lat == pytest.approx(110_574, abs=1)
    lon, lat = metres_per_degree(30.75)  # Jiaxing
    assert lon == pytest.approx(95_801, rel=2e-3) and lat == pytest.approx(110_863, rel=1e-3)
    with pytest.raises(ValueError):
        metres_per_degree(91)


def test_merge_takes_the_neighbours_of_the_fullest_cell_only():
    cells = [
        Cell("0901", 0, 0, 3),
        Cell("0901", 1, 0, 5),  # seed: takes (0,0) and (2,0)
        Cell("0901", 2, 0, 4),
        Cell("0901", 3, 0, 3),  # neighbour of (2,0) only: not chained
        Cell("0902", 1, 1, 3),  # another category next door: its own place
    ]
    places = merge_cells(cells)
    assert [(p.category, p.tickets, len(p.cells)) for p in places] == [
        ("0901", 12, 3),
        ("0901", 3, 1),
        ("0902", 3, 1),
    ]
    assert places[0].cells[0] == Cell("0901", 1, 0, 5)
    assert merge_cells([]) == []


def test_a_dense_quarter_does_not_chain_into_one_place():
    cells = [Cell("0901", x, y, 3) for x in range(30) for y in range(30)]
    places = merge_cells(cells)
    assert max(len(p.cells) for p in places) <= 9
    assert sum(p.tickets for p in places) == 3 * 900


# ---- the panel ----------------------------------------------------------------------------

ADDRESS = "瓶山社区育才路157号"


def data(category: str = "0901") -> dict:
    item = {
        "grid": "330402007029004",
        "name": "瓶山社区第4网格",
        "town": "建设街道",
        "count": 48,
        "expected": 9.58,
        "ratio": 5.01,
        "p": 1e-18,
        "q": 1e-16,
        "z": 12.4,
    }
    square = [[[120.74, 30.75], [120.75, 30.75], [120.75, 30.76], [120.74, 30.75]]]
    return {
        "period": "2026-11",
        "rule": {
            "alpha": 0.001,
            "baseline_periods": 6,
            "min_count": 5,
            "min_ratio": 1.5,
            "radius_m": 50.0,
            "days": 90,
            "min": 3,
        },
        "hotspots": {
            "tested": 74,
            "total": 1,
            "items": [item],
            "geojson": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": square},
                        "properties": item,
                    }
                ],
            },
        },
        "recurring": {
            "window": {"start": "2026-08-27", "end": "2026-11-25"},
            "total": 1,
            "tickets": 28,
            "items": [
                {
                    "category": category,
                    "category_name": "占道经营",
                    "count": 28,
                    "first": "2026-10-02",
                    "last": "2026-11-23",
                    "grid": "330402007029004",
                    "grid_name": "瓶山社区第4网格",
                    "address": ADDRESS,
                    "lat": 30.757739,
                    "lon": 120.747273,
                    "anchor": [30.757372, 120.747961],
                }
            ],
        },
        "map": {
            "crs": "wgs84",
            "basemap_url": "",
            "bounds": [[30.73, 120.72], [30.78, 120.77]],
            "outline": {
                "level": "community",
                "geojson": {"type": "FeatureCollection", "features": []},
            },
        },
    }


def shown(component) -> str:
    """The component tree as readable JSON text (Dash's encoder escapes '/' and '<')."""
    return json.dumps(json.loads(to_json(component)), ensure_ascii=False)


def view(tier: str, period: str = "2026-11") -> dict:
    return {"area": "", "period": period, "scale": 1.0, "tier": tier, "may_export": True}


def test_below_l3_a_place_is_its_grid_and_its_circle_sits_on_the_anchor():
    text = shown(panel.render(data(), view("L2")))
    assert ADDRESS not in text and "30.757739" not in text
    assert "30.757372" in text and "瓶山社区第4网格" in text


def test_from_l3_the_address_and_the_place_are_shown():
    text = shown(panel.render(data(), view("L3")))
    assert ADDRESS in text and "30.757739" in text


def test_a_sensitive_category_needs_l4_for_its_place():
    assert "30.757739" not in shown(panel.render(data("0501"), view("L3")))
    assert "30.757739" in shown(panel.render(data("0501"), view("L4")))


def test_rows_link_to_explore_with_area_category_and_period():
    text = shown(panel.render(data(), view("L3")))
    assert "/explore?area=330402007029004" in text
    assert "cat=0901" in text and "2026-08-27" in text and "2026-11-25" in text
    assert "sit-hotspots-map" in text


def test_a_flag_chance_could_explain_is_marked():
    assert "is-chance" not in shown(panel.render(data(), view("L2")))
    chancy = data()
    chancy["hotspots"]["items"][0]["q"] = 1.0
    text = shown(panel.render(chancy, view("L2")))
    assert "is-chance" in text and "偶然" in text


@pytest.mark.parametrize(
    "bad_data, bad_view",
    [
        ({}, view("L2")),
        (None, view("L2")),
        ({"hotspots": None, "recurring": 5}, view("L2")),
        (
            {
                "hotspots": {
                    "items": [None, 3],
                    "geojson": {"features": [None, {"properties": 5}]},
                },
                "recurring": {"items": "x"},
                "map": {"bounds": 7},
            },
            view("L2"),
        ),
        (data(), view("L9")),
        (data(), view("L2", period="2026-13")),
        (data(), None),
        (data(), {"period": "2026-11", "scale": "big"}),
    ],
)
def test_bad_input_gives_a_panel_not_an_error(bad_data, bad_view):
    out = panel.render(bad_data, bad_view)
    assert out.id == "sit-hotspots-panel"
    to_json(out)
