"""Class breaks, legend labels and palettes of shaded layers; measure values of the grid layer
(moved here with the grid map from dashboard/screen/gridmap.py)."""

from __future__ import annotations

import json

from layers import classes, grids
from queries.geo_measures import UnitCounts


def test_count_breaks_are_ascending_nice_and_start_at_one():
    assert classes.count_breaks([]) == [1]
    assert classes.count_breaks([0, 0]) == [1]
    b = classes.count_breaks([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144])
    assert b[0] == 1 and b == sorted(set(b)) and len(b) <= 5
    assert all(x < 10 or str(x)[1:] == "0" * (len(str(x)) - 1) for x in b)


def test_fractional_breaks_start_at_the_smallest_value():
    b = classes.count_breaks([0.4, 2.5, 7.9, 13.0, 27.5])
    assert b[0] == 0.4 and b == sorted(set(b))


def test_legend_labels():
    assert classes.legend_labels([1, 3, 10]) == ["1–2", "3–9", "≥10"]
    assert classes.legend_labels([1, 2]) == ["1", "≥2"]
    assert classes.legend_labels([0.0, 0.6, 0.95], percent=True) == ["<60%", "60%–95%", "≥95%"]
    assert classes.legend_labels([0.5, 2]) == ["0.5–2", "≥2"]


def test_palettes_spread_low_to_high_and_reverse_for_rates():
    heat = classes.PALETTES["heat"]
    assert classes.class_colors(1) == [heat[0]]
    five = classes.class_colors(5)
    assert five[0] == heat[0] and five[-1] == heat[-1]
    both = classes.palette_colors(3, reverse=True)
    assert set(both) == set(classes.PALETTES)
    assert both["heat"][0] == heat[-1]


def test_measure_values_follow_gridscope_measures():
    c = UnitCounts(
        households=500, created=10, closed=8, closed_on_time=6, open=4, overdue=1, past_due=2
    )
    assert grids.measure_value("created", c) == 10
    assert grids.measure_value("open", c) == 4
    assert grids.measure_value("overdue", c) == 1
    assert grids.measure_value("closure_rate", c) == 0.8  # 8 / (8 + 2)
    assert grids.measure_value("on_time_rate", c) == 0.6  # 6 / (8 + 2)
    assert grids.measure_value("per_1000_households", c) == 20.0
    nothing = UnitCounts(0, 0, 0, 0, 0, 0, 0)
    assert grids.measure_value("closure_rate", nothing) is None  # "—", never 0 % or 100 %
    assert grids.measure_value("per_1000_households", nothing) is None


def test_shade_rates_use_fixed_breaks_and_mark_missing_as_no_data():
    rate = grids.shade({"a": 0.5, "b": 0.99}, "closure_rate")
    assert rate["breaks"] == list(classes.RATE_BREAKS)
    assert rate["missing"] == "nodata"
    assert len(rate["colors"]["heat"]) == len(rate["labels"]) == len(rate["breaks"])
    count = grids.shade({"a": 3, "b": 12}, "created")
    assert count["missing"] == "zero" and count["breaks"][0] == 1
    json.dumps(count)  # goes to the browser as JSON
