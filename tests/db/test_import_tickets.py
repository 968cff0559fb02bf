"""`gridscope import tickets` against real PostGIS on the real Boston 311 file and ward
polygons: states from the file's timestamps, rejects with reasons, idempotent re-runs, the
rollup, bad input, the source's own classification, clock skew and the two time zones."""

from __future__ import annotations

import csv
import gzip
import time
from datetime import UTC, date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
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
FMT = "%m/%d/%Y %I:%M:%S %p"


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
    assert reason["P4"] == (
        "CLOSED_DT 1 h 25 min before OPEN_DT (more than the mapping's"
        " clock_skew_tolerance_s = 300 s)"
    )
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
            " ticket_no, source_type, source_reason, import_flags FROM ticket",
        )
    }
    fmt = "%m/%d/%Y %I:%M:%S %p"
    checked_open = checked_closed = 0
    for rec in subset.itertuples():
        got = rows.get(rec.CASE_ENQUIRY_ID)
        if got is None:
            continue
        state, stage, closed_at, on_time, due, odue, sdue, created, source, cat, grid, no = got[:12]
        # The source's own classification, as the file has it, beside the mapped category.
        assert got[12:] == (rec.TYPE, rec.REASON or None, [])
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
    assert audit_rows(boston) == []  # nothing imported, nothing audited
    result = cli_run(boston, str(path), "--mapping", "boston311", "--rejects", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    loaded = ticket_counts(boston)[0]
    [(kind, count, detail)] = audit_rows(boston)
    assert kind == "cli" and count == loaded > 0
    assert detail["file"] == "b.csv" and detail["mapping"] == "boston311"


def audit_rows(settings) -> list[tuple]:
    """(actor_kind, count, detail) of the ticket_import audit rows."""
    with connect(settings) as conn:
        return conn.execute(
            "SELECT actor_kind, count, detail FROM audit_event WHERE action = 'ticket_import'"
        ).fetchall()


OPEN311_COLUMNS = (
    "service_request_id",
    "status",
    "service_code",
    "service_name",
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
                "Trash pickup",
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
                "",
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
            [
                "A3",
                "open",
                "BOGUS",
                "Pothole",
                "2015-06-01T11:00:00Z",
                "",
                "",
                "42.34",
                "-71.07",
                "",
                "",
            ]
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
    # Open311's service_name is the source type (no reason); the category is service_code's.
    kinds = sql(
        boston,
        "SELECT x.external_id, t.source_type, t.source_reason, t.category_code FROM ticket t"
        " JOIN ticket_external x ON x.ticket_id = t.id WHERE x.namespace = 'open311'"
        " ORDER BY 1",
    )
    assert kinds == [
        ("A1", "Trash pickup", None, "0902"),
        ("A2", None, None, "0903"),
        ("A3", "Pothole", None, "99"),
    ]


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
    # The 191 rows closed 1–58 s before they opened are clock skew within the default
    # tolerance (300 s): loaded and flagged, no longer rejected.
    assert r.reasons == {"geocoder placeholder point": 17_070, "point outside every grid": 23}
    assert (r.clock_skew, r.clock_skew_max_s) == (191, 58.0)
    assert r.loaded == 121_145 - 17_093 == 104_052
    assert r.closed + r.open == r.loaded and r.closed == 87_937 + 191
    assert r.warnings == []
    assert seconds < 30
    assert ticket_counts(boston)[:3] == (104_052,) * 3
    assert sql(boston, "SELECT sum(created), sum(closed) FROM stat_daily")[0] == (104_052, 88_128)
    assert sql(
        boston,
        "SELECT count(*), count(*) FILTER (WHERE closed_at = created_at AND closed_on_time)"
        " FROM ticket WHERE 'clock_skew' = ANY(import_flags)",
    )[0] == (191, 191)
    # Every ticket keeps the file's own TYPE and REASON.
    source = pd.read_csv(
        BOSTON_CSV, dtype=str, keep_default_na=False, usecols=["CASE_ENQUIRY_ID", "TYPE", "REASON"]
    )
    kept = pd.DataFrame(
        sql(boston, "SELECT external_id, source_type, source_reason FROM ticket"),
        columns=["CASE_ENQUIRY_ID", "source_type", "source_reason"],
    ).merge(source, on="CASE_ENQUIRY_ID")
    assert len(kept) == 104_052
    assert (kept["source_type"] == kept["TYPE"]).all()
    assert (kept["source_reason"] == kept["REASON"]).all()
    again = import_tickets(
        boston,
        BOSTON_CSV,
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "rejects.csv",
        progress=False,
    )
    assert again.loaded == 0 and again.already_loaded == 104_052
    assert ticket_counts(boston)[:3] == (104_052,) * 3


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
            w.writerow(
                [ext, status, "0902", "Litter", opened, closed, due, "42.35", "-71.06", "", ""]
            )
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


def boston_time(text: str) -> datetime:
    """A Boston local time of the file as an aware UTC datetime."""
    return (
        pd.Timestamp(datetime.strptime(text, FMT)).tz_localize(TZ).tz_convert("UTC").to_pydatetime()
    )


def test_clock_skew_within_the_tolerance_is_loaded_and_flagged(boston, boston_rows, tmp_path):
    """Closed a little before opened (two clocks of the source disagreeing): within the
    mapping's tolerance the row is loaded, closed at its open time and flagged; beyond it, the
    row is rejected with the gap and the setting named."""
    base = boston_rows.iloc[1].to_dict()  # the closed Street Lights case of `planted`
    opened = datetime.strptime(base["OPEN_DT"], FMT)
    skews = {"S1": 1, "S2": 58, "S3": 300, "S4": 301, "S5": 7200}
    frame = pd.DataFrame(
        [
            {
                **base,
                "CASE_ENQUIRY_ID": sid,
                "CLOSED_DT": (opened - pd.Timedelta(seconds=gap)).strftime(FMT),
            }
            for sid, gap in skews.items()
        ]
    )
    path = write_csv(frame, tmp_path / "skew.csv")
    rejects = tmp_path / "r.csv"
    result = cli_run(boston, str(path), "--mapping", "boston311", "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert (
        "clock skew: 3 closed row(s) closed up to 300 s before they opened (within the"
        " mapping's clock_skew_tolerance_s = 300 s)" in result.output
    )
    assert "warning:" not in result.output  # mapping and deployment both in Boston time

    out = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    assert dict(zip(out["CASE_ENQUIRY_ID"], out["reject_reason"], strict=True)) == {
        "S4": "CLOSED_DT 301 s before OPEN_DT (more than the mapping's"
        " clock_skew_tolerance_s = 300 s)",
        "S5": "CLOSED_DT 2 h 0 min before OPEN_DT (more than the mapping's"
        " clock_skew_tolerance_s = 300 s)",
    }
    created = boston_time(base["OPEN_DT"])
    rows = sql(
        boston,
        "SELECT t.external_id, t.state, t.created_at, t.closed_at, t.finished_at,"
        " t.closed_on_time, t.import_flags, e.data ->> 'source_closed_at'"
        " FROM ticket t JOIN ticket_event e ON e.ticket_id = t.id ORDER BY 1",
    )
    assert [r[0] for r in rows] == ["S1", "S2", "S3"]
    for ext, state, at, closed_at, finished_at, on_time, flags, source_closed in rows:
        assert (state, at, closed_at, finished_at) == ("closed", created, created, created)
        assert on_time is True and flags == ["clock_skew"]
        assert datetime.fromisoformat(source_closed) == created - pd.Timedelta(seconds=skews[ext])
    report = sql(boston, "SELECT report FROM import_run WHERE kind = 'tickets'")[0][0]
    assert (report["clock_skew"], report["clock_skew_max_s"]) == (3, 300.0)
    assert report["reasons"] == {"closed before opened": 2} and report["warnings"] == []
    # The rollup counts them as closed (on time), and equals a rebuild from the event log.
    stat_sql = "SELECT * FROM stat_daily ORDER BY day, grid_code, category_code"
    totals = "SELECT sum(created), sum(closed), sum(closed_on_time) FROM stat_daily"
    assert sql(boston, totals)[0] == (3, 3, 3)
    with connect(boston) as conn:
        incremental = conn.execute(stat_sql).fetchall()
        rebuild_stat_daily(conn, TZ)
        assert conn.execute(stat_sql).fetchall() == incremental
        conn.rollback()

    # A mapping without tolerance rejects every row closed before it opened.
    strict = tmp_path / "strict.toml"
    text = (Path(__file__).parents[2] / "gridscope/imports/mappings/boston311.toml").read_text()
    strict.write_text(
        text.replace("clock_skew_tolerance_s = 300", "clock_skew_tolerance_s = 0").replace(
            'namespace = "boston311"', 'namespace = "strict"'
        ),
        encoding="utf-8",
    )
    r = import_tickets(
        boston, path, load_ticket_mapping(str(strict)), rejects_path=rejects, progress=False
    )
    assert (r.loaded, r.clock_skew, r.reasons) == (0, 0, {"closed before opened": 5})
    out = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    assert out["reject_reason"].iloc[0] == (
        "CLOSED_DT 1 s before OPEN_DT (more than the mapping's clock_skew_tolerance_s = 0 s)"
    )


def test_time_zone_of_the_mapping_and_of_the_deployment(boston, boston_rows, tmp_path):
    """The mapping's zone reads the file; the deployment's decides the rollup days and ticket
    numbers. When they differ the import says so, with the tickets that move to another day."""
    shanghai = settings_for(boston.database_url.rsplit("/", 1)[1], timezone="Asia/Shanghai")
    rows = boston_rows.head(400)
    path = write_csv(rows, tmp_path / "b.csv")
    messages: list[str] = []
    r = import_tickets(
        shanghai,
        path,
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "r.csv",
        progress=False,
        echo=messages.append,
    )
    assert r.loaded > 300 and (r.mapping_timezone, r.timezone) == (TZ, "Asia/Shanghai")
    # Independently: the local days of the loaded rows in the two zones.
    loaded = {e for (e,) in sql(shanghai, "SELECT external_id FROM ticket")}
    opened = pd.to_datetime(
        rows.loc[rows.CASE_ENQUIRY_ID.isin(loaded), "OPEN_DT"], format=FMT
    ).dt.tz_localize(TZ)
    moved = int((opened.dt.date != opened.dt.tz_convert("Asia/Shanghai").dt.date).sum())
    assert r.tickets_on_another_day == moved > 0
    assert r.warnings == [
        "time zones differ: the mapping's dates.timezone America/New_York reads the file's local"
        " times, but the rollup days and ticket numbers follow the deployment's timezone"
        f" Asia/Shanghai (GRIDSCOPE_TIMEZONE): {moved:,} of {r.loaded:,} tickets fall on another"
        " day in Asia/Shanghai than in America/New_York. Set"
        " GRIDSCOPE_TIMEZONE=America/New_York if the days should be the source's"
    ]
    assert messages == ["warning: " + r.warnings[0]]
    stored = sql(shanghai, "SELECT report -> 'warnings' FROM import_run WHERE kind = 'tickets'")
    assert stored == [(r.warnings,)]
    # What the warning is about: the rollup counts in Shanghai days.
    per_day = dict(sql(shanghai, "SELECT day, sum(created)::int FROM stat_daily GROUP BY day"))
    expected = opened.dt.tz_convert("Asia/Shanghai").dt.date.value_counts().to_dict()
    assert per_day == expected

    # The same zone on both sides: no warning.
    same = import_tickets(
        boston,
        write_csv(boston_rows.iloc[400:450], tmp_path / "c.csv"),
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "r.csv",
        progress=False,
        echo=messages.append,
    )
    assert same.loaded > 30 and same.warnings == [] and same.tickets_on_another_day == 0
    assert len(messages) == 1


def test_street_lights_per_ward_in_july_2015_equal_a_direct_count(boston, tmp_path):
    """The issue's finding: 0903 folds Street Lights with signs, trees and roads, so per-ward
    counts of the category overcount them. The kept source TYPE/REASON count them exactly:
    per ward and TYPE, the database equals pandas + geopandas on the file itself."""
    whole = pd.read_csv(BOSTON_CSV, dtype=str, keep_default_na=False)
    opened = pd.to_datetime(whole["OPEN_DT"], format=FMT)
    # July and a day on either side (real rows only), so the month's edges are exercised.
    window = whole[(opened >= "2015-06-30") & (opened < "2015-08-02")]
    path = write_csv(window, tmp_path / "july.csv")
    r = import_tickets(
        boston,
        path,
        load_ticket_mapping("boston311"),
        rejects_path=tmp_path / "r.csv",
        progress=False,
    )
    assert r.loaded > 8000

    july_from = datetime(2015, 7, 1, 4, tzinfo=UTC)  # midnight in Boston (EDT, UTC−4)
    july_to = datetime(2015, 8, 1, 4, tzinfo=UTC)
    db = {
        (grid, kind): n
        for grid, kind, n in sql(
            boston,
            "SELECT grid_code, source_type, count(*) FROM ticket"
            " WHERE source_reason = 'Street Lights' AND created_at >= %s AND created_at < %s"
            " GROUP BY 1, 2",
            (july_from, july_to),
        )
    }

    # Directly from the file: July by its own local OPEN_DT, REASON Street Lights, minus the
    # geocoder's placeholder point (the mapping rejects it), placed in the wards by geopandas.
    july = window[window["OPEN_DT"].str.startswith("07/") & (window["REASON"] == "Street Lights")]
    lat = pd.to_numeric(july["LATITUDE"], errors="coerce")
    lon = pd.to_numeric(july["LONGITUDE"], errors="coerce")
    placeholder = np.isclose(lat, 42.3594, rtol=0, atol=1e-9) & np.isclose(
        lon, -71.0587, rtol=0, atol=1e-9
    )
    keep = lat.notna() & lon.notna() & ~placeholder
    points = gpd.GeoDataFrame(
        {"TYPE": july.loc[keep, "TYPE"]},
        geometry=gpd.points_from_xy(lon[keep], lat[keep]),
        crs="EPSG:4326",
    )
    wards = gpd.read_file(REAL / "boston_wards.geojson").to_crs("EPSG:4326")
    wards["code"] = "US-MA-BOS-W" + wards["WARD"].astype(int).astype(str).str.zfill(2)
    wards["geometry"] = wards.geometry.make_valid()
    joined = gpd.sjoin(points, wards[["code", "geometry"]], predicate="covered_by")
    # A point on a shared edge is in the ward with the lowest code (the importer's rule).
    ward = joined.groupby(level=0)["code"].min()
    direct = points.loc[ward.index].assign(code=ward).groupby(["code", "TYPE"]).size().to_dict()

    assert db == direct
    assert {t for _, t in db} >= {"Street Light Outages", "Street Light Knock Downs"}
    assert sum(db.values()) > 500
    # The mapped category alone counts over four times as many (the finding).
    cat_0903 = sql(
        boston,
        "SELECT count(*) FROM ticket WHERE category_code = '0903'"
        " AND created_at >= %s AND created_at < %s",
        (july_from, july_to),
    )[0][0]
    assert cat_0903 > 4 * sum(db.values())
