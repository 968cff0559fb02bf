"""The report's HTML printed to an A4 PDF by headless Chromium (Debian's ``chromium``), offline:
the HTML is a temporary file with every resource inline, fonts are the system's (fonts-noto-cjk,
installed by scripts/setup.sh).

Flags (checked against Chromium 120–156): ``--headless`` (the new headless mode),
``--no-pdf-header-footer`` (no URL/date lines: the stylesheet's @page margin boxes carry the page
numbers), a throw-away ``--user-data-dir`` so concurrent reports never share a profile lock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120.0


class PdfError(RuntimeError):
    """The PDF could not be made; the message says why and what to install."""


def chromium_binary() -> str:
    """The Chromium to print with: the first of CHROMIUM_CANDIDATES on PATH; PdfError naming
    the package when there is none."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(
        "the PDF report needs headless Chromium and none is on PATH: run scripts/setup.sh "
        "(or apt-get install chromium fonts-noto-cjk)"
    )


def html_to_pdf(html: str, out: Path, *, timeout_s: float = TIMEOUT_S) -> Path:
    """Print ``html`` (a complete, self-contained document) to ``out`` as PDF; returns ``out``.
    PdfError when Chromium is missing, fails, or takes longer than ``timeout_s``."""
    binary = chromium_binary()
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="gs-report-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html, encoding="utf-8")
        target = Path(tmp) / "report.pdf"
        cmd = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={target}",
            src.as_uri(),
        ]
        # HOME in the temporary directory: a service account's home may be read-only.
        env = {**os.environ, "HOME": tmp}
        # A session of its own, so a timeout ends Chromium's helper processes too.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            _, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PdfError(f"Chromium did not print the report within {timeout_s:.0f} s") from None
        if proc.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            tail = " | ".join((stderr or "").strip().splitlines()[-3:])
            raise PdfError(f"Chromium failed to print the report (exit {proc.returncode}): {tail}")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), out)
    return out
