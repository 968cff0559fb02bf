"""The workbench's filter state without a database: the query string round trip
(domain.explore.filters), the quick periods (domain.explore.periods) and what one click or
choice does to the filters (dashboard.explore.navigate)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.explore import navigate as nav
from domain.explore.filters import (
    CLOCK_NAMES_ZH,
    DEFAULT_SORT,
    FLAG_NAMES_ZH,
    MAX_POLYGON_POINTS,
    SORTS,
    STAGES,
    STATES,
    SUPERVISION_NAMES_ZH,
    Filters,
    encode,
    parse,
)
from domain.explore.periods import (
    CUSTOM,
    DEFAULT_PERIOD,
    MAX_SPAN_DAYS,
    PERIODS,
    QUICK_NAMES_ZH,
    day_bounds,
    local_day,
    quick_range,
)
from domain.vocabulary import SOURCES, URGENCIES

SH = ZoneInfo("Asia/Shanghai")

# ---- strategies: Filters built from valid values, in canonical (sorted, unique) form --------


def _subset(values) -> st.SearchStrategy[tuple]:
    return st.lists(st.sampled_from(sorted(values)), unique=True, max_size=4).map(
        lambda xs: tuple(sorted(xs))
    )


_micro = st.integers(-180_000_000, 180_000_000)  # micro-degrees: what a URL keeps (1e-6°)
_micro_lat = st.integers(-90_000_000, 90_000_000)
# A region, grid or micro-grid code: the permissive code rule (letters, digits, '_', '-')
_area = st.from_regex(r"\A[0-9A-Za-z_-]{1,32}\Z").filter(lambda c: any(x.isalnum() for x in c))
_cat = st.from_regex(r"\A[0-9]{2}([0-9]{2})?\Z")
# A source system's own type: any printable text (commas too: Open311 service names have them)
# without edge whitespace.
_stype = (
    st.text(
        st.characters(whitelist_categories=("L", "N", "P", "S", "Zs")),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def _bbox(draw) -> tuple[float, float, float, float]:
    w, e = sorted(draw(st.lists(_micro, min_size=2, max_size=2, unique=True)))
    s, n = sorted(draw(st.lists(_micro_lat, min_size=2, max_size=2, unique=True)))
    return (w / 1e6, s / 1e6, e / 1e6, n / 1e6)


_point = st.tuples(_micro.map(lambda v: v / 1e6), _micro_lat.map(lambda v: v / 1e6))


@st.composite
def _period(draw) -> dict:
    period = draw(st.sampled_from(PERIODS))
    if period != CUSTOM:
        return {"period": period}
    start = draw(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
    end = start + timedelta(days=draw(st.integers(0, MAX_SPAN_DAYS - 1)))
    return {"period": CUSTOM, "start": start, "end": end}


@st.composite
def filters(draw) -> Filters:
    return Filters(
        area=draw(st.one_of(st.just(""), _area)),
        cat=tuple(sorted(draw(st.lists(_cat, unique=True, max_size=5)))),
        stype=tuple(sorted(draw(st.lists(_stype, unique=True, max_size=3)))),
        **draw(_period()),
        basis=draw(st.sampled_from(("created", "closed"))),
        state=draw(_subset(STATES)),
        stage=draw(_subset(STAGES)),
        source=draw(_subset(SOURCES)),
        urgency=draw(_subset(URGENCIES)),
        clock=draw(_subset(CLOCK_NAMES_ZH)),
        sup=draw(_subset(SUPERVISION_NAMES_ZH)),
        flag=draw(_subset(FLAG_NAMES_ZH)),
        dept=tuple(sorted(draw(st.lists(st.integers(0, 2**62), unique=True, max_size=4)))),
        bbox=draw(st.none() | _bbox()),
        poly=draw(st.none() | st.lists(_point, min_size=3, max_size=12, unique=True).map(tuple)),
        sort=draw(st.sampled_from([*SORTS, *("-" + s for s in SORTS)])),
        ticket=draw(st.none() | st.integers(0, 2**62 - 1)),
    )


# ---- round trip -------------------------------------------------------------------------------


@settings(max_examples=300)
@given(filters())
def test_encode_then_parse_gives_the_same_filters(f):
    got, problems = parse(encode(f))
    assert problems == []
    assert got == f
    # the leading '?' of location.search is accepted too
    assert parse("?" + encode(f)) == (f, [])


@settings(max_examples=200)
@given(filters(), st.randoms(use_true_random=False))
def test_encode_is_canonical_whatever_the_order_of_values(f, rnd):
    """One view, one URL: the order in which values were chosen does not show in the URL."""
    shuffled = {}
    for name in ("cat", "stype", "state", "stage", "source", "urgency", "clock", "sup", "flag"):
        vals = list(getattr(f, name))
        rnd.shuffle(vals)
        shuffled[name] = tuple(vals)
    g = f.with_(**shuffled)
    assert encode(g) == encode(f)
    assert parse(encode(g))[0] == f


def test_defaults_encode_to_nothing_and_drawer_is_optional():
    assert encode(Filters()) == ""
    assert parse("") == (Filters(), [])
    f = Filters(area="330402007", ticket=42)
    assert "ticket=42" in encode(f)
    assert "ticket" not in encode(f, drawer=False)
    assert parse(encode(f, drawer=False))[0] == f.with_(ticket=None)


def test_a_mapping_of_parameters_parses_like_the_query_string():
    q = "area=330402007&cat=09,0301&period=last_quarter&clock=closed_late&sort=-closed_at"
    f, problems = parse(q)
    assert problems == []
    assert f == Filters(
        area="330402007",
        cat=("09", "0301"),
        period="last_quarter",
        clock=("closed_late",),
        sort="-closed_at",
    )
    g, problems = parse(
        {
            "area": "330402007",
            "cat": ["09", "0301"],
            "period": "last_quarter",
            "clock": "closed_late",
            "sort": "-closed_at",
        }
    )
    assert problems == [] and g == f
    # repeated parameters add up, duplicates count once
    assert parse("state=closed&state=surveyed,closed")[0].state == ("closed", "surveyed")


# ---- bad values: named, left out, never fatal ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("foo=1", "foo"),
        ("from=2026-13-01&to=2026-12-01", "from"),  # not a date
        ("from=yesterday&to=2026-12-01", "from"),
        ("from=2026-01-01", "from"),  # half a range
        ("to=2026-01-01", "from"),
        ("period=custom", "from"),
        ("from=2026-12-01&to=2026-11-01", "to"),  # from > to
        (f"from=2020-01-01&to={date(2020, 1, 1) + timedelta(days=MAX_SPAN_DAYS)}", "to"),
        ("period=fortnight", "period"),
        ("basis=updated", "basis"),
        ("cat=1", "cat"),
        ("cat=123", "cat"),
        ("cat=ab", "cat"),
        ("cat=09011", "cat"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=3,2,1,4", "bbox"),  # west > east
        ("bbox=1,4,3,2", "bbox"),  # south > north
        ("bbox=1,1,1,2", "bbox"),  # zero width
        ("bbox=0,0,200,1", "bbox"),
        ("bbox=0,-91,1,1", "bbox"),
        ("bbox=nan,0,1,1", "bbox"),
        ("bbox=0,0,inf,1", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("poly=1,2,3,4", "poly"),  # two points
        ("poly=1,2,3,4,5,6,7", "poly"),  # odd number of numbers
        ("poly=0,0,1,1,200,0", "poly"),
        ("poly=0,0,1,95,1,0", "poly"),
        ("poly=0,0,1,x,1,0", "poly"),
        ("poly=" + ",".join(["1,1"] * (MAX_POLYGON_POINTS + 1)), "poly"),
        ("clock=late", "clock"),
        ("state=open", "state"),
        ("stage=T9", "stage"),
        ("source=fax", "source"),
        ("urgency=high", "urgency"),
        ("flag=lost", "flag"),
        ("sup=4", "sup"),
        ("sup=x", "sup"),
        ("dept=-1", "dept"),
        ("dept=x", "dept"),
        (f"dept={2**62 + 1}", "dept"),
        ("area=网格", "area"),
        ("area=a b", "area"),
        ("area=" + "1" * 33, "area"),
        ("area=3304%27--", "area"),
        ("area=-", "area"),
        ("area=_-_", "area"),
        ("sort=password", "sort"),
        ("ticket=abc", "ticket"),
        ("ticket=-1", "ticket"),
        (f"ticket={2**62}", "ticket"),
    ],
)
def test_a_bad_value_is_named_and_left_out(query, param):
    f, problems = parse(query)
    assert [p.param for p in problems] == [param], problems
    assert all(p.message for p in problems)
    assert f == Filters()  # nothing of the bad parameter was applied


def test_good_values_beside_bad_ones_still_apply():
    f, problems = parse("clock=late,overdue&state=closed,open&cat=09,9&area=330402007&x=1")
    assert f == Filters(area="330402007", cat=("09",), state=("closed",), clock=("overdue",))
    assert sorted(p.param for p in problems) == ["cat", "clock", "state", "x"]


def test_too_many_values_are_cut_and_named():
    f, problems = parse("state=" + ",".join(STATES * 5))
    assert f.state == STATES  # duplicates count once
    f, problems = parse("dept=" + ",".join(str(i) for i in range(80)))
    assert len(f.dept) == 50


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_query_string(q):
    f, problems = parse(q)
    assert isinstance(f, Filters) and isinstance(problems, list)
    # what parse kept always has a URL that parses back to a view without problems
    g, again = parse(encode(f))
    assert encode(g) == encode(f)


_PARAMS = [
    "area",
    "cat",
    "stype",
    "period",
    "from",
    "to",
    "start",
    "end",
    "basis",
    "state",
    "stage",
    "source",
    "urgency",
    "clock",
    "sup",
    "flag",
    "dept",
    "bbox",
    "poly",
    "sort",
    "ticket",
    "junk",
]
_TOKENS = st.one_of(
    st.sampled_from(
        [
            "",
            ",",
            "-1",
            "0",
            "3",
            "09",
            "0901",
            "2026-02-29",
            "2024-02-29",
            "2026-11-01",
            "custom",
            "month",
            "closed",
            "overdue",
            "T5",
            "1e400",
            "nan",
            "120.5,30.5,120.6,30.6",
            "0,0,1,0,1,1",
            "-created_at",
            "\x00",
            "%ZZ",
        ]
    ),
    st.text(max_size=12),
)


@settings(max_examples=500)
@given(
    st.dictionaries(
        st.sampled_from(_PARAMS), st.one_of(_TOKENS, st.lists(_TOKENS, max_size=3)), max_size=8
    )
)
def test_parse_never_raises_on_any_mapping(raw):
    f, problems = parse(raw)
    assert isinstance(f, Filters)
    assert all(p.param and p.message for p in problems)
    assert parse(encode(f))[1] == []


def test_a_clicked_source_type_with_a_comma_survives_the_url():
    f = nav.toggle(Filters(), "stype", "Graffiti, Tags")
    assert f.stype == ("Graffiti, Tags",)
    assert parse(encode(f)) == (f, [])
    assert parse("stype=a,b&stype=c")[0].stype == ("a,b", "c")


def test_source_type_with_a_comma_survives_the_url():
    """Source types are free text of the source system (Boston TYPE, Open311 service_name);
    one with a comma in it must come back as one value, not two."""
    f = Filters(stype=("Graffiti, Tags",))
    assert parse(encode(f)) == (f, [])


# ---- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "today", "expected"),
    [
        # a Wednesday in November (the demo's end)
        ("today", date(2026, 11, 25), (date(2026, 11, 25), date(2026, 11, 25))),
        ("week", date(2026, 11, 25), (date(2026, 11, 23), date(2026, 11, 25))),
        ("month", date(2026, 11, 25), (date(2026, 11, 1), date(2026, 11, 25))),
        ("last_month", date(2026, 11, 25), (date(2026, 10, 1), date(2026, 10, 31))),
        ("quarter", date(2026, 11, 25), (date(2026, 10, 1), date(2026, 11, 25))),
        ("last_quarter", date(2026, 11, 25), (date(2026, 7, 1), date(2026, 9, 30))),
        ("year", date(2026, 11, 25), (date(2026, 1, 1), date(2026, 11, 25))),
        ("last_year_same", date(2026, 11, 25), (date(2025, 11, 1), date(2025, 11, 25))),
        ("30d", date(2026, 11, 25), (date(2026, 10, 27), date(2026, 11, 25))),
        ("365d", date(2026, 11, 25), (date(2025, 11, 26), date(2026, 11, 25))),
        # Monday and Sunday: a week runs Monday to today
        ("week", date(2026, 11, 23), (date(2026, 11, 23), date(2026, 11, 23))),
        ("week", date(2026, 11, 29), (date(2026, 11, 23), date(2026, 11, 29))),
        # New Year's Day (a Friday in 2027): the week, month, quarter and year boundaries
        ("today", date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 1))),
        ("week", date(2027, 1, 1), (date(2026, 12, 28), date(2027, 1, 1))),
        ("month", date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 1))),
        ("last_month", date(2027, 1, 1), (date(2026, 12, 1), date(2026, 12, 31))),
        ("quarter", date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 1))),
        ("last_quarter", date(2027, 1, 1), (date(2026, 10, 1), date(2026, 12, 31))),
        ("year", date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 1))),
        ("last_year_same", date(2027, 1, 1), (date(2026, 1, 1), date(2026, 1, 1))),
        ("30d", date(2027, 1, 1), (date(2026, 12, 3), date(2027, 1, 1))),
        ("365d", date(2027, 1, 1), (date(2026, 1, 2), date(2027, 1, 1))),
        # New Year's Eve
        ("last_quarter", date(2026, 12, 31), (date(2026, 7, 1), date(2026, 9, 30))),
        ("quarter", date(2026, 12, 31), (date(2026, 10, 1), date(2026, 12, 31))),
        ("year", date(2026, 12, 31), (date(2026, 1, 1), date(2026, 12, 31))),
        # 29 February (a leap year's; a year before has no 29th)
        ("month", date(2028, 2, 29), (date(2028, 2, 1), date(2028, 2, 29))),
        ("last_month", date(2028, 2, 29), (date(2028, 1, 1), date(2028, 1, 31))),
        ("last_month", date(2028, 3, 1), (date(2028, 2, 1), date(2028, 2, 29))),
        ("last_month", date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),
        ("last_year_same", date(2028, 2, 29), (date(2027, 2, 1), date(2027, 2, 28))),
        ("last_year_same", date(2029, 2, 28), (date(2028, 2, 1), date(2028, 2, 28))),
        ("30d", date(2028, 3, 1), (date(2028, 2, 1), date(2028, 3, 1))),
        ("365d", date(2028, 2, 29), (date(2027, 3, 2), date(2028, 2, 29))),
        ("week", date(2028, 2, 29), (date(2028, 2, 28), date(2028, 2, 29))),  # a Tuesday
        ("quarter", date(2028, 2, 29), (date(2028, 1, 1), date(2028, 2, 29))),
        ("last_quarter", date(2028, 4, 1), (date(2028, 1, 1), date(2028, 3, 31))),
    ],
)
def test_quick_range(period, today, expected):
    assert quick_range(period, today) == expected


@settings(max_examples=300)
@given(st.sampled_from(tuple(QUICK_NAMES_ZH)), st.dates(date(1901, 1, 1), date(2099, 12, 31)))
def test_quick_ranges_are_ordered_and_end_by_today(period, today):
    first, last = quick_range(period, today)
    assert first <= last <= today
    assert (last - first).days < MAX_SPAN_DAYS
    if period not in ("last_month", "last_quarter", "last_year_same"):
        assert last == today


@pytest.mark.parametrize("period", [CUSTOM, "fortnight", ""])
def test_quick_range_refuses_what_is_not_a_quick_period(period):
    with pytest.raises(ValueError, match="unknown period"):
        quick_range(period, date(2026, 11, 25))


def test_local_day_and_day_bounds_follow_the_time_zone():
    # 16:30 UTC is already the next day in Shanghai (UTC+8)
    assert local_day(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), SH) == date(2027, 1, 1)
    start, end = day_bounds(date(2026, 11, 1), date(2026, 11, 30), SH)
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    # a day of 23 hours (spring forward): bounds are local midnights, not 24 h steps
    ny = ZoneInfo("America/New_York")
    start, end = day_bounds(date(2026, 3, 8), date(2026, 3, 8), ny)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)


# ---- navigate: one click or choice -------------------------------------------------------------

F0 = Filters(area="330402007", state=("closed",), cat=("03",))


@pytest.mark.parametrize(
    ("dim", "value", "field", "expected"),
    [
        ("state", "surveyed", "state", ("closed", "surveyed")),
        ("state", "closed", "state", ()),  # a second click removes it
        ("stage", "T5", "stage", ("T5",)),
        ("source", "hotline", "source", ("hotline",)),
        ("urgency", "urgent", "urgency", ("urgent",)),
        ("clock", "closed_late", "clock", ("closed_late",)),
        ("sup", 2, "sup", (2,)),
        ("sup", "3", "sup", (3,)),  # chart payloads arrive as text
        ("dept", "17", "dept", (17,)),
        ("flag", "reworked", "flag", ("reworked",)),
        ("stype", "Street Lights", "stype", ("Street Lights",)),
        ("cat", "09", "cat", ("03", "09")),
        ("cat", "03", "cat", ()),
    ],
)
def test_toggle_adds_and_removes_a_value(dim, value, field, expected):
    f = nav.toggle(F0, dim, value)
    assert getattr(f, field) == expected
    # nothing else moved
    assert f.with_(**{field: getattr(F0, field)}) == F0


def test_toggle_narrows_a_major_to_its_minor_and_back():
    f = Filters(cat=("09", "03"))
    f = nav.toggle(f, "cat", "0901")  # a minor under a chosen major narrows to the minor
    assert f.cat == ("03", "0901")
    f = nav.toggle(f, "cat", "0902")  # another minor of the same major adds to it
    assert f.cat == ("03", "0901", "0902")
    f = nav.toggle(f, "cat", "09")  # the major again widens back, dropping its minors
    assert f.cat == ("03", "09")
    f = nav.toggle(f, "cat", "0301")
    assert f.cat == ("09", "0301")
    f = nav.toggle(f, "cat", "0301")  # removing the minor leaves no 03 at all
    assert f.cat == ("09",)


MALFORMED = [
    None,
    "",
    nav.NONE,
    True,
    False,
    [],
    {},
    ["closed"],
    {"v": 1},
    "x" * 201,
    float("nan"),
]


@pytest.mark.parametrize("dim", ["state", "stage", "source", "urgency", "clock", "flag"])
@pytest.mark.parametrize("value", [*MALFORMED, "nonsense", "CLOSED", 3])
def test_toggle_ignores_malformed_values_of_text_dimensions(dim, value):
    assert nav.toggle(F0, dim, value) == F0
    assert nav.remove(F0, dim, value) == F0


@pytest.mark.parametrize(
    ("dim", "value"),
    [
        ("cat", "9"),
        ("cat", "090"),
        ("cat", "09011"),
        ("cat", "ab"),
        ("cat", 9),
        ("cat", None),
        ("cat", nav.NONE),
        ("sup", 4),
        ("sup", -1),
        ("sup", "x"),
        ("sup", "1.5"),
        ("sup", None),
        ("sup", True),
        ("dept", -1),
        ("dept", 2**62),
        ("dept", "x"),
        ("dept", None),
        ("dept", nav.NONE),
        ("dept", [1]),
        ("stype", nav.NONE),
        ("stype", None),
        ("stype", 5),
        ("stype", "x" * 201),
        ("nonsense", "closed"),
        ("area", "330402007"),  # not a facet: the area has its own function
    ],
)
def test_toggle_ignores_malformed_values(dim, value):
    assert nav.toggle(F0, dim, value) == F0


@pytest.mark.parametrize(
    ("dim", "value"),
    [
        ("cat", "０９"),  # full-width digits: str.isdigit() says yes, the URL says no
        ("sup", 1.5),  # int(1.5) == 1: a fractional level is not a level
        ("dept", 3.7),
        ("stype", ""),  # an empty type cannot be written to the URL
    ],
)
def test_toggle_ignores_values_the_url_cannot_carry(dim, value):
    """Whatever a click adds must survive the URL (the page state lives there); a value that
    would not is malformed and changes nothing."""
    f = nav.toggle(F0, dim, value)
    assert f == F0, f"toggle({dim!r}, {value!r}) changed the filters to {f}"


def test_remove_each_kind_of_filter():
    f = Filters(
        area="330402007",
        cat=("03", "0901"),
        period=CUSTOM,
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        basis="closed",
        state=("closed", "surveyed"),
        sup=(1, 2),
        dept=(5,),
        bbox=(120.0, 30.0, 121.0, 31.0),
        poly=((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)),
    )
    assert nav.remove(f, "area").area == ""
    g = nav.remove(f, "period")
    assert (g.period, g.start, g.end) == (DEFAULT_PERIOD, None, None)
    g = nav.remove(f, "geo")
    assert (g.bbox, g.poly) == (None, None)
    assert nav.remove(f, "basis").basis == "created"
    assert nav.remove(f, "cat", "0901").cat == ("03",)
    assert nav.remove(f, "state", "closed").state == ("surveyed",)
    assert nav.remove(f, "sup", "2").sup == (1,)
    assert nav.remove(f, "dept", 5).dept == ()
    assert nav.remove(f, "dept", 6) == f  # not there: nothing to remove
    assert nav.remove(f, "nonsense", 1) == f
    assert nav.remove(f, "cat", "zz") == f


def test_period_choice():
    f = Filters(period=CUSTOM, start=date(2026, 1, 1), end=date(2026, 1, 2))
    g = nav.period(f, "last_quarter")
    assert (g.period, g.start, g.end) == ("last_quarter", None, None)
    for bad in (CUSTOM, "fortnight", None, "", 3, ["month"]):
        assert nav.period(f, bad) == f


def test_days_from_the_date_picker():
    f = Filters()
    g = nav.days(f, "2026-02-01", "2026-02-28")
    assert (g.period, g.start, g.end) == (CUSTOM, date(2026, 2, 1), date(2026, 2, 28))
    # the picker may send datetimes: the day is what counts
    g = nav.days(f, "2026-02-01T00:00:00", "2026-02-28T00:00:00")
    assert (g.start, g.end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert nav.days(f, "2024-02-29", "2024-02-29").start == date(2024, 2, 29)
    far = date(2020, 1, 1) + timedelta(days=MAX_SPAN_DAYS - 1)
    assert nav.days(f, "2020-01-01", far.isoformat()).end == far
    for a, b in [
        ("2026-02-28", "2026-02-01"),  # reversed
        ("2020-01-01", (date(2020, 1, 1) + timedelta(days=MAX_SPAN_DAYS)).isoformat()),
        ("2026-02-30", "2026-03-01"),
        (None, "2026-03-01"),
        ("2026-03-01", None),
        ("", ""),
        ("yesterday", "today"),
        ([], {}),
    ]:
        assert nav.days(f, a, b) == f, (a, b)


def test_chart_day_daily_and_weekly():
    f = Filters(period="year", area="330402007")
    g = nav.chart_day(f, "2026-11-23", weekly=False)
    assert (g.period, g.start, g.end, g.area) == (
        CUSTOM,
        date(2026, 11, 23),
        date(2026, 11, 23),
        "330402007",
    )
    g = nav.chart_day(f, "2026-11-23", weekly=True)  # a week's bar: Monday to Sunday
    assert (g.start, g.end) == (date(2026, 11, 23), date(2026, 11, 29))
    g = nav.chart_day(f, "2026-12-28T00:00:00", weekly=True)  # plotly sends datetimes
    assert (g.start, g.end) == (date(2026, 12, 28), date(2027, 1, 3))
    g = nav.chart_day(f, "2028-02-26", weekly=True)
    assert (g.start, g.end) == (date(2028, 2, 26), date(2028, 3, 3))
    # the result is a valid URL state
    assert parse(encode(g)) == (g, [])
    for bad in (None, "", "not a day", "2026-02-30", [], {}):
        assert nav.chart_day(f, bad, weekly=True) == f


def test_chart_day_at_the_end_of_the_calendar_changes_nothing():
    """A bar payload the browser sent that is a valid date but leaves no room for its week
    must not raise (a callback error) but change nothing."""
    f = Filters()
    try:
        g = nav.chart_day(f, "9999-12-30", weekly=True)
    except OverflowError as exc:
        pytest.fail(f"chart_day('9999-12-30', weekly=True) raised {exc!r}")
    assert g == f


def test_area_click():
    f = Filters(area="330402007", state=("closed",))
    assert nav.area(f, "330402007024001").area == "330402007024001"
    assert nav.area(f, "a_b-C9").area == "a_b-C9"
    assert nav.area(f, None).area == ""
    assert nav.area(f, "").area == ""
    for bad in (3304, ["3304"], {"code": "3304"}, "3304 OR 1=1", "3304'--", "-", "a/b"):
        assert nav.area(f, bad) == f, bad


@pytest.mark.parametrize("code", ["网格", "３３０４", "3304²", "1" * 33])
def test_area_click_takes_only_what_the_url_can_carry(code):
    """A click's area must be one parse accepts back from the URL: a code with characters
    outside the code rule (or longer than it) is malformed and changes nothing, rather than
    being cut or carried into the URL, where it is then refused."""
    f = Filters(area="330402007")
    g = nav.area(f, code)
    assert g == f, f"area({code!r}) set area={g.area!r}"


def test_ticket_open():
    f = Filters(area="330402007")
    assert nav.ticket(f, 42).ticket == 42
    assert nav.ticket(f, "42").ticket == 42
    for bad in (0, -1, "x", None, [], {}, 2**62, "4.2"):
        assert nav.ticket(f, bad) == f, bad


@pytest.mark.parametrize("bad", [True, 4.2])
def test_ticket_open_refuses_non_integers(bad):
    """A bool or a fractional number is not a ticket id (int(True) == 1, int(4.2) == 4)."""
    f = Filters(area="330402007")
    assert nav.ticket(f, bad) == f


def _feature(ring, kind=None):
    props = {"type": kind} if kind else {}
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def _fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


RECT = [[120.7, 30.7], [120.8, 30.7], [120.8, 30.8], [120.7, 30.8], [120.7, 30.7]]
TRIANGLE = [[120.7, 30.7], [120.8, 30.7], [120.75, 30.8], [120.7, 30.7]]


def test_drawn_rectangle_becomes_a_box():
    f = Filters(poly=((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)))
    g = nav.drawn(f, _fc(_feature(RECT, "rectangle")))
    assert g.bbox == (120.7, 30.7, 120.8, 30.8) and g.poly is None
    # an axis-aligned four-cornered ring is a box even without the "rectangle" property
    assert nav.drawn(f, _fc(_feature(RECT))).bbox == (120.7, 30.7, 120.8, 30.8)
    # the ring's starting corner and direction do not matter
    ring = [[120.8, 30.8], [120.8, 30.7], [120.7, 30.7], [120.7, 30.8]]
    assert nav.drawn(f, _fc(_feature(ring))).bbox == (120.7, 30.7, 120.8, 30.8)


def test_drawn_polygon_becomes_a_polygon_and_the_last_shape_wins():
    f = Filters(bbox=(0.0, 0.0, 1.0, 1.0))
    g = nav.drawn(f, _fc(_feature(TRIANGLE)))
    assert g.poly == ((120.7, 30.7), (120.8, 30.7), (120.75, 30.8)) and g.bbox is None
    g = nav.drawn(f, _fc(_feature(TRIANGLE), _feature(RECT, "rectangle")))
    assert g.bbox == (120.7, 30.7, 120.8, 30.8) and g.poly is None
    # a third coordinate (altitude) is ignored
    ring3 = [[x, y, 5.0] for x, y in TRIANGLE]
    assert nav.drawn(f, _fc(_feature(ring3))).poly == ((120.7, 30.7), (120.8, 30.7), (120.75, 30.8))
    # the result is a valid URL state
    h = nav.drawn(Filters(), _fc(_feature(TRIANGLE)))
    assert parse(encode(h)) == (h, [])


def test_drawn_nothing_clears_the_area_drawn():
    f = Filters(bbox=(0.0, 0.0, 1.0, 1.0), state=("closed",))
    for empty in (None, {}, _fc()):
        g = nav.drawn(f, empty)
        assert (g.bbox, g.poly, g.state) == (None, None, ("closed",))


GARBAGE = [
    _fc(None),
    _fc({}),
    _fc({"geometry": None}),
    _fc({"geometry": {"type": "Point", "coordinates": [120.7, 30.7]}}),
    _fc({"geometry": {"type": "LineString", "coordinates": RECT}}),
    _fc({"geometry": {"type": "Polygon"}}),
    _fc({"geometry": {"type": "Polygon", "coordinates": []}}),
    _fc({"geometry": {"type": "Polygon", "coordinates": [[]]}}),
    _fc({"geometry": {"type": "Polygon", "coordinates": [[[1, 2], [3]]]}}),
    _fc({"geometry": {"type": "Polygon", "coordinates": [[1, 2, 3]]}}),
    _fc({"geometry": {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4]]]}}),
    _fc({"geometry": {"type": "Polygon", "coordinates": "[[[1,2],[3,4],[5,6]]]"}}),
    _fc(_feature([[0, 0], [1, 1], [0, 0]])),  # two points
    _fc(_feature([[0, 0], [1, 1], [200, 0], [0, 0]])),  # off the globe
    _fc(_feature([[0, 0], [1, 91], [1, 0], [0, 0]])),
    _fc(_feature([[0, 0], [float("nan"), 1], [1, 0], [0, 0]])),
    _fc(_feature([[0, 0], [float("inf"), 1], [1, 0], [0, 0]])),
    _fc(_feature([[i / 1000, (i % 2) / 1000] for i in range(MAX_POLYGON_POINTS + 2)])),
]


@pytest.mark.parametrize("payload", GARBAGE, ids=range(len(GARBAGE)))
def test_drawn_garbage_changes_nothing(payload):
    f = Filters(bbox=(0.0, 0.0, 1.0, 1.0), state=("closed",))
    assert nav.drawn(f, payload) == f


BROKEN = [
    "garbage",
    42,
    {"features": "abc"},
    {"features": [1]},
    {"features": [{"geometry": "Polygon"}]},
    {
        "features": [
            {"properties": "rectangle", "geometry": {"type": "Polygon", "coordinates": [RECT]}}
        ]
    },
]


@pytest.mark.parametrize("payload", BROKEN, ids=range(len(BROKEN)))
def test_drawn_payloads_of_the_wrong_shape_change_nothing(payload):
    """The module promises "anything malformed changes nothing": payloads that are not a
    GeoJSON FeatureCollection of objects must neither raise (a callback error) nor clear the
    area already drawn."""
    f = Filters(bbox=(0.0, 0.0, 1.0, 1.0), state=("closed",))
    try:
        g = nav.drawn(f, payload)
    except Exception as exc:  # noqa: BLE001 - the assertion names what went wrong
        pytest.fail(f"drawn({payload!r}) raised {exc!r}")
    assert g == f, f"drawn({payload!r}) changed the filters to {g}"


@settings(max_examples=300)
@given(
    st.sampled_from(
        [
            "state",
            "stage",
            "source",
            "urgency",
            "clock",
            "sup",
            "dept",
            "cat",
            "stype",
            "flag",
            "area",
            "x",
        ]
    ),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=8),
        st.sampled_from([*STATES, *STAGES, *SOURCES, "09", "0901", "3"]),
    ),
)
def test_toggle_and_remove_never_raise_and_keep_filters_valid(dim, value):
    for f in (Filters(), F0):
        g = nav.toggle(f, dim, value)
        h = nav.remove(g, dim, value)
        for x in (g, h):
            assert isinstance(x, Filters)
            assert x.sort == DEFAULT_SORT
