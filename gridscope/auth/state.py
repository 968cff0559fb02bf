"""Per-app state of the access layer (kept in ``app.extensions``, never at module level)."""

from __future__ import annotations

from dataclasses import dataclass

import flask

from queries.lockout import Lockout

EXTENSION_KEY = "gridscope_auth"


@dataclass
class AuthState:
    lockout: Lockout


def state() -> AuthState:
    return flask.current_app.extensions[EXTENSION_KEY]
