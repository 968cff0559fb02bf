"""`gridscope import tickets` against real PostGIS on the real Boston 311 file and ward
polygons: states from the file's timestamps, rejects with reasons, idempotent re-runs, the
rollup, bad input."""

from __future__ import annotations

import csv
import gzip
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from domain import ticket_no
from domain.workflow import rules
from gridscope.cli import main as cli
from gridscope.imports.grids import GridImportOptions, import_grids
from gridscope.imports.mapping import load_ticket_mapping
from gridscope.imports.tickets import import_tickets
from queries.bulk import rebuild_stat_daily
from queries.cache import data_version
from queries.db import connect
from tests.conftest import DEMO_NOW, settings_for

REAL = Path("/work/shared/realdata/boston311_2015")
BOSTON_CSV = REAL / "boston311_2015.csv.gz"
TZ = "America/New_York"
SUBSET = 3000


@pytest.fixture
def boston(fresh_db):
    """A fresh database (days in Boston time) holding the 22 Boston wards as grids."""
    settings = settings_for(fresh_db.database_url.rsplit("/", 1)[1], timezone=TZ)
    opts = GridImportOptions(
        code_field="WARD",
        code_prefix="US-MA-BOS-W",
        code_width=2,
        name_field="WARD",
        name_prefix="Ward ",
        code_rule="permissive",
        create_parent=("US-MA-BOS", "Boston"),
    )
    import_grids(settings, REAL / "boston_wards.geojson", opts, echo=lambda _m: None)
    return settings


@pytest.fixture(scope="module")
def boston_rows() -> pd.DataFrame:
    return pd.read_csv(BOSTON_CSV, dtype=str, keep_default_na=False, nrows=SUBSET)


def planted(rows: pd.DataFrame) -> pd.DataFrame:
    """The subset plus one row per kind of error, ids P1..P8."""
    base = rows.iloc[1].to_dict()  # a closed Street Lights case with coordinates
    bad = []
    for pid, changes in [
        ("P1", {"LATITUDE": "", "LONGITUDE": ""}),
        ("P2", {"LATITUDE": "42.1", "LONGITUDE": "-70.5"}),  # in the bay, outside every ward
        ("P3", {"OPEN_DT": "2015-13-45 25:00"}),
        ("P4", {"CLOSED_DT": "12/31/2014 11:00:00 PM"}),  # closed before it was opened
        ("P5", {"CASE_STATUS": "Pending"}),
        ("P6", {"LATITUDE": "north", "LONGITUDE": "-71.06"}),
        ("P7", {"CASE_STATUS": "Closed", "CLOSED_DT": ""}),
        ("P8", {"LATITUDE": "42.3594", "LONGITUDE": "-71.0587"}),  # City Hall fallback
    ]:
        bad.append({**base, **changes, "CASE_ENQUIRY_ID": pid})
    dup = {**rows.iloc[2].to_dict(), "CLOSURE_REASON": "a second copy"}
    return pd.concat([rows, pd.DataFrame(bad), pd.DataFrame([dup])], ignore_index=True)


def write_csv(frame: pd.DataFrame, path: Path, gz: bool = False) -> Path:
    text = frame.to_csv(index=False)
    if gz:
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def sql(settings, query: str, params=()) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def cli_run(settings, *args: str):
    return CliRunner().invoke(
        cli,
        ["import", "tickets", *args],
        env={"DATABASE_URL": settings.database_url, "GRIDSCOPE_TIMEZONE": TZ},
    )


def ticket_counts(settings) -> tuple:
    return sql(
        settings,
        "SELECT (SELECT count(*) FROM ticket), (SELECT count(*) FROM"
        " ticket_event), (SELECT count(*) FROM ticket_external),"
        " (SELECT count(*) FROM stat_daily), (SELECT count(*) FROM import_run"
        "  WHERE kind = 'tickets')",
    )[0]


