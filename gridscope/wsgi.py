"""gunicorn embedding: each worker builds its own app (own pool, own cache client) after fork."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from domain.config import Settings


class GridscopeServer(BaseApplication):
    """gunicorn running ``create_app(settings)`` in each worker (the app's clock comes from the
    settings' ``fixed_now``, else the system clock)."""

    def __init__(self, settings: Settings, options: dict):
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from app import create_app

        return create_app(self._settings).server


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn (gthread, 4 threads per worker) until stopped."""
    GridscopeServer(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": 4,
            "worker_class": "gthread",
            "timeout": 60,
            "accesslog": None,
            "preload_app": False,
        },
    ).run()
