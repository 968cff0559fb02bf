"""``gridscope serve`` (gunicorn) started as a real subprocess for tests, stopped, and its
worker processes listed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from domain.config import Settings
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[1]


def serve(settings: Settings, port: int, workers: int, home: Path, **env: str) -> subprocess.Popen:
    """``gridscope serve`` on ``port`` with ``settings``' database, the tests' Redis, ``home``
    as HOME (its control socket) and ``env`` on top; none of the caller's GRIDSCOPE_ variables.
    Its log is ``home/serve-<port>.log``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDSCOPE_", "XDG_RUNTIME"))}
    base.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=REDIS_URL,
        HOME=str(home),
        PYTHONPATH=str(ROOT),
        **env,
    )
    cmd = [sys.executable, "-m", "gridscope.cli", "serve", "--port", str(port)]
    with open(home / f"serve-{port}.log", "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [*cmd, "--workers", str(workers)],
            cwd=ROOT,
            env=base,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, and wait for it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (a gunicorn master's workers)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]
