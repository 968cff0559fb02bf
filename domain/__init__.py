"""The pure core: the rules of grid-based service management, with no I/O.

Nothing here opens a connection, a file or a socket, reads the time of day, or imports
``queries``, ``layers``, ``dashboard`` or ``gridscope``; every layer above builds on it.
See docs/architecture.md for the tiers.
"""
