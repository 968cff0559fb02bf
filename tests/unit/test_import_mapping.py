"""Column mappings of the file imports: shipped mappings, strict loading, date parsing, the
source's own classification and the clock-skew tolerance."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from domain.workflow.rules import State
from gridscope.imports.mapping import (
    MappingError,
    load_grid_mapping,
    load_ticket_mapping,
    resolve_mapping,
    shipped_mappings,
)
from gridscope.imports.tickets import (
    TicketImportReport,
    default_rejects_path,
    ewkb_points,
    parse_dates,
)
from gridscope.imports.tickets.parse import Rows, parse

MINIMAL = """
name = "mini"
[columns]
external_id = "id"
created_at = "opened"
lat = "y"
lon = "x"
[category]
columns = ["kind"]
default = "99"
"""


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_mappings_load():
    assert {"boston311", "open311"} <= set(shipped_mappings())
    b = load_ticket_mapping("boston311")
    assert b.namespace == "boston311" and b.timezone == "America/New_York"
    assert b.columns["due_at"] == "TARGET_DT" and b.columns["closed_at"] == "CLOSED_DT"
    assert b.category.columns == ("TYPE", "REASON") and b.category.default == "99"
    assert b.state.closed == {"Closed"} and b.state.open_state == State.IN_PROGRESS
    assert b.placeholder_points == ((-71.0587, 42.3594),)
    assert "Street Lights" in b.category.values["REASON"]
    assert set(b.source.values.values()) <= {"hotline", "app", "department", "other"}
    o = load_ticket_mapping("open311")
    assert o.date_format == "ISO8601" and o.category.passthrough
    assert {"service_request_id", "requested_datetime", "lat", "long"} <= set(o.source_columns())
    # The source's own classification is declared like any other column.
    assert (b.columns["source_type"], b.columns["source_reason"]) == ("TYPE", "REASON")
    assert o.columns["source_type"] == "service_name" and "source_reason" not in o.columns
    assert "service_name" in o.source_columns()
    assert b.clock_skew_tolerance_s == o.clock_skew_tolerance_s == 300


def test_category_codes_of_shipped_mappings_are_in_the_item_list():
    from domain.categories import CATEGORY_BY_CODE

    for name in shipped_mappings():
        assert load_ticket_mapping(name).category_codes() <= set(CATEGORY_BY_CODE), name


def test_minimal_mapping_defaults(tmp_path):
    m = load_ticket_mapping(str(write(tmp_path, MINIMAL)))
    assert m.namespace == "mini" and m.encoding == "utf-8" and m.delimiter == ","
    assert m.date_format == "ISO8601" and m.timezone == "UTC"
    assert m.state.column is None and m.source.default == "import"
    assert m.urgency.default == "normal"
    assert m.source_columns() == ["id", "opened", "y", "x", "kind"]
    assert "source_type" not in m.columns and m.clock_skew_tolerance_s == 300


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'\n" + MINIMAL, "unknown key(s) in top level: colour"),
        (MINIMAL + "colour = 'red'\n", "unknown key(s) in [category]: colour"),
        (
            MINIMAL.replace('lat = "y"', 'lat = "y"\nlatitude = "y"'),
            "unknown key(s) in [columns]: latitude",
        ),
        (MINIMAL.replace('lon = "x"\n', ""), "[columns] must name lon"),
        (
            MINIMAL + "[state]\nopen_state = 'closed'\nclosed = ['C']\ncolumn = 's'\n",
            "open_state must be an open state",
        ),
        (MINIMAL + "[state]\nopen_state = 'flying'\n", "'flying' is not a state"),
        (MINIMAL + "[state]\ncolumn = 's'\nclosed = ['x']\nopen = ['x']\n", "both open and closed"),
        (MINIMAL + "[source]\ndefault = 'carrier pigeon'\n", "carrier pigeon"),
        (MINIMAL + "[dates]\ntimezone = 'Mars/Olympus'\n", "not a known time zone"),
        (MINIMAL + "[dates]\nformat = 'dd.mm.yyyy'\n", "strptime format"),
        (MINIMAL + "[file]\nencoding = 'klingon-8'\n", "not a known encoding"),
        (MINIMAL + "[coordinates]\nplaceholder_points = [[1]]\n", "[lon, lat] pairs"),
        (
            MINIMAL.replace(
                'columns = ["kind"]', 'columns = ["kind"]\n[category.values.other]\na = "01"'
            ),
            "columns not in category.columns: other",
        ),
        (MINIMAL.replace('default = "99"', "default = 99"), "must be a str"),
        (MINIMAL.replace('lat = "y"', 'lat = "y"\nsource_type = 3'), "columns.source_type must"),
        (
            MINIMAL.replace('lat = "y"', 'lat = "y"\nsource_kind = "TYPE"'),
            "unknown key(s) in [columns]: source_kind",
        ),
        (MINIMAL + "[dates]\nclock_skew_tolerance_s = -1\n", "between 0 and 3600 seconds"),
        (MINIMAL + "[dates]\nclock_skew_tolerance_s = 86400\n", "between 0 and 3600 seconds"),
        (MINIMAL + "[dates]\nclock_skew_tolerance_s = nan\n", "between 0 and 3600 seconds"),
        (MINIMAL + "[dates]\nclock_skew_tolerance_s = '5 min'\n", "must be a int/float"),
        (MINIMAL + "[dates]\nclock_skew_tolerance_s = true\n", "must be a int/float"),
        (MINIMAL + "[dates]\nclock_skew = 300\n", "unknown key(s) in [dates]: clock_skew"),
        ("name = [", "not valid TOML"),
    ],
)
def test_bad_mappings_are_refused_with_the_key(tmp_path, text, message):
    with pytest.raises(MappingError) as err:
        load_ticket_mapping(str(write(tmp_path, text)))
    assert message in str(err.value)


def test_resolve_mapping_names_and_paths(tmp_path):
    assert resolve_mapping("boston311").name == "boston311.toml"
    with pytest.raises(MappingError, match="shipped mappings are .*boston311"):
        resolve_mapping("chicago311")
    with pytest.raises(MappingError, match="does not exist"):
        resolve_mapping(str(tmp_path / "nope.toml"))


def test_grid_mapping(tmp_path):
    p = write(tmp_path, "[grids]\ncode_field = 'WARD'\ncode_width = 2\ngcj02 = true\n")
    assert load_grid_mapping(p).values == {"code_field": "WARD", "code_width": 2, "gcj02": True}
    with pytest.raises(MappingError, match="unknown key.*colour"):
        load_grid_mapping(write(tmp_path, "[grids]\ncolour = 'red'\n", "g.toml"))
    with pytest.raises(MappingError, match="must be a int"):
        load_grid_mapping(write(tmp_path, "[grids]\ncode_width = 'two'\n", "h.toml"))


def _utc(values):
    return [str(v) for v in values]


def test_dates_in_local_time_across_daylight_saving_changes():
    text = pa.array(
        [
            "01/01/2015 12:20:09 AM",
            "07/04/2015 01:00:00 PM",
            "11/01/2015 01:30:00 AM",  # repeated hour: first (EDT) occurrence
            "03/08/2015 02:30:00 AM",  # skipped hour: first instant after the gap
            "",
            "13/45/2015 01:00:00 PM",
        ]
    )
    out = parse_dates(text, "%m/%d/%Y %I:%M:%S %p", "America/New_York")
    assert _utc(out) == [
        "2015-01-01T05:20:09.000000",
        "2015-07-04T17:00:00.000000",
        "2015-11-01T05:30:00.000000",
        "2015-03-08T07:00:00.000000",
        "NaT",
        "NaT",
    ]


def test_iso8601_dates_with_and_without_offsets():
    text = pa.array(
        [
            "2015-01-01T08:00:00+08:00",
            "2015-01-01T00:00:00Z",
            "2015-01-01T08:00:00",
            "",
            "yesterday",
        ]
    )
    out = parse_dates(text, "ISO8601", "Asia/Shanghai")
    assert _utc(out) == ["2015-01-01T00:00:00.000000"] * 3 + ["NaT", "NaT"]


def test_ewkb_points_and_rejects_path():
    import shapely

    wkb = ewkb_points(np.array([120.75]), np.array([30.75])).to_pylist()[0]
    assert wkb == shapely.to_wkb(
        shapely.set_srid(shapely.Point(120.75, 30.75), 4326), include_srid=True
    )
    assert default_rejects_path(Path("/d/boston311_2015.csv.gz")) == Path(
        "/d/boston311_2015.rejects.csv"
    )


SKEWED = MINIMAL.replace('lon = "x"', 'lon = "x"\nclosed_at = "closed"\nsource_type = "kind"') + (
    "[dates]\nclock_skew_tolerance_s = 60\n"
)


def test_closing_times_before_the_open_time(tmp_path):
    """Within the tolerance: kept, closed at the open time, flagged, the file's time kept
    aside; beyond it: rejected with the gap and the setting in the reason."""
    m = load_ticket_mapping(str(write(tmp_path, SKEWED)))
    opened = "2015-07-01T12:00:00Z"
    closed = [
        "2015-07-01T12:00:01Z",  # after: an ordinary closure
        "2015-07-01T11:59:30Z",  # 30 s before
        "2015-07-01T11:59:00Z",  # 60 s before: the tolerance itself
        "2015-07-01T11:58:59.5Z",  # 60.5 s before
        "2015-06-30T09:00:00Z",  # a day and 3 hours before
        "",  # open
    ]
    n = len(closed)
    tbl = pa.table(
        {
            "id": [f"R{i}" for i in range(n)],
            "opened": [opened] * n,
            "closed": closed,
            "y": ["30.75"] * n,
            "x": ["120.75"] * n,
            "kind": ["Street Light Outages", "", " Pothole ", "路" * 300, "a", "b"],
        }
    )
    rows, report = Rows(n), TicketImportReport(file="f", mapping="m", namespace="m")
    p = parse(tbl, m, {"99"}, rows, report)
    assert list(rows.ok) == [True, True, True, False, False, True]
    assert list(rows.reason[3:5]) == [
        "closed 60.5 s before opened (more than the mapping's clock_skew_tolerance_s = 60 s)",
        "closed 1 d 3 h before opened (more than the mapping's clock_skew_tolerance_s = 60 s)",
    ]
    assert list(rows.kind[3:5]) == ["closed before opened"] * 2
    assert list(p.clock_skew) == [False, True, True, False, False, False]
    open_at = np.datetime64("2015-07-01T12:00:00", "us")
    assert list(p.closed_at[:3]) == [np.datetime64("2015-07-01T12:00:01", "us"), open_at, open_at]
    assert str(p.source_closed_at[1]) == "2015-07-01T11:59:30.000000"
    assert np.isnat(p.source_closed_at[[0, 5]]).all()
    assert list(p.is_closed) == [True, True, True, True, True, False]
    # The source type as the file has it (trimmed, empty → NULL, cut at 200 characters as
    # PostgreSQL counts them, not bytes).
    types = p.source_type.to_pylist()
    assert types[:3] == ["Street Light Outages", None, "Pothole"] and types[3] == "路" * 200
    assert p.source_reason.to_pylist() == [None] * n
