"""The `gridscope` command. Usage errors exit with 2; operational errors print one line, exit 1.

One module per command group: ``db``, ``demo``, ``serve``, ``sweep``, ``token``, ``imports``
(`gridscope import grids|tickets`), ``import_roster`` (`gridscope import staff|departments|
template`), ``import_micro`` (`gridscope import micro-grids`), ``grids`` (`gridscope grids
history`: boundary decisions), ``items`` (the item list), ``calendar`` (the work calendar),
``check`` (`gridscope check staffing`), ``user``, ``wall``, ``audit``; ``common`` holds the
``main`` group, the settings and the command's clock, ``geo_options`` the options of the two
boundary imports. Importing this package registers every command on ``main``.
"""

from __future__ import annotations

from . import (  # noqa: F401
    audit,
    calendar,
    check,
    db,
    demo,
    docs,
    grids,
    import_micro,
    import_roster,
    imports,
    items,
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
