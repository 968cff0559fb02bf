"""The demo's parameters: volumes, mixes, rhythms and the chances of each turn of the loop.

These are the simulator's knobs, not rules: the rules (sources, urgencies, limits, states) come
from ``domain``. Per-source tables are keyed by the names in ``domain.vocabulary.FIELD_SOURCES``.
"""

from __future__ import annotations

from domain.vocabulary import EXCLUSIVE_KIND_NAMES_ZH

# Ticket mixes differ by grid class: urban or rural comprehensive grids, or the exclusive kind.
GRID_CLASSES: tuple[str, ...] = ("urban", "rural", *EXCLUSIVE_KIND_NAMES_ZH)

# Relative ticket volume per household-weighted micro-grid, by grid class.
CLASS_BASE = (1.0, 0.5, 0.8, 1.2, 0.9, 0.6, 2.0, 0.7, 0.4, 1.0, 0.6)
# Source mix by grid class (patrol, hotline, app, department, video): patrol ~60 %.
CLASS_SOURCES = {
    "urban": (0.56, 0.27, 0.09, 0.04, 0.04),
    "rural": (0.70, 0.20, 0.05, 0.04, 0.01),
}
EXCLUSIVE_SOURCES = (0.55, 0.22, 0.08, 0.10, 0.05)
# Category mix (01 02 03 04 05 06 07 08 09 99) by grid class.
CLASS_MIX = {
    "urban": (4, 6, 12, 14, 8, 14, 5, 0.5, 34, 3),
    "rural": (5, 12, 8, 14, 16, 22, 5, 0.8, 10, 4),
    "school": (6, 3, 6, 4, 3, 35, 30, 1, 8, 4),
    "hospital": (3, 3, 20, 8, 8, 35, 10, 1, 8, 4),
    "industrial_park": (4, 6, 5, 3, 12, 50, 6, 1, 10, 3),
    "enterprise": (4, 6, 5, 3, 12, 45, 6, 1, 14, 4),
    "market": (3, 3, 8, 3, 8, 25, 6, 0.5, 40, 3),
    "office": (5, 5, 10, 5, 6, 30, 8, 0.5, 25, 5),
    "government": (10, 5, 20, 10, 10, 20, 10, 0.5, 10, 5),
    "scenic": (3, 2, 10, 3, 5, 30, 10, 1, 33, 3),
    "other": (4, 6, 12, 14, 8, 14, 5, 0.5, 34, 3),
}
# Month multipliers per major category: flood season (梅雨 June–July, typhoons July–September)
# for 06/08, summer street order for 09, wage disputes before the Spring Festival for 05.
SEASON = {
    "01": (1.0, 1.0, 1.2, 1.0, 1.0, 1.3, 1.0, 1.0, 1.0, 1.0, 1.2, 1.0),
    "05": (1.4, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.3),
    "06": (1.0, 0.8, 0.8, 0.9, 1.0, 1.6, 1.9, 1.7, 1.2, 0.9, 0.9, 1.0),
    "08": (0.6, 0.6, 0.7, 0.8, 1.0, 1.6, 2.0, 2.0, 1.4, 0.8, 0.6, 0.6),
    "09": (0.8, 0.7, 0.9, 1.0, 1.1, 1.3, 1.4, 1.4, 1.2, 1.0, 0.9, 0.8),
}
MONTH_VOLUME = (0.9, 0.8, 0.95, 1.0, 1.05, 1.15, 1.2, 1.2, 1.05, 1.0, 0.95, 0.9)
SPRING_FESTIVAL_FACTOR = 0.5
GROWTH = 0.12  # volume at the end of the window relative to its start, minus one
# Hour-of-day profiles (local time) per source, 00–11 h then 12–23 h.
# fmt: off
HOURLY = {
    "patrol": (
        0, 0, 0, 0, 0, 0, 0, 0.05, 0.6, 1.6, 1.8, 1.2,
        0.2, 0.6, 1.5, 1.6, 1.1, 0.4, 0.05, 0.05, 0.03, 0, 0, 0,
    ),
    "hotline": (
        0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.4, 1.8, 1.8, 1.5,
        1.0, 1.1, 1.5, 1.5, 1.4, 1.2, 1.0, 1.1, 1.0, 0.8, 0.5, 0.25,
    ),
    "app": (
        0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 1.2, 1.2, 1.1,
        1.0, 1.0, 1.1, 1.1, 1.1, 1.1, 1.2, 1.4, 1.4, 1.2, 0.8, 0.4,
    ),
    "department": (
        0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1.5, 1.6, 1.0,
        0.1, 0.5, 1.4, 1.5, 1.1, 0.3, 0, 0, 0, 0, 0, 0,
    ),
    "video": (
        0.4, 0.3, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.0, 1.1, 1.1, 1.1,
        1.0, 1.0, 1.1, 1.1, 1.1, 1.1, 1.0, 1.0, 0.9, 0.8, 0.6, 0.5,
    ),
}
# fmt: on
# Day factor on days off (weekends and holidays) per source.
DAY_OFF = {"patrol": 0.3, "hotline": 0.85, "app": 1.0, "department": 0.05, "video": 1.0}
# Per major category: urgent share, patrol self-resolution share (小事不出网格).
URGENT_P = {
    "01": 0.01,
    "02": 0.0,
    "03": 0.03,
    "04": 0.02,
    "05": 0.04,
    "06": 0.08,
    "07": 0.06,
    "08": 0.5,
    "09": 0.03,
    "99": 0.02,
}
SELF_RESOLVE_P = {
    "01": 0.85,
    "02": 0.85,
    "03": 0.3,
    "04": 0.5,
    "05": 0.55,
    "06": 0.4,
    "07": 0.45,
    "08": 0.05,
    "09": 0.6,
    "99": 0.5,
}
MAJOR_ONLY_P = 0.08  # share of tickets filed under the major category only
REJECT_P = {"patrol": 0.01, "hotline": 0.04, "app": 0.05, "department": 0.01, "video": 0.03}
NEED_INFO_P = {"patrol": 0.01, "hotline": 0.02, "app": 0.05, "department": 0.01, "video": 0.02}
SUPPLY_P = 0.9  # need_info tickets whose reporter answers
ESCALATE_P = 0.025
RETURN_P = 0.04
ASSIST_P = 0.10
EXTENSION_P, EXTENSION_APPROVE_P = 0.03, 0.85
SUSPEND_P, RESUME_P = 0.01, 0.5
REWORK_P, REWORK_AGAIN_P = 0.04, 0.15
SURVEY_P, SURVEY_SELF_RESOLVED_P = 0.85, 0.3
# Handling (T5) duration as a fraction of the limit: median and share past the limit.
T5_MEDIAN, T5_LATE = 0.45, 0.11
