"""Writing the report's files: which formats, what the files are called, masking once for the
reader, then the PDF (HTML through headless Chromium) and the xlsx."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import Any

from domain.access import Tier

from .html import render
from .pdf import PdfError, html_to_pdf
from .tables import masked
from .xlsx import write_xlsx

FORMATS = ("pdf", "xlsx")
MIME_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_SAFE = re.compile(r"[^0-9A-Za-z_.-]")


class ReportError(RuntimeError):
    """The report could not be written; the message says why (Chromium missing, …)."""


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """'pdf,xlsx' (or a list) as a tuple of known formats in the given order, duplicates
    dropped; ValueError naming an unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        fmt = item.strip().lower()
        if not fmt:
            continue
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {item.strip()!r}: use {', '.join(FORMATS)}")
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise ValueError(f"no format given: use {', '.join(FORMATS)}")
    return tuple(out)


def file_name(data: dict[str, Any], fmt: str) -> str:
    """'report_330402_2026-10.pdf': area code ('all' for the whole database) and period key,
    safe for any file system and for scripts that pick the files up."""
    meta = data.get("meta") or {}
    area = _SAFE.sub("_", str(meta.get("area") or "all"))
    period = _SAFE.sub("_", str(meta.get("period") or "period"))
    return f"report_{area}_{period}.{fmt}"


def download_name(data: dict[str, Any], fmt: str) -> str:
    """'南湖区运行分析报告_2026-10.pdf': the name a browser saves the download under."""
    meta = data.get("meta") or {}
    name = str(meta.get("area_name") or meta.get("area") or "全辖区")
    return f"{name}运行分析报告_{meta.get('period', '')}.{fmt}"


def write_report(
    data: dict[str, Any],
    formats: Iterable[str],
    out_dir: Path,
    *,
    org: str,
    tier: Tier,
    tz: tzinfo | None = None,
) -> list[Path]:
    """Write ``data`` (a collect() result) in each of ``formats`` into ``out_dir``, personal
    columns masked for a reader of ``tier``, times shown in ``tz``; returns the paths, in the
    order of ``formats``. ReportError when a file cannot be made."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create the output directory {out_dir}: {exc}") from None
    safe = masked(data, tier)
    paths = []
    for fmt in parse_formats(list(formats)):
        path = out_dir / file_name(safe, fmt)
        try:
            if fmt == "pdf":
                html_to_pdf(render(safe, org=org, tz=tz), path)
            else:
                write_xlsx(safe, path, org=org, tz=tz)
        except PdfError as exc:
            raise ReportError(str(exc)) from None
        except OSError as exc:
            raise ReportError(f"cannot write {path}: {exc}") from None
        paths.append(path)
    return paths
