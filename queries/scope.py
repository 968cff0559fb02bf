"""The caller's jurisdiction: a region or grid code prefix applied in SQL by every query."""

from __future__ import annotations

import re
from dataclasses import dataclass

# National codes are digits; imported data from elsewhere may carry letters (permissive code rule).
_PREFIX = re.compile(r"^[0-9A-Za-z_-]{0,32}$")


class ScopeError(ValueError):
    """A jurisdiction prefix that is not a well-formed code prefix."""


@dataclass(frozen=True)
class Scope:
    """A jurisdiction: everything whose grid or region code starts with ``prefix``.

    The empty prefix is the whole database (the super-user view of the command centre that loaded
    the data). Built on the server from configuration or the user's account, never from a value
    the browser sent.
    """

    prefix: str = ""
    # True for NOWHERE: the scope of a request with no signed-in caller, which matches nothing.
    empty: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str) or not _PREFIX.fullmatch(self.prefix):
            raise ScopeError(f"jurisdiction prefix {self.prefix!r} is not a code prefix")

    @property
    def like(self) -> str:
        """The bound LIKE pattern: the prefix, '_' escaped (LIKE's default escape is a
        backslash), then '%'. Codes may contain '_' under the permissive code rule. NOWHERE's
        pattern is '' (matches only the empty string, and no code is empty)."""
        if self.empty:
            return ""
        return self.prefix.replace("_", "\\_") + "%"

    @property
    def key(self) -> str:
        """The scope's part of a cache key: the prefix, '*' for the whole database, '!' for
        NOWHERE (so the two never share an entry)."""
        if self.empty:
            return "!"
        return self.prefix or "*"

    def contains(self, code: str) -> bool:
        return not self.empty and isinstance(code, str) and code.startswith(self.prefix)

    def within(self, other: Scope) -> bool:
        """True when every code of this scope is also in ``other``."""
        return self.empty or (not other.empty and self.prefix.startswith(other.prefix))

    def narrow(self, code: str) -> Scope:
        """A sub-scope; refuses a code outside this scope (so a browser cannot widen it)."""
        child = Scope(code)
        if self.empty or not code.startswith(self.prefix):
            raise ScopeError(f"{code!r} is outside the jurisdiction {self.prefix or '(all)'!r}")
        return child


def bounded_scope(deployment: Scope, jurisdiction: str) -> Scope | None:
    """The scope of an account, wall link or token bound to ``jurisdiction`` inside the
    deployment's bound: the narrower of the two, or None when they do not overlap (or the
    jurisdiction is not a code prefix): such a caller sees nothing and is refused."""
    try:
        own = Scope(jurisdiction)
    except ScopeError:
        return None
    if own.within(deployment):
        return own
    if deployment.within(own):
        return deployment
    return None


WHOLE = Scope("")
NOWHERE = Scope("", empty=True)
