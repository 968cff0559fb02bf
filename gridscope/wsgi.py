"""gunicorn embedding: each worker builds its own app (own pool, own cache client) after fork.

Each server gets its own gunicorn control socket, named after its bind address: gunicorn's
default (``$XDG_RUNTIME_DIR/gunicorn.ctl`` or ``~/.gunicorn/gunicorn.ctl``) is one path per
user, so a second server on the machine replaced the first one's socket and removed it when it
stopped (issue #10)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from gunicorn.app.base import BaseApplication

from domain.config import Settings

from .memory import limit_malloc_arenas, start_trimming

# sockaddr_un.sun_path holds 108 bytes with its terminating NUL.
MAX_SOCKET_PATH = 107
log = logging.getLogger(__name__)

# Settings that only newer gunicorns have (control_socket: 25.1).
OPTIONAL_SETTINGS = frozenset({"control_socket"})


class GridscopeServer(BaseApplication):
    """gunicorn running ``create_app(settings)`` in each worker (the app's clock comes from the
    settings' ``fixed_now``, else the system clock)."""

    def __init__(self, settings: Settings, options: dict):
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in OPTIONAL_SETTINGS and key not in self.cfg.settings:
                continue  # an older gunicorn without it: nothing to clobber either
            self.cfg.set(key, value)

    def load(self):
        from app import create_app

        return create_app(self._settings).server


def runtime_dir() -> Path:
    """Where gunicorn keeps control sockets by default: $XDG_RUNTIME_DIR, else ~/.gunicorn."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return Path(xdg)
    return Path.home() / ".gunicorn"


def control_socket_path(host: str, port: int, base: Path | None = None) -> str:
    """The control socket of the server bound to ``host:port``: one per bind address, so two
    servers never share one (a shortened, hashed name when the path would be too long)."""
    base = base if base is not None else runtime_dir()
    label = re.sub(r"[^0-9A-Za-z.-]+", "_", host.strip("[]")) or "any"
    path = base / f"gridscope-{label}-{port}.ctl"
    if len(os.fsencode(str(path))) > MAX_SOCKET_PATH:
        digest = hashlib.blake2b(f"{host}:{port}".encode(), digest_size=6).hexdigest()
        path = base / f"gs-{digest}.ctl"
    return str(path)


def gunicorn_options(host: str, port: int, workers: int, max_requests: int = 0) -> dict:
    """The gunicorn settings of ``gridscope serve``; ``max_requests`` > 0 replaces a worker
    after that many requests plus a random 0-10 % drawn per worker (gunicorn's jitter)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": 4,
        "worker_class": "gthread",
        "timeout": 60,
        "accesslog": None,
        "preload_app": False,
        "control_socket": control_socket_path(host, port),
        "post_worker_init": _worker_booted,
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10,
    }


def _worker_booted(_worker) -> None:
    """gunicorn's post_worker_init hook: each worker trims its heap (gridscope/memory.py)."""
    start_trimming()


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn (gthread, 4 threads per worker) until stopped."""
    if not limit_malloc_arenas():
        log.info("malloc arenas left to the C library's default")
    options = gunicorn_options(host, port, workers, settings.worker_max_requests)
    GridscopeServer(settings, options).run()
