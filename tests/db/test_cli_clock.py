"""The CLI's "now": `demo load --now`, and one clock per command (setting fixed_now, i.e.
GRIDSCOPE_FIXED_NOW) for `demo load`, `demo live` and `sweep`."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from domain.clock.now import FixedClock
from gridscope.cli import main as cli
from queries.db import connect
from tests.conftest import DEMO_NOW

_REPORT = SimpleNamespace(
    size="small",
    seed=3,
    tickets=0,
    events=0,
    tasks=0,
    grids=0,
    micro_grids=0,
    staff=0,
    seconds_territory=0.0,
    seconds_simulate=0.0,
    seconds_prepare=0.0,
    seconds_copy=0.0,
    seconds_index=0.0,
    seconds_total=0.0,
    copy_tickets_per_s=0.0,
    end_to_end_tickets_per_s=0.0,
)


@pytest.fixture
def fake_loader(monkeypatch):
    """Replace the demo loader by one that records its arguments (and the demo accounts,
    which `demo load` creates next in the database, by nothing)."""
    import gridscope.demo.accounts
    import gridscope.demo.load

    calls: list[dict] = []

    def load_demo(settings, size, seed, **kw):
        calls.append({"size": size, "seed": seed, **kw})
        return _REPORT

    monkeypatch.setattr(gridscope.demo.load, "load_demo", load_demo)
    monkeypatch.setattr(gridscope.demo.accounts, "ensure_demo_access", lambda settings, now: None)
    monkeypatch.setattr(gridscope.demo.accounts, "access_table", lambda access: [])
    return calls


def _env(**extra: str) -> dict[str, str]:
    return {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/unused", **extra}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("yesterday", "not an ISO 8601 instant"),
        ("2026-11-25T15:30:00", "no UTC offset"),
        ("2026-13-01T00:00:00+08:00", "not an ISO 8601 instant"),
        ("", "not an ISO 8601 instant"),
    ],
)
def test_demo_load_now_bad_value_is_a_usage_error(fake_loader, value, problem):
    res = CliRunner().invoke(cli, ["demo", "load", "--now", value], env=_env())
    assert res.exit_code == 2, res.output
    assert "--now" in res.output and problem in res.output
    assert isinstance(res.exception, SystemExit)  # a click usage error, not a traceback
    assert fake_loader == []


def test_demo_load_now_is_passed_to_the_loader_as_utc(fake_loader):
    res = CliRunner().invoke(
        cli,
        ["demo", "load", "--size", "small", "--seed", "3", "--now", "2026-11-25T15:30:00+08:00"],
        env=_env(),
    )
    assert res.exit_code == 0, res.output
    (call,) = fake_loader
    assert call["now"] == DEMO_NOW and call["now"].utcoffset() == timedelta(0)
    assert (call["size"], call["seed"]) == ("small", 3)


def test_demo_load_default_now_follows_fixed_now(fake_loader):
    res = CliRunner().invoke(
        cli,
        ["demo", "load", "--size", "small"],
        env=_env(GRIDSCOPE_FIXED_NOW=DEMO_NOW.isoformat()),
    )
    assert res.exit_code == 0, res.output
    assert fake_loader[0]["now"] == DEMO_NOW


def test_demo_live_and_sweep_run_on_the_pinned_clock(monkeypatch):
    import gridscope.cli.sweep
    import gridscope.demo.live
    import queries.supervision

    seen = {}

    def run_live(settings, **kw):
        seen["live"] = kw["clock"]
        return SimpleNamespace(created=0, advanced=0, refused=0, fixes=0)

    def sweep(conn, scope, now):
        seen["sweep"] = now
        return 0

    def purge_expired(conn, app, now):
        seen["purge"] = now
        return 0, 0

    class _Conn:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    # The real simulator takes the clock the command passes.
    assert "clock" in inspect.signature(gridscope.demo.live.run_live).parameters
    monkeypatch.setattr(gridscope.demo.live, "run_live", run_live)
    monkeypatch.setattr(queries.supervision, "sweep", sweep)
    monkeypatch.setattr(gridscope.cli.sweep, "purge_expired", purge_expired)

    def onboarding_sweep(conn, app, now):
        seen["onboarding"] = now
        return []

    monkeypatch.setattr(gridscope.cli.sweep, "onboarding_sweep", onboarding_sweep)
    monkeypatch.setattr("queries.db.connect", lambda settings: _Conn())
    env = _env(GRIDSCOPE_FIXED_NOW="2026-11-25T15:30:00+08:00")
    res = CliRunner().invoke(cli, ["demo", "live", "--duration", "1"], env=env)
    assert res.exit_code == 0, res.output
    assert seen["live"] == FixedClock(DEMO_NOW)
    res = CliRunner().invoke(cli, ["sweep"], env=env)
    assert res.exit_code == 0, res.output
    assert seen["sweep"] == DEMO_NOW
    assert seen["purge"] == DEMO_NOW  # retention is counted on the same clock
    assert seen["onboarding"] == DEMO_NOW  # ended assignments, the item list in force


@pytest.mark.db
def test_demo_load_now_is_honoured_end_to_end(fresh_db):
    """The small demo loaded by the command ends at --now (a past instant, not today)."""
    at = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    res = CliRunner().invoke(
        cli,
        ["demo", "load", "--size", "small", "--seed", "5", "--quiet", "--now", at.isoformat()],
        env={"DATABASE_URL": fresh_db.database_url, "REDIS_URL": fresh_db.redis_url},
    )
    assert res.exit_code == 0, res.output
    with connect(fresh_db) as conn:
        last_event, last_ticket = conn.execute(
            "SELECT (SELECT max(at) FROM ticket_event), (SELECT max(created_at) FROM ticket)"
        ).fetchone()
    assert last_event is not None and last_ticket is not None
    assert last_ticket <= last_event <= at
    assert last_event > at - timedelta(days=2)  # the history runs up to --now
