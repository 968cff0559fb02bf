"""Private PostgreSQL 15 clusters for the fault tier: a primary the tests may stop and start,
and streaming replicas cloned from it with ``pg_basebackup -R``.

The shared server on 5432 must never be stopped by a test, so every fault test runs on its own
cluster (initdb into a temporary directory, a free port, trust authentication on loopback only).
PostgreSQL refuses to run as root: under root the binaries run as the ``postgres`` user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("GRIDSCOPE_PG_BIN", "/usr/lib/postgresql/15/bin"))

# Fast and small: the tier checks behaviour, not durability (fsync off), and several clusters
# run beside the shared one on a 2-core machine.
BASE_CONF = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'64MB'",
    "max_connections": "100",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "wal_keep_size": "'256MB'",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "jit": "off",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    # A suite run under libfaketime must not preload it into the server (see private_redis).
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKE")}


def _as_owner() -> list[str]:
    """The prefix that runs a PostgreSQL binary as a non-root user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    assert runuser, "running as root needs runuser to start PostgreSQL as the postgres user"
    return [runuser, "-u", "postgres", "--"]


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        _as_owner() + args, env=_clean_env(), capture_output=True, text=True, **kw
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return proc


class PrivateCluster:
    """One PostgreSQL cluster in a temporary directory: ``start()``, ``stop()``, ``url(db)``,
    ``replica()`` (a streaming standby of this one), ``destroy()``."""

    def __init__(self, root: Path, port: int, data: Path):
        self.root, self.port, self.data = root, port, data
        self.log = root / f"{data.name}.log"

    @classmethod
    def create(cls, conf: dict[str, str] | None = None) -> PrivateCluster:
        """A new initialised (not yet started) primary."""
        root = Path(tempfile.mkdtemp(prefix="gs_faults_"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        cluster = cls(root, free_port(), root / "primary")
        _run(
            [str(PG_BIN / "initdb"), "-D", str(cluster.data), "-U", "postgres"]
            + ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
        )
        cluster._configure({**BASE_CONF, **(conf or {})})
        return cluster

    def _configure(self, conf: dict[str, str]) -> None:
        lines = [f"{k} = {v}" for k, v in conf.items()]
        lines += [f"port = {self.port}", f"unix_socket_directories = '{self.root}'"]
        auto = self.data / "postgresql.auto.conf"
        with open(auto, "a") as f:  # replicas keep pg_basebackup -R's primary_conninfo
            f.write("\n".join(lines) + "\n")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self, timeout: float = 30) -> None:
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
            + ["-w", "-t", str(int(timeout)), "start"]
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint)."""
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        proc = subprocess.run(
            _as_owner() + [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
            env=_clean_env(),
            capture_output=True,
        )
        return proc.returncode == 0

    def connect(self, dbname: str = "postgres", **kw) -> psycopg.Connection:
        kw.setdefault("autocommit", True)
        kw.setdefault("connect_timeout", 5)
        return psycopg.connect(self.url(dbname), **kw)

    def replica(self, conf: dict[str, str] | None = None) -> PrivateCluster:
        """A streaming standby cloned from this (running) cluster, started. ``conf`` adds
        settings, e.g. {"recovery_min_apply_delay": "'2s'"} to simulate replica lag."""
        name = f"replica{len(list(self.root.glob('replica*/')))}"
        standby = PrivateCluster(self.root, free_port(), self.root / name)
        _run(
            [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port)]
            + ["-U", "postgres", "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast"]
        )
        standby._configure(conf or {})
        standby.start()
        return standby

    def wait_replayed(self, primary: PrivateCluster, timeout: float = 10) -> None:
        """Wait until this standby has replayed everything ``primary`` has written so far."""
        with primary.connect() as p:
            target = p.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect() as s:
            while time.monotonic() < deadline:
                done = s.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)
                ).fetchone()[0]
                if done:
                    return
                time.sleep(0.05)
        raise TimeoutError(f"standby on {self.port} did not replay up to {target}")

    def remove(self) -> None:
        """Stop this cluster (a replica made by ``replica()``) and delete its directory."""
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.data, ignore_errors=True)

    def destroy(self) -> None:
        """Stop every cluster under this root and remove the directory."""
        for data in self.root.iterdir():
            if (data / "PG_VERSION").exists():
                subprocess.run(
                    _as_owner()
                    + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate"]
                    + ["-w", "stop"],
                    env=_clean_env(),
                    capture_output=True,
                )
        shutil.rmtree(self.root, ignore_errors=True)
