"""Modules stay small: one concept each, split by concern past ~400 lines (STYLE.md §9).

A module may be longer only when its docstring says why, in a paragraph that starts with
"Why this module is long:" — a reader then knows the length is a decision, not drift.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
REASON = "Why this module is long:"


def product_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for top in ("domain", "queries", "layers", "dashboard", "gridscope", "bench"):
        files += sorted((ROOT / top).rglob("*.py"))
    return files


def too_long(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    if len(text.splitlines()) <= LIMIT:
        return False
    doc = ast.get_docstring(ast.parse(text)) or ""
    return REASON not in doc


def test_no_module_is_over_the_limit_without_a_reason():
    offenders = [
        f"{p.relative_to(ROOT)} ({len(p.read_text(encoding='utf-8').splitlines())} lines)"
        for p in product_files()
        if too_long(p)
    ]
    assert offenders == [], f"split by concern, or say '{REASON} …' in the docstring"


def test_the_check_sees_a_long_module_and_accepts_a_reason(tmp_path):
    body = "x = 1\n" * (LIMIT + 1)
    plain = tmp_path / "plain.py"
    plain.write_text('"""A module."""\n' + body, encoding="utf-8")
    reasoned = tmp_path / "reasoned.py"
    reasoned.write_text(f'"""A module.\n\n{REASON} one table.\n"""\n' + body, encoding="utf-8")
    assert too_long(plain) and not too_long(reasoned)
