"""The ten-minute walkthrough of docs/imports.md ("Ten minutes with the Boston wards"), run from
the document itself: every `gridscope` command of its code block (but the password prompt and
the server) in a fresh database, and what the document says they print holds."""

from __future__ import annotations

import re
import shlex
from datetime import UTC
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridscope.cli import main as cli
from queries.db import connect
from queries.grid_card import grid_card
from queries.scope import Scope
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
REAL = Path("/work/shared/realdata/boston311_2015")


def walkthrough_commands() -> list[list[str]]:
    """The `gridscope` command lines of the walkthrough's code block, continuations joined."""
    text = (ROOT / "docs" / "imports.md").read_text(encoding="utf-8")
    section = text.split("### Ten minutes with the Boston wards", 1)[1]
    block = section.split("```", 2)[1]
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        line = line.split("  #", 1)[0].strip()
        if not line.startswith(".venv/bin/gridscope "):
            continue
        argv = shlex.split(line.replace("$R", str(REAL)))[1:]
        if argv[:2] in (["user", "add"], ["db", "migrate"]) or argv[0] == "serve":
            continue  # a password prompt, the server; the fixture's database is migrated
        commands.append(argv)
    return commands


def test_the_walkthrough_runs_as_documented(fresh_db, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    commands = walkthrough_commands()
    assert [c[:2] for c in commands] == [
        ["import", "grids"],
        ["import", "micro-grids"],
        ["import", "departments"],
        ["import", "staff"],
        ["check", "staffing"],
    ]
    env = {"DATABASE_URL": fresh_db.database_url, "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat()}
    out = {}
    for argv in commands:
        if argv[0] == "import" and argv[1] != "grids":  # rejects files out of the checkout
            suffix = ".geojson" if argv[1] == "micro-grids" else ".csv"
            argv = [*argv, "--rejects", str(tmp_path / f"{argv[1]}.rejects{suffix}")]
        res = CliRunner().invoke(cli, argv, env=env)
        assert res.exit_code == 0, (argv, res.output)
        out[argv[1]] = res.output

    assert "22 new, 0 changed" in out["grids"]
    assert "253 new, 0 changed" in out["micro-grids"] and "2 rejected" in out["micro-grids"]
    assert "9 rows; loaded 9" in out["departments"] and "15 written" in out["departments"]
    assert "127 rows; loaded 127" in out["staff"] and "136 opened" in out["staff"]
    report = out["staffing"]
    assert "violations (违规): 2 (2 grids); notices (提示): 19" in report
    assert re.search(r"chief_missing\s+US-MA-BOS-W21", report)
    assert re.search(r"urban_fulltime_missing\s+US-MA-BOS-W22", report)

    # The grid card of a ward lists its chief, workers and instructor with their numbers.
    with connect(fresh_db) as conn:
        card = grid_card(conn, Scope(""), "US-MA-BOS-W05", DEMO_NOW.astimezone(UTC), UTC)
    assert card is not None
    roles = sorted(s["role"] for s in card["staff"])
    assert roles == [
        "fulltime_worker",
        "fulltime_worker",
        "grid_chief",
        "grid_instructor",
        "parttime_worker",
    ]
    assert all(s["name"] and s["phone"].startswith("+1") for s in card["staff"])


def test_the_example_files_are_what_the_script_writes(tmp_path, monkeypatch):
    """docs/examples/boston/ is the output of scripts/make_boston_example.py, unedited."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_boston_example", ROOT / "scripts" / "make_boston_example.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "OUT", tmp_path)
    mod.main()
    for name in ("departments.csv", "staff.csv"):
        assert (tmp_path / name).read_bytes() == (
            ROOT / "docs" / "examples" / "boston" / name
        ).read_bytes(), name