def test_subset_with_planted_errors(boston, boston_rows, tmp_path):
    frame = planted(boston_rows)
    path = write_csv(frame, tmp_path / "boston_subset.csv.gz", gz=True)
    rejects = tmp_path / "rejects.csv"
    with connect(boston) as conn:
        v0 = data_version(conn)
    result = cli_run(boston, str(path), "--mapping", "boston311", "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output

    out = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    reason = dict(zip(out["CASE_ENQUIRY_ID"], out["reject_reason"], strict=True))
    assert reason["P1"] == "missing coordinates (LATITUDE/LONGITUDE)"
    assert reason["P2"] == "point outside every grid of the jurisdiction"
    assert reason["P3"].startswith("unparseable OPEN_DT '2015-13-45 25:00'")
    assert reason["P4"] == "CLOSED_DT before OPEN_DT"
    assert reason["P5"] == "unknown CASE_STATUS 'Pending'"
    assert reason["P6"] == "invalid coordinates (LATITUDE='north', LONGITUDE='-71.06')"
    assert reason["P7"] == "closed but no CLOSED_DT"
    assert reason["P8"].startswith("geocoder placeholder point")
    dup_id = boston_rows.iloc[2]["CASE_ENQUIRY_ID"]
    dup_rows = out[out["CASE_ENQUIRY_ID"] == dup_id]
    assert list(dup_rows["reject_reason"]) == [
        "duplicate CASE_ENQUIRY_ID in the file (its first row is loaded)"
    ]
    assert list(dup_rows["source_row"]) == [str(len(frame))]
    assert set(out.columns) == set(frame.columns) | {"source_row", "reject_reason"}
    assert all(r for r in out["reject_reason"])

    subset = boston_rows
    lat, lon = subset["LATITUDE"], subset["LONGITUDE"]
    fallback = (lat == "42.3594") & (lon == "-71.0587")
    n_tickets, n_events, n_ext, _, n_runs = ticket_counts(boston)
    assert n_tickets == n_events == n_ext
    closed_before = subset["CLOSED_DT"].ne("") & (
        pd.to_datetime(subset["CLOSED_DT"], format="%m/%d/%Y %I:%M:%S %p", errors="coerce")
        < pd.to_datetime(subset["OPEN_DT"], format="%m/%d/%Y %I:%M:%S %p")
    )
    assert n_tickets + len(out) == len(frame)
    assert n_tickets >= SUBSET - int(fallback.sum()) - int((closed_before & ~fallback).sum()) - 5
    assert n_runs == 1
    with connect(boston) as conn:
        assert data_version(conn) > v0

    # States from the file's own timestamps.
    rows = {
        r[0]: r[1:]
        for r in sql(
            boston,
            "SELECT external_id, state, stage, closed_at, closed_on_time, due_at,"
            " original_due_at, stage_due_at, created_at, source, category_code, grid_code,"
            " ticket_no FROM ticket",
        )
    }
    fmt = "%m/%d/%Y %I:%M:%S %p"
    checked_open = checked_closed = 0
    for rec in subset.itertuples():
        got = rows.get(rec.CASE_ENQUIRY_ID)
        if got is None:
            continue
        state, stage, closed_at, on_time, due, odue, sdue, created, source, cat, grid, no = got
        local = pd.Timestamp(datetime.strptime(rec.OPEN_DT, fmt)).tz_localize(TZ)
        assert created == local.tz_convert("UTC").to_pydatetime()
        assert no.startswith("GS" + local.strftime("%Y%m%d")) and len(no) == 17
        target = (
            pd.Timestamp(datetime.strptime(rec.TARGET_DT, fmt))
            .tz_localize(TZ)
            .tz_convert("UTC")
            .to_pydatetime()
            if rec.TARGET_DT
            else None
        )
        assert due == odue == target
        assert grid.startswith("US-MA-BOS-W")
        if rec.CASE_STATUS == "Closed":
            closed = (
                pd.Timestamp(datetime.strptime(rec.CLOSED_DT, fmt))
                .tz_localize(TZ)
                .tz_convert("UTC")
                .to_pydatetime()
            )
            assert (state, stage, closed_at, sdue) == ("closed", None, closed, None)
            assert on_time == (target is None or closed <= target)
            checked_closed += 1
        else:
            assert (state, stage, closed_at, on_time) == ("in_progress", "T5", None, None)
            assert sdue == target
            checked_open += 1
        if rec.Source == "Constituent Call":
            assert source == "hotline"
    assert checked_closed > 1000 and checked_open > 50
    lights = list(subset.loc[subset.REASON == "Street Lights", "CASE_ENQUIRY_ID"])
    street_lights = sql(
        boston, "SELECT DISTINCT category_code FROM ticket WHERE external_id = ANY(%s)", (lights,)
    )
    assert street_lights == [("0903",)]

    # One create event per ticket, into the ticket's state: the log replays under the rules.
    events = sql(
        boston,
        "SELECT e.action, e.from_state, e.to_state = t.state, e.at = t.created_at,"
        " e.actor_kind, e.data ->> 'imported', e.data ->> 'namespace'"
        " FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id",
    )
    assert set(events) == {("create", None, True, True, "system", "true", "boston311")}
    for (state,) in sql(boston, "SELECT DISTINCT state FROM ticket"):
        assert rules.State(state) in (rules.State.CLOSED, rules.State.IN_PROGRESS)

    # The rollup equals a full rebuild from the event log.
    stat_sql = "SELECT * FROM stat_daily ORDER BY day, grid_code, category_code"
    with connect(boston) as conn:
        incremental = conn.execute(stat_sql).fetchall()
        rebuild_stat_daily(conn, TZ)
        assert conn.execute(stat_sql).fetchall() == incremental
        conn.rollback()
    assert sum(r[3] for r in incremental) == n_tickets  # created
    assert sum(r[9] for r in incremental) == sum(1 for g in rows.values() if g[0] == "closed")

    # A re-run loads nothing twice.
    before = ticket_counts(boston)
    again = cli_run(boston, str(path), "--mapping", "boston311", "--rejects", str(rejects))
    assert again.exit_code == 0, again.output
    assert "loaded 0 (0 closed" in again.output
    assert f"{n_tickets:,} already loaded (boston311)" in again.output
    assert ticket_counts(boston) == before


def test_open_rows_past_their_target_count_as_overdue(boston, boston_rows, tmp_path):
    path = write_csv(boston_rows, tmp_path / "b.csv")
    r = import_tickets(
        boston,
        path,
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "r.csv",
        progress=False,
        now=DEMO_NOW,
    )
    now = DEMO_NOW
    overdue, no_target = sql(
        boston,
        "SELECT count(*) FILTER (WHERE stage_due_at < %s),"
        " count(*) FILTER (WHERE stage_due_at IS NULL) FROM ticket"
        " WHERE state NOT IN ('closed', 'surveyed', 'rejected')",
        (now,),
    )[0]
    assert overdue == r.open_past_due and overdue > 0
    assert overdue + no_target == r.open
    # Warning instants sit at 80 % of the open → due span.
    rows = sql(
        boston,
        "SELECT stage_started_at, stage_warn_at, stage_due_at FROM ticket"
        " WHERE stage_due_at > stage_started_at",
    )
    for start, warn, due in rows:
        assert abs((warn - start) / (due - start) - 0.8) < 1e-6


def test_dry_run_writes_nothing(boston, boston_rows, tmp_path):
    path = write_csv(planted(boston_rows.head(500)), tmp_path / "b.csv")
    before = ticket_counts(boston)
    result = cli_run(
        boston,
        str(path),
        "--mapping",
        "boston311",
        "--dry-run",
        "--rejects",
        str(tmp_path / "r.csv"),
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("dry run:") and "would load" in result.output
    assert ticket_counts(boston) == before == (0, 0, 0, 0, 0)


OPEN311_COLUMNS = (
    "service_request_id",
    "status",
    "service_code",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "lat",
    "long",
    "address",
    "description",
)


def open311_writer(fh):
    """A CSV writer on ``fh`` that has written the Open311 header row."""
    w = csv.writer(fh)
    w.writerow(OPEN311_COLUMNS)
    return w


def test_unknown_category_without_default_and_open311(boston, tmp_path):
    mapping = (Path(__file__).parents[2] / "gridscope/imports/mappings/open311.toml").read_text()
    strict = tmp_path / "strict311.toml"
    strict.write_text(
        mapping.replace('default = "99"\n', "").replace(
            'namespace = "open311"', 'namespace = "strict311"'
        ),
        encoding="utf-8",
    )
    path = tmp_path / "requests.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = open311_writer(fh)
        w.writerow(
            [
                "A1",
                "open",
                "0902",
                "2015-06-01T09:00:00-04:00",
                "",
                "",
                "42.35",
                "-71.06",
                "1 Main St",
                "trash",
            ]
        )
        w.writerow(
            [
                "A2",
                "closed",
                "0903",
                "2015-06-01T10:00:00-04:00",
                "2015-06-02T10:00:00-04:00",
                "2015-06-03T10:00:00-04:00",
                "42.33",
                "-71.08",
                "",
                "",
            ]
        )
        w.writerow(
            ["A3", "open", "BOGUS", "2015-06-01T11:00:00Z", "", "", "42.34", "-71.07", "", ""]
        )
    refused = cli_run(
        boston, str(path), "--mapping", str(strict), "--rejects", str(tmp_path / "r.csv")
    )
    assert refused.exit_code == 0, refused.output
    out = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False)
    assert list(out["reject_reason"]) == [
        "unknown category (service_code='BOGUS') and the mapping has no default"
    ]
    ok = cli_run(boston, str(path), "--mapping", "open311", "--rejects", str(tmp_path / "s.csv"))
    assert ok.exit_code == 0, ok.output
    got = dict(
        sql(
            boston,
            "SELECT x.namespace || ':' || x.external_id, t.category_code"
            " FROM ticket t JOIN ticket_external x ON x.ticket_id = t.id",
        )
    )
    assert got == {
        "strict311:A1": "0902",
        "strict311:A2": "0903",
        "open311:A1": "0902",
        "open311:A2": "0903",
        "open311:A3": "99",
    }
    a2 = sql(
        boston,
        "SELECT state, closed_at, closed_on_time FROM ticket t JOIN"
        " ticket_external x ON x.ticket_id = t.id WHERE x.namespace = 'open311'"
        " AND x.external_id = 'A2'",
    )[0]
    assert a2 == ("closed", datetime(2015, 6, 2, 14, tzinfo=UTC), True)


def test_bad_input_exits_cleanly(boston, boston_rows, tmp_path):
    rejects = str(tmp_path / "r.csv")
    missing = cli_run(
        boston, str(tmp_path / "nope.csv"), "--mapping", "boston311", "--rejects", rejects
    )
    assert missing.exit_code == 1 and "no such file" in missing.output
    unknown = cli_run(boston, str(tmp_path / "nope.csv"), "--mapping", "chicago311")
    assert unknown.exit_code == 2 and "boston311" in unknown.output

    lacking = write_csv(
        boston_rows.drop(columns=["TARGET_DT", "Source"]).head(20), tmp_path / "lacking.csv"
    )
    r = cli_run(boston, str(lacking), "--mapping", "boston311", "--rejects", rejects)
    assert r.exit_code == 1 and "names column(s) the file lacks: TARGET_DT, Source" in r.output

    text = boston_rows.head(50).to_csv(index=False)
    lines = text.splitlines(keepends=True)
    lines[31] = lines[31].replace("St", "Stra\u00dfe", 1)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("".join(lines).encode("latin-1"))
    r = cli_run(boston, str(latin), "--mapping", "boston311", "--rejects", rejects)
    assert r.exit_code == 1
    assert "line 32 (data row 31) is not valid utf-8" in r.output and "--encoding" in r.output
    assert not Path(rejects).exists()

    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02" * 10 + b"\n\x89PNG")
    r = cli_run(boston, str(binary), "--mapping", "boston311", "--rejects", rejects)
    assert r.exit_code == 1
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    r2 = cli_run(boston, str(empty), "--mapping", "boston311", "--rejects", rejects)
    assert r2.exit_code == 1 and "empty" in r2.output
    bad_rejects = cli_run(
        boston, str(latin), "--mapping", "boston311", "--rejects", str(tmp_path / "no" / "dir.csv")
    )
    assert bad_rejects.exit_code == 1 and "does not exist" in bad_rejects.output
    for res in (missing, r, r2, bad_rejects):
        assert "Traceback" not in res.output and res.output.startswith("gridscope: error:")
        assert res.output.count("\n") == 1
    assert ticket_counts(boston) == (0, 0, 0, 0, 0)

    # Declaring the real encoding reads the same file.
    ok = cli_run(
        boston, str(latin), "--mapping", "boston311", "--encoding", "latin-1", "--rejects", rejects
    )
    assert ok.exit_code == 0, ok.output
    assert sql(boston, "SELECT count(*) FROM ticket WHERE address LIKE '%%Straße%%'")[0][0] == 1


def test_full_boston_file(boston, tmp_path):
    """The whole 121,145-row file, then a re-run that loads nothing."""
    t = time.perf_counter()
    r = import_tickets(
        boston,
        BOSTON_CSV,
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "rejects.csv",
        progress=False,
    )
    seconds = time.perf_counter() - t
    assert r.rows == 121_145
    assert r.reasons == {
        "geocoder placeholder point": 17_070,
        "closed before opened": 191,
        "point outside every grid": 23,
    }
    assert r.loaded == 121_145 - 17_284 == 103_861
    assert r.closed + r.open == r.loaded and r.closed == 87_937
    assert seconds < 30
    assert ticket_counts(boston)[:3] == (103_861,) * 3
    assert sql(boston, "SELECT sum(created), sum(closed) FROM stat_daily")[0] == (103_861, 87_937)
    again = import_tickets(
        boston,
        BOSTON_CSV,
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "rejects.csv",
        progress=False,
    )
    assert again.loaded == 0 and again.already_loaded == 103_861
    assert ticket_counts(boston)[:3] == (103_861,) * 3


# Rows around the two daylight-saving changes of 2015 in Boston, written with their offsets:
# (id, opened, due, closed or "", local day of opening, closed on time).
DST_ROWS = [
    # 8 March: 02:00 EST becomes 03:00 EDT.
    ("D1", "2015-03-07T23:30:00-05:00", "", "", date(2015, 3, 7), None),  # 04:30Z on the 8th
    (
        "D2",
        "2015-03-08T00:30:00-05:00",
        "2015-03-08T03:30:00-04:00",  # 07:30Z
        "2015-03-08T01:45:00-05:00",  # 06:45Z: on time
        date(2015, 3, 8),
        True,
    ),
    (
        "D3",
        "2015-03-08T23:30:00-04:00",  # 03:30Z on the 9th
        "2015-03-09T08:00:00-04:00",
        "2015-03-09T08:00:00.000001-04:00",  # a microsecond late
        date(2015, 3, 8),
        False,
    ),
    # 1 November: 02:00 EDT becomes 01:00 EST; 01:00–02:00 happens twice.
    ("D4", "2015-10-31T23:30:00-04:00", "", "", date(2015, 10, 31), None),  # 03:30Z on the 1st
    (
        "D5",
        "2015-11-01T01:30:00-04:00",  # the first 01:30 (05:30Z)
        "2015-11-01T01:50:00-04:00",  # 05:50Z
        "2015-11-01T01:45:00-05:00",  # the second 01:45 (06:45Z): late, though "earlier"
        date(2015, 11, 1),
        False,
    ),
    (
        "D6",
        "2015-11-01T01:30:00-05:00",  # the second 01:30 (06:30Z)
        "2015-11-01T01:40:00-05:00",  # 06:40Z
        "2015-11-01T01:40:00-05:00",  # exactly at the due time: on time
        date(2015, 11, 1),
        True,
    ),
    ("D7", "2015-11-01T23:30:00-05:00", "", "", date(2015, 11, 1), None),  # 04:30Z on the 2nd
]


def test_local_days_across_daylight_saving_changes(boston, tmp_path):
    """Ticket numbers and the rollup count in Boston's local days on both sides of a DST
    change, and on-time flags compare instants, not wall-clock times."""
    path = tmp_path / "dst.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = open311_writer(fh)
        for ext, opened, due, closed, _day, _on_time in DST_ROWS:
            status = "closed" if closed else "open"
            w.writerow([ext, status, "0902", opened, closed, due, "42.35", "-71.06", "", ""])
    r = import_tickets(
        boston,
        path,
        load_ticket_mapping("open311"),
        rejects_path=tmp_path / "r.csv",
        progress=False,
        now=DEMO_NOW,
    )
    assert (r.loaded, r.rejected, r.closed) == (7, 0, 4)
    got = {
        row[0]: row[1:]
        for row in sql(
            boston,
            "SELECT x.external_id, t.id, t.ticket_no, t.created_at, t.closed_on_time, t.state,"
            " t.updated_at FROM ticket t JOIN ticket_external x ON x.ticket_id = t.id",
        )
    }
    per_day: dict[date, int] = {}
    for ext, opened, _due, closed, day, on_time in DST_ROWS:
        tid, number, created, closed_on_time, state, updated = got[ext]
        assert created == datetime.fromisoformat(opened)
        assert number == ticket_no.ticket_no(day, tid), ext
        assert closed_on_time is on_time, ext
        assert state == ("closed" if closed else "in_progress")
        assert updated == DEMO_NOW
        per_day[day] = per_day.get(day, 0) + 1
    stat = sql(
        boston,
        "SELECT day, sum(created), sum(closed), sum(closed_on_time) FROM stat_daily GROUP BY day",
    )
    assert {d: c for d, c, _, _ in stat} == per_day
    closed_days = {d: (c, ok) for d, _, c, ok in stat if c}
    assert closed_days == {
        date(2015, 3, 8): (2, 1),
        date(2015, 11, 1): (2, 1),
    }
    # The incremental rollup equals a rebuild from the event log in the same time zone.
    stat_sql = "SELECT * FROM stat_daily ORDER BY day, grid_code, category_code"
    with connect(boston) as conn:
        incremental = conn.execute(stat_sql).fetchall()
        rebuild_stat_daily(conn, TZ)
        assert conn.execute(stat_sql).fetchall() == incremental
        conn.rollback()
