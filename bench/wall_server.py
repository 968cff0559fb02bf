"""The servers under test of the wall load benchmark: start ``gridscope serve`` from a source
tree (the working tree, or a ``git worktree`` of an older revision), find the processes of a
running server by its listening port, and read their CPU time and memory from /proc (psutil is
not in the venv). Also the wall links and the API token the benchmark needs, made and revoked
with the ``gridscope`` command line of the working tree.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


SKIP_SCHEMA_CHECK = (
    "import sys, queries.migrate as m; m.check_schema = lambda conn: None; "
    "sys.argv[0] = 'gridscope'; from gridscope.cli import main; main()"
)


def schema_heads(tree: Path) -> str:
    """The newest migration revision the code in ``tree`` knows (e.g. "0005")."""
    versions = (tree / "queries" / "migrations" / "versions").glob("[0-9]*_*.py")
    return max((p.name.split("_", 1)[0] for p in versions), default="")


@dataclass
class Server:
    label: str
    url: str
    proc: subprocess.Popen | None = None  # None when attached to a server started elsewhere
    log_path: Path | None = None
    temp_dirs: list[Path] = field(default_factory=list)

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for d in self.temp_dirs:
            shutil.rmtree(d, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    tree: Path,
    database_url: str,
    redis_url: str,
    workers: int,
    label: str,
    log_dir: Path,
    port: int | None = None,
    skip_schema_check: bool = False,
) -> Server:
    """``gridscope serve --workers N`` of the code in ``tree`` on 127.0.0.1, healthy.

    Sign-ins are not rate limited (every virtual screen opens its own wall session from one
    address), and the server gets a control-socket directory of its own so that two servers
    (current and --rev) do not replace each other's gunicorn.ctl. ``skip_schema_check`` lets an
    older revision serve a database that newer (additive) migrations have reached: its
    ``queries.migrate.check_schema`` is replaced by a no-op before anything imports it."""
    port = port or free_port()
    runtime = Path(tempfile.mkdtemp(prefix=f"gs-wall-{label}-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "GRIDSCOPE_LOGIN_RATE": "1000000 per minute",
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONPATH": str(tree),  # shadows the venv's editable install of the working tree
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{label}.log"
    cmd = [sys.executable, "-m", "gridscope.cli", "serve", "--host", "127.0.0.1"]
    if skip_schema_check:
        cmd[1:3] = ["-c", SKIP_SCHEMA_CHECK]
    cmd += ["--port", str(port), "--workers", str(workers)]
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(label, f"http://127.0.0.1:{port}", proc, log_path, [runtime])
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=3) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise SystemExit(f"server {label} did not start ({cmd}):\n{tail}")
        time.sleep(0.5)


def add_worktree(rev: str) -> Path:
    """A detached ``git worktree`` of ``rev`` in a temporary directory."""
    path = Path(tempfile.mkdtemp(prefix="gs-wall-rev-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
        check=True,
        capture_output=True,
    )
    return path


def remove_worktree(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
        capture_output=True,
    )
    shutil.rmtree(path.parent, ignore_errors=True)


# --- processes of a server, from /proc ---------------------------------------------------------


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(f[9])
    return inodes


def server_pids(port: int) -> list[int]:
    """The processes holding the listening socket of ``port``: gunicorn's master and workers."""
    wanted = {f"socket:[{i}]" for i in _listening_inodes(port)}
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    pids.append(int(d.name))
                    break
        except OSError:
            continue
    return sorted(pids)


def client_ports(pids: list[int], remote_port: int = 5432) -> set[int]:
    """Local ports of the TCP connections ``pids`` hold to ``remote_port`` (their database
    connections), so that their PostgreSQL backends can be told from other clients'."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[9] in inodes and int(f[2].rsplit(":", 1)[1], 16) == remote_port:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def process_cpu(pids: list[int]) -> dict[int, float]:
    """{pid: user + system CPU seconds} of the live ones among ``pids``."""
    out = {}
    for pid in pids:
        f = _stat(pid)
        if f:
            out[pid] = (int(f[11]) + int(f[12])) / TICK
    return out


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids``, plus what their reaped children used (a worker that
    gunicorn replaced during the run still counts, through its master)."""
    total = 0
    for pid in pids:
        f = _stat(pid)
        if f:
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / TICK


def rss_bytes(pids: list[int]) -> int:
    """Sum of the resident sets of ``pids`` (shared pages counted in each)."""
    total = 0
    for pid in pids:
        f = _stat(pid)
        if f:
            total += int(f[21]) * PAGE
    return total


def pss_bytes(pids: list[int]) -> int:
    """Sum of the proportional set sizes (shared pages split between sharers)."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        if m:
            total += int(m.group(1)) * 1024
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (/proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    total = sum(f[:8])
    return (total - idle) / TICK, total / TICK


# --- wall links and a token, through the command line ---------------------------------------


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "gridscope.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def create_wall(database_url: str, jurisdiction: str, name: str) -> tuple[int, str]:
    """(wall id, /wall/<secret> path) of a new wall link for ``jurisdiction``."""
    done = _cli(database_url, "wall", "create", "--jurisdiction", jurisdiction, "--name", name)
    m = re.search(r"created wall link (\d+)", done.stderr)
    path = next(line for line in done.stdout.splitlines() if line.startswith("/wall/"))
    return (int(m.group(1)) if m else -1), path.strip()


def revoke_wall(database_url: str, wall_id: int) -> None:
    if wall_id > 0:
        _cli(database_url, "wall", "revoke", str(wall_id))


def create_token(database_url: str, jurisdiction: str, name: str) -> str:
    """A read-write dispatcher token for ``jurisdiction`` (gs_<prefix>_<secret>)."""
    done = _cli(database_url, "token", "create", "--name", name, "--jurisdiction", jurisdiction)
    return next(w for w in done.stdout.split() if w.startswith("gs_"))


def revoke_token(database_url: str, token: str) -> None:
    _cli(database_url, "token", "revoke", token.split("_")[1])


def start_live(
    database_url: str, redis_url: str, options: list[str], log_dir: Path
) -> subprocess.Popen:
    """``gridscope demo live`` (working tree) writing tickets, steps and GPS fixes meanwhile."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    log = open(log_dir / "demo-live.log", "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "gridscope.cli", "demo", "live", *options],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def forget_positions(redis_url: str) -> int:
    """Delete the worker-position store keys (``gs:v1:<ns>:pos:*``) in ``redis_url``'s
    database, so that a server whose Redis database ``demo live`` does not write to reloads
    the current positions from PostgreSQL (its layer then carries as many workers as the
    other side's). Returns the keys deleted."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match="gs:v1:*:pos:*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)
