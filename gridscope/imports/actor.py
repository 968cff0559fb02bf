"""Who an import run from the command line is, for its audit row: the operating-system user
($USER, else "cli"), bound to the deployment's jurisdiction (the same actor every other
command-line change is audited as, gridscope.cli.user.cli_actor)."""

from __future__ import annotations

import os

from domain.config import Settings
from queries.admin import Actor
from queries.scope import Scope


def command_line_actor(settings: Settings) -> Actor:
    """The command line as the actor of an audited change in the deployment of ``settings``."""
    return Actor.command_line(os.environ.get("USER", "") or "cli", Scope(settings.jurisdiction))
