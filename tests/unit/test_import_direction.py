"""The package tiers hold: no module imports a tier above its own (docs/architecture.md).

    domain (pure rules, no I/O)  <  queries (SQL, cache)  <  layers  <  programs

The programs (the Dash UI, the HTTP API, the file imports, the demo) sit side by side on top and
do not import each other; only the composition points (the CLI, the WSGI entry and ``app``) may
reach several of them. Imports inside functions count as much as those at the top of a file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("domain", "queries", "layers", "dashboard", "gridscope", "app")

TIER = {"domain": 0, "queries": 1, "layers": 2, "dashboard": 3, "gridscope": 3, "app": 3}
# Programs: each may import the tiers below and itself, never another program.
PROGRAMS = ("dashboard", "gridscope.api", "gridscope.imports", "gridscope.demo")
# Composition points: they wire programs together (and may build the app with create_app).
COMPOSERS = ("app", "gridscope.cli", "gridscope.wsgi")
# Libraries that do I/O (databases, caches, web, processes, files of geodata): not in domain.
IO_LIBRARIES = (
    "psycopg",
    "psycopg_pool",
    "redis",
    "flask",
    "flask_compress",
    "dash",
    "dash_leaflet",
    "sqlalchemy",
    "alembic",
    "requests",
    "urllib.request",
    "http",
    "socket",
    "subprocess",
    "pyogrio",
    "geopandas",
)
# Reading the time of day: only the system clock does (domain/clock/now.py).
CLOCK_READS = re.compile(
    r"\b(?:datetime\.now|datetime\.utcnow|date\.today|dt\.datetime\.now|dt\.date\.today"
    r"|time\.time|pd\.Timestamp\.now|Timestamp\.utcnow|np\.datetime64\(\s*['\"]now)\b"
)
CLOCK_HOME = "domain/clock/now.py"


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for top in ("domain", "queries", "layers", "dashboard", "gridscope"):
        files += sorted((ROOT / top).rglob("*.py"))
    return files


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import sub` may name a submodule: then it imports pkg.sub.
            names = {f"{target}.{a.name}" for a in node.names}
            subs = {n for n in names if is_module(n)}
            out += [(node.lineno, n) for n in sorted(subs or {target})]
    return out


def owner(module: str, groups: tuple[str, ...]) -> str | None:
    return next((g for g in groups if module == g or module.startswith(g + ".")), None)


def first_party(module: str) -> str | None:
    return owner(module, FIRST_PARTY)


def is_module(name: str) -> bool:
    """True when ``name`` is a first-party module or package (not a name inside one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(files: list[Path], root: Path = ROOT) -> list[str]:
    """Every import among ``files`` (modules under ``root``) that breaks the tiers."""
    bad = []
    for path in files:
        me = module_name(path, root)
        my_top = first_party(me)
        assert my_top is not None, me
        my_program = owner(me, PROGRAMS)
        composer = owner(me, COMPOSERS) is not None
        for line, target in imports_of(path, root):
            where = f"{path.relative_to(root)}:{line} imports {target}"
            top = first_party(target)
            if top is None:
                if my_top == "domain" and owner(target, IO_LIBRARIES):
                    bad.append(f"{where}: domain does no I/O")
                continue
            if not is_module(target):
                continue
            if top == "app" and not composer:
                # Only the composition points build the app (through its factory).
                bad.append(f"{where}: nothing imports app (build apps with create_app)")
            elif TIER[top] > TIER[my_top]:
                bad.append(f"{where}: tier {my_top} ({TIER[my_top]}) imports tier {TIER[top]}")
            elif not composer:
                program = owner(target, PROGRAMS)
                if program is not None and program != my_program:
                    bad.append(f"{where}: programs do not import each other")
                elif owner(target, COMPOSERS) and my_program is not None:
                    bad.append(f"{where}: a program imports a composition point")
    return bad


def test_no_module_imports_a_higher_tier():
    assert violations(product_files()) == []


def test_the_time_of_day_is_read_only_by_the_system_clock():
    offenders = []
    for path in product_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == CLOCK_HOME:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if CLOCK_READS.search(code):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == [], "inject a Clock or pass `now` instead:\n" + "\n".join(offenders)


def test_sql_is_built_only_in_queries():
    """String-built SQL needs ruff's S608 silenced; only queries/ may do that."""
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in product_files()
        if not p.relative_to(ROOT).as_posix().startswith("queries/")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "noqa: S608" in line
    ]
    assert offenders == []


def probe(tmp_path: Path, module: str, source: str) -> list[str]:
    """The violations of one made-up module ``module`` holding ``source``."""
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return violations([path], root=tmp_path)


@pytest.mark.parametrize(
    "module, source, expected",
    [
        ("domain.probe", "from queries.db import connect\n", "tier domain (0) imports tier 1"),
        ("domain.probe", "import dashboard.layout\n", "tier domain (0) imports tier 3"),
        ("domain.probe", "import psycopg\n", "domain does no I/O"),
        ("queries.probe", "from layers import registry\n", "tier queries (1) imports tier 2"),
        ("gridscope.api.probe", "from dashboard import layout\n", "programs do not import"),
        ("gridscope.imports.probe", "from gridscope.cli import main\n", "composition point"),
        ("layers.probe", "import app\n", "nothing imports app"),
    ],
)
def test_the_check_catches_each_kind_of_violation(tmp_path, module, source, expected):
    found = probe(tmp_path, module, source)
    assert len(found) == 1 and expected in found[0], found


def test_the_check_accepts_imports_downwards_and_within_a_program(tmp_path):
    source = "from domain import measures\nfrom queries.db import connect\nfrom . import ids\n"
    assert probe(tmp_path, "dashboard.map.probe", source) == []
