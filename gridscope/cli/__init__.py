"""The `gridscope` command. Usage errors exit with 2; operational errors print one line, exit 1.

One module per command group: ``db``, ``demo``, ``serve``, ``sweep``, ``token``, ``imports``
(`gridscope import`), ``user``, ``wall``, ``audit``; ``common`` holds the ``main`` group, the
settings and the command's clock. Importing this package registers every command on ``main``.
"""

from __future__ import annotations

from . import (  # noqa: F401
    audit,
    db,
    demo,
    docs,
    imports,
    report,
    rollup,
    serve,
    sweep,
    token,
    user,
    wall,
)
from .common import AppContext, fail, main, pass_app

__all__ = ["AppContext", "fail", "main", "pass_app"]
