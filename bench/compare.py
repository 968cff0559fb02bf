"""Before/after benchmarks: one benchmark on a git revision and on the working tree, alternately.

python -m bench compare --base REV [--rounds N] -- BENCH [ARGS...]

BENCH is one of load, feed, api, imports, layers, layerslive, explore, analytics; ARGS go to it
unchanged. REV (any git revision: a commit, a tag, HEAD~3) is checked out once into a temporary
``git worktree`` that is removed at the end. Each run is a fresh ``python -m bench BENCH
ARGS`` subprocess of this interpreter with ``cwd`` and ``PYTHONPATH`` set to the side's tree,
which shadows the venv's editable install, so each side imports its own code (a probe prints
where ``bench``, ``gridscope`` and ``queries`` come from on each side and stops if a module
resolves outside its tree). The rounds are interleaved, base, current, base, current, … (N
rounds, default 2), so that the machine's noise hits both sides alike. Both sides use the same
environment, hence the same scratch databases, one after the other.

Each run's output (stdout and stderr) is printed under a header as it arrives. At the end, a
summary table: every number followed by a unit (ms, s, KB, KiB, MB, MiB, GB, or a rate such as
/s or tickets/s) that both sides print, matched by its label (the text before it on its line,
digits ignored) and its unit, with the base median, the current median and current / base
(below 1 is faster for times, above 1 is faster for rates). A measurement that only one side
prints is listed under the table, not summarised. The exit status is 1 if a run failed (the
remaining rounds are then skipped), 2 for a wrong command line.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

BENCHES = ("load", "feed", "api", "imports", "layers", "layerslive", "explore", "analytics")
ROOT = Path(__file__).resolve().parents[1]  # the working tree this file belongs to
PROBE_MODULES = ("bench", "gridscope", "queries")
USAGE = "usage: python -m bench compare --base REV [--rounds N] -- BENCH [ARGS...]"

# A number (1,234.5) not glued to a word (p95, T5), then its unit, which does not run on.
MEASURE = re.compile(
    r"(?<![\w.])(?P<num>\d[\d,]*(?:\.\d+)?)\s?"
    r"(?P<unit>ms|s|KB|KiB|MB|MiB|GB|[A-Za-z]*/s)(?![\w/])"
)
# Where a label starts: after ", " or "; " (thousands commas have no space after them).
SEPARATOR = re.compile(r"[;,]\s")
DIGITS = re.compile(r"\d[\d,.]*")
LABEL_TRIM = " \t=:;,"


@dataclass(frozen=True)
class Measure:
    """One number with a unit read off a benchmark's output line."""

    key: tuple[str, str, int]  # (label with digits as #, unit, occurrence in the run's output)
    label: str
    unit: str
    value: float
    decimals: int


def parse_measures(text: str) -> list[Measure]:
    """The numbers with a unit in ``text``, each labelled by the text before it on its line."""
    out: list[Measure] = []
    seen: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        found = list(MEASURE.finditer(line))
        if not found:
            continue
        # A line's head (the text before its first colon, else its first measure's label)
        # tells apart measures that share a short label ("warm", "p95") on different lines.
        colon = line.find(":")
        head_end = colon + 1 if 0 <= colon < found[0].start() else 0
        head = _clean(line[:colon]) if head_end else ""
        prev_end = head_end
        for m in found:
            seps = [s.end() for s in SEPARATOR.finditer(line, prev_end, m.start())]
            label = _clean(line[max([prev_end, *seps]) : m.start()])
            if not head:
                head, label = label, ""
            full = " › ".join(p for p in (head, label) if p) or "(unlabelled)"
            template = (DIGITS.sub("#", full), m["unit"])
            seen[template] += 1
            num = m["num"].replace(",", "")
            out.append(
                Measure(
                    key=(*template, seen[template]),
                    label=full,
                    unit=m["unit"],
                    value=float(num),
                    decimals=len(num.partition(".")[2]),
                )
            )
            prev_end = m.end()
    return out


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(LABEL_TRIM)
    # Drop a bracket the label's cut left unpaired: "(raw 45.6 KB)", "max 5.6 ms (target …".
    if text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:].strip(LABEL_TRIM)
    if text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].strip(LABEL_TRIM)
    return text


