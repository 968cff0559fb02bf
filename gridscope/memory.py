"""How a server process holds its memory over weeks on a wall (issue #10, the 2-hour soak).

Three measures, all for glibc (Debian); elsewhere each one does nothing and says so:

- **The C allocator for Python objects** (``PYTHONMALLOC=malloc``). pymalloc hands out small
  objects from 1 MiB arenas and gives an arena back only once every object in it is free. A
  feed computation builds tens of megabytes of small objects for a moment (10,995 grid rows
  of the large city); a few long-lived objects allocated meanwhile by the request threads
  keep some of those arenas, and each worker grew by one such step of 20-25 MB holding the
  same live data (gdb on the 200-screen soak: 86.2 and 86.4 MB allocated, 20 MB apart in
  arenas). glibc can give back any free page inside its heap (``malloc_trim``), so a
  moment's peak does not stay. The setting is read when the interpreter starts:
  ``gridscope serve`` execs itself again with it (``reexec_with_system_malloc``).
- **Two malloc arenas per process** (``M_ARENA_MAX``): glibc gives each thread that contends
  an arena of its own, up to 8 per core, each keeping its own free pieces.
- **A fixed mmap threshold and a trim every ``TRIM_S``** in each worker
  (``start_trimming``): buffers from 256 KiB up (JSON text, gzip bytes) are mapped and
  unmapped whole instead of raising glibc's dynamic threshold and staying in the heap, and
  the free pages the peaks leave inside the heap go back to the system.

``MALLOC_ARENA_MAX`` or ``PYTHONMALLOC`` in the environment win over the first two.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

MALLOC_ARENAS = 2
MMAP_THRESHOLD = 256 * 1024
TRIM_S = 10.0
# mallopt parameter numbers, <malloc.h>
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    # musl has no mallopt nor malloc_trim: the measures then do nothing.
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas in this process and the workers it forks, and fix the mmap
    threshold; False where there is no glibc or MALLOC_ARENA_MAX already decides."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def system_malloc_argv() -> list[str] | None:
    """The command line to exec this process again under ``PYTHONMALLOC=malloc``, or None
    when it already runs so, the environment chose an allocator, or there is no glibc."""
    if "PYTHONMALLOC" in os.environ or _libc() is None:
        return None
    return [sys.executable, *sys.orig_argv[1:]]


def reexec_with_system_malloc() -> None:
    """Replace this process by itself under ``PYTHONMALLOC=malloc`` (see the module
    docstring); returns only when nothing needs doing. Call it before any work: the new
    process starts from the top, with the same pid, arguments and standard streams."""
    argv = system_malloc_argv()
    if argv is None:
        return
    os.environ["PYTHONMALLOC"] = "malloc"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


def trim() -> bool:
    """Give the free pages inside the heap back to the system now: True when some went back,
    False when none did or there is no glibc."""
    libc = _libc()
    return libc is not None and bool(libc.malloc_trim(0))


def start_trimming(interval_s: float = TRIM_S) -> threading.Thread | None:
    """A daemon thread trimming the heap every ``interval_s`` (a gunicorn worker, after it
    booted); None without glibc. Each trim takes a few milliseconds with the allocator
    locked: rare enough not to show in a poll's latency."""
    libc = _libc()
    if libc is None:
        log.info("no glibc: the heap is not trimmed")
        return None

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            libc.malloc_trim(0)

    thread = threading.Thread(target=loop, name="gridscope-trim", daemon=True)
    thread.start()
    return thread
