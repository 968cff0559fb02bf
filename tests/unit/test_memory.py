"""gridscope serve runs its processes under glibc's allocator with a capped number of arenas and
trims the heap in each worker (gridscope/memory.py, the 2-hour soak of issue #10)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

from gridscope import memory


def test_the_machines_this_runs_on_have_glibc():
    libc, _ = platform.libc_ver()
    assert libc == "glibc"  # Debian: every measure below must take effect, not fall back


def test_the_arena_cap_is_set_on_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_malloc_arenas() is True


def test_the_environment_decides_when_it_names_a_cap(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False


def test_the_process_is_exec_d_again_under_the_c_allocator_once(tmp_path):
    # A child that asks to be re-exec'd: it must come back under PYTHONMALLOC=malloc with the
    # same pid and arguments, run its body once more, and not exec a third time.
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            from gridscope import memory
            print("start", os.getpid(), os.environ.get("PYTHONMALLOC"), sys.argv[1:], flush=True)
            memory.reexec_with_system_malloc()
            print("body", os.getpid(), sys._xoptions, flush=True)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
    env["PYTHONPATH"] = os.getcwd()
    out = subprocess.run(
        [sys.executable, "-X", "dev", str(script), "a b", "c"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert len(out) == 3, out
    first, second, body = (line.split(" ", 2) for line in out)
    assert first[0] == second[0] == "start" and body[0] == "body"
    assert first[1] == second[1] == body[1]  # one process, exec'd in place
    assert first[2].startswith("None ") and second[2].startswith("malloc ")
    assert first[2].split(" ", 1)[1] == second[2].split(" ", 1)[1] == "['a b', 'c']"
    assert "'dev': True" in body[2]  # interpreter options survive the exec


def test_nothing_is_exec_d_when_the_environment_chose_an_allocator(monkeypatch):
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")
    assert memory.system_malloc_argv() is None
    monkeypatch.delenv("PYTHONMALLOC")
    assert memory.system_malloc_argv() == [sys.executable, *sys.orig_argv[1:]]


def test_a_trim_gives_back_the_pages_a_peak_left_behind():
    import ctypes

    # Many small blocks (under the mmap threshold: they live in the heap), every other one kept
    # a moment, then all freed except a few at the top: the heap's free pages stay mapped
    # until a trim.
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4000) for _ in range(20_000)]
    for b in blocks:
        ctypes.memset(b, 1, 4000)
    keep = libc.malloc(100)  # above the freed blocks: the heap's top cannot shrink by itself
    for b in blocks:
        libc.free(b)
    before = _rss_kib()
    assert memory.trim() is True
    after = _rss_kib()
    libc.free(keep)
    assert before - after > 40_000, (before, after)  # about 80 MB were given back
    assert memory.start_trimming(3600).is_alive()


def _rss_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")