def summary(base_runs: list[str], current_runs: list[str]) -> str:
    """The summary table of the measures both sides print, and a list of the others."""
    sides = []
    for runs in (base_runs, current_runs):
        by_key: dict[tuple[str, str, int], list[Measure]] = {}
        for text in runs:
            for m in parse_measures(text):
                by_key.setdefault(m.key, []).append(m)
        sides.append(by_key)
    base, current = sides
    both = [k for k in current if k in base]
    rows = []
    for k in both:
        b, c = base[k], current[k]
        dp = max(m.decimals for m in b + c)
        b_med = statistics.median(m.value for m in b)
        c_med = statistics.median(m.value for m in c)
        ratio = f"{c_med / b_med:.2f}" if b_med else "–"
        rows.append((c[0].label, c[0].unit, f"{b_med:,.{dp}f}", f"{c_med:,.{dp}f}", ratio))
    lines = [
        f"== summary: median of {len(base_runs)} base and {len(current_runs)} current run(s);"
        " ratio = current / base (< 1 faster for times, > 1 faster for rates) =="
    ]
    if rows:
        width = min(max(len(r[0]) for r in rows), 90)
        uw = max(4, *(len(r[1]) for r in rows))
        lines.append(f"{'measure':<{width}}  {'unit':<{uw}}  {'base':>12}  {'current':>12}  ratio")
        for label, unit, bm, cm, ratio in rows:
            if len(label) > width:
                label = label[: width - 1] + "…"
            lines.append(f"{label:<{width}}  {unit:<{uw}}  {bm:>12}  {cm:>12}  {ratio:>5}")
    else:
        lines.append("(no measure printed by both sides)")
    for name, mine, other in (("base", base, current), ("current", current, base)):
        alone = [ms[0] for k, ms in mine.items() if k not in other]
        if alone:
            lines.append(f"printed by {name} only, not summarised:")
            lines.extend(f"  {m.label} [{m.unit}]" for m in alone)
    return "\n".join(lines)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)  # ahead of the venv's editable install of the working tree
    env["PYTHONUNBUFFERED"] = "1"
    return env


def probe(name: str, tree: Path) -> None:
    """Print where the side's subprocess imports its packages from; exit if outside ``tree``."""
    code = (
        "import importlib\n"
        f"for name in {PROBE_MODULES!r}:\n"
        "    try:\n"
        "        print(name, importlib.import_module(name).__file__)\n"
        "    except ImportError:\n"
        "        print(name, '-')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        module, _, path = line.partition(" ")
        print(f"  {name:<7} {module:<9} {path}")
        if path != "-" and not Path(path).resolve().is_relative_to(tree.resolve()):
            sys.exit(f"{name}: {module} is imported from {path}, outside {tree}")


def run(name: str, tree: Path, label: str, argv: list[str]) -> tuple[str, int]:
    """One ``python -m bench`` run in ``tree``, echoed as it goes; (output, exit status)."""
    print(f"\n===== {label}: python -m bench {' '.join(argv)}  [{tree}] =====", flush=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", *argv],
        cwd=tree,
        env=_env(tree),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    rc = proc.wait()
    if rc:
        print(f"----- {name} run exited with status {rc}")
    return "".join(lines), rc


def _misuse(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(2)  # as argparse does for the benchmarks' own wrong options


def parse_args(argv: list[str]) -> tuple[str, int, list[str]]:
    """(base revision, rounds, benchmark argv) from the command line; exits 2 on misuse."""
    if "--" not in argv:
        _misuse(USAGE)
    cut = argv.index("--")
    opts, bench_argv = argv[:cut], argv[cut + 1 :]
    base, rounds = None, 2
    it = iter(opts)
    for opt in it:
        key, eq, value = opt.partition("=")
        if key not in ("--base", "--rounds"):
            _misuse(f"unknown option {opt!r}\n{USAGE}")
        value = value if eq else next(it, "")
        if key == "--base":
            base = value
        elif value.isdigit() and int(value) > 0:
            rounds = int(value)
        else:
            _misuse(f"--rounds needs a positive integer, not {value!r}")
    if not base or not bench_argv or bench_argv[0] not in BENCHES:
        _misuse(f"{USAGE}\nBENCH is one of {', '.join(BENCHES)}")
    return base, rounds, bench_argv


def main(argv: list[str]) -> None:
    """Run the comparison described in the module docstring."""
    base_rev, rounds, bench_argv = parse_args(argv)
    try:
        sha = _git("rev-parse", "--verify", f"{base_rev}^{{commit}}")
    except subprocess.CalledProcessError:
        _misuse(f"not a git revision: {base_rev!r}")
    tmp = Path(tempfile.mkdtemp(prefix="gridscope-bench-base-"))
    tree = tmp / "tree"
    _git("worktree", "add", "--detach", str(tree), sha)
    outputs: dict[str, list[str]] = {"base": [], "current": []}
    failed = False
    try:
        sides = {"base": tree, "current": ROOT}
        print(f"base {base_rev} = {sha[:12]} in {tree}; current = working tree {ROOT}")
        for name, side_tree in sides.items():
            probe(name, side_tree)
        for r in range(1, rounds + 1):
            for name, side_tree in sides.items():
                text, rc = run(name, side_tree, f"round {r}/{rounds}, {name}", bench_argv)
                if rc:
                    failed = True
                    break
                outputs[name].append(text)
            if failed:
                print("a run failed: the remaining rounds are skipped")
                break
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)])
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(summary(outputs["base"], outputs["current"]))
    if failed:
        sys.exit(1)
