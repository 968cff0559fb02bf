"""The one exception file imports raise for refused input."""

from __future__ import annotations


class ImportRefused(ValueError):
    """The file, mapping or options cannot be imported; the message is one user-facing line.

    Raised before anything is written (or inside the transaction, which is then rolled back).
    """
