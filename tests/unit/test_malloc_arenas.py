"""gridscope serve caps glibc's malloc arenas before gunicorn forks (gridscope/wsgi.py)."""

from __future__ import annotations

import platform

from gridscope import wsgi


def test_the_arena_cap_is_set_on_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    libc, _ = platform.libc_ver()
    assert libc == "glibc"  # the machines this runs on (Debian)
    assert wsgi.limit_malloc_arenas() is True


def test_the_environment_decides_when_it_names_a_cap(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert wsgi.limit_malloc_arenas() is False
