"""A private PostgreSQL cluster for one test, which the test may stop and start at will.

The machine's shared PostgreSQL serves every other test (and other test workers at the same
time), so a test about a database restart must never touch it. This starts Debian's own
binaries on a fresh data directory of its own, as the ``postgres`` OS user (``initdb``
refuses to run as root), listening on one free loopback port with trust authentication and
its socket in its own directory; :func:`private_cluster` stops and removes it afterwards,
whatever the test did.

``fsync`` is off: the tests stop the server with ``pg_ctl stop -m immediate`` (every
PostgreSQL process ends at once, as after a crash), which loses nothing the kernel already
holds, so syncing to disk would only make the test slower; an operating-system crash is not
what these tests are about.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"


@dataclass
class Cluster:
    """One private PostgreSQL: its directory, port and the URL of its ``tangkal`` database."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/tangkal"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        as_root = os.geteuid() == 0
        cmd = ["runuser", "-u", OS_USER, "--", *args] if as_root else list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    def _ctl(self, *args: str) -> None:
        r = self._run(str(BIN / "pg_ctl"), "-D", str(self.data), *args)
        assert r.returncode == 0, f"pg_ctl {' '.join(args)}: {r.stdout}{r.stderr}"

    def start(self) -> None:
        """Start and wait (``-w``) until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.root} -c fsync=off -c max_connections=200"
        )
        self._ctl("-l", str(self.root / "postgres.log"), "-o", options, "-w", "-t", "60", "start")

    def stop_immediately(self) -> None:
        """Every PostgreSQL process ends at once, without a checkpoint: a crash."""
        self._ctl("-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "status").returncode == 0

    def log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A fresh cluster with an empty ``tangkal`` database; stopped and removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="tangkal-pg-"))
    user = pwd.getpwnam(OS_USER)
    if os.geteuid() == 0:
        os.chown(root, user.pw_uid, user.pw_gid)
    cluster = Cluster(root, free_port())
    try:
        r = cluster._run(
            str(BIN / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        cluster.start()
        r = cluster._run(
            str(BIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            "tangkal",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running():
            cluster._run(str(BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
