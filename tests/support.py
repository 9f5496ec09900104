"""Test support shared by unit and functional tests: databases, factories, live servers.

Every database test runs on SQLite and, when it is reachable, on the local PostgreSQL
(``TANGKAL_TEST_PG``, default ``postgresql://postgres@127.0.0.1:5432/test``). Each test gets
its own empty schema: a copy of a migrated SQLite file, or a freshly truncated PostgreSQL
database created for this test run.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, event, text

PG_ADMIN_URL = os.environ.get("TANGKAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        engine = create_engine(
            PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
            connect_args={"connect_timeout": 3},
        )
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def backends() -> list[str]:
    wanted = os.environ.get("TANGKAL_TEST_BACKENDS")
    if wanted:
        return [b.strip() for b in wanted.split(",") if b.strip()]
    return ["sqlite", "postgresql"] if pg_available() else ["sqlite"]


def create_pg_database(prefix: str = "tangkal_t") -> str:
    """A brand-new PostgreSQL database for this run; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def own_database(backend: str, prefix: str = "tangkal_own") -> Iterator[str]:
    """The URL of a database of ``backend`` no one else uses, with no tables: a fresh SQLite
    file or a fresh PostgreSQL database, removed afterwards. For a live server, and for the
    tests that migrate a database down (the shared per-test database never is)."""
    if backend == "sqlite":
        d = tempfile.mkdtemp(prefix=prefix.replace("_", "-") + "-")
        try:
            yield f"sqlite:///{d}/tangkal.db"
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        url = create_pg_database(prefix)
        try:
            yield url
        finally:
            drop_pg_database(url)


@contextmanager
def server_database(backend: str) -> Iterator[str]:
    """A database of ``backend`` for one live server. A server never shares its database
    with another server: two primaries on one database would both notify the same
    subscribers."""
    with own_database(backend, "tangkal_srv") as url:
        yield url


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` sends while the block runs (SQLAlchemy's
    ``before_cursor_execute``), for the tests that hold a read to a fixed number of them."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port free for TCP *and* UDP (the DNS port of a server takes both), never
    one this process handed out before: the kernel's next ephemeral port for TCP may be in
    use for UDP by a resolver another test started."""
    for _ in range(200):
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            if port in _handed_out:
                continue
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no loopback port free for both TCP and UDP after 200 tries")


_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def run_cli(
    *args: str,
    env: dict[str, str],
    input: str | None = None,
    cwd: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``tangkal`` command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "tangkal.cli.main", *args],
        env={**os.environ, **env},
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


_HERE = threading.Lock()


def run_cli_here(
    *args: str, env: dict[str, str], input: str | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The same ``tangkal`` command, run inside the test process.

    A functional test's setup (organisations, tokens, people, keys) is a few hundred
    commands per run; as processes each paid Python's start-up and the imports (1–2 s on
    the 2-core CI machine, minutes in all), in here each costs milliseconds. What it runs is
    the real command line (typer parses the arguments, the command opens the server's
    database from ``env``); only the process is shared. The caches that read the
    environment are cleared on the way in and out, so neither the command nor the test
    process sees the other's settings. Tests *of* the command line's process behaviour
    (exit on a bad environment, ``serve``, signals) use :func:`run_cli`.
    """
    from typer.testing import CliRunner

    from tangkal.cli.main import app
    from tangkal.settings import get_settings
    from tangkal.sop import profile as sop_profile

    with _HERE:
        before = os.getcwd()
        known = dict(sop_profile._LOADED)
        get_settings.cache_clear()
        try:
            if cwd:
                os.chdir(cwd)
            result = CliRunner().invoke(app, list(args), input=input, env=env)
        finally:
            os.chdir(before)
            get_settings.cache_clear()
            sop_profile.load_profile.cache_clear()
            sop_profile._LOADED.clear()
            sop_profile._LOADED.update(known)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["tangkal", *args], result.exit_code, result.stdout, stderr)


@dataclass
class LiveServer:
    """A real ``tangkal serve`` process on loopback."""

    url: str
    dns_port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli_here(*args, env=self.env, input=input, cwd=str(self.workdir))

    def user(self, org: str, username: str, role: str, password: str) -> None:
        """A console user made by ``tangkal user create``, the password on stdin as a person
        types it (never an argument: see docs/security.md); a setup step, so it must work."""
        r = self.cli(
            "user", "create", "--org", org, "--username", username, "--role", role,
            "--password-stdin", input=password + "\n",
        )  # fmt: skip
        assert r.returncode == 0, f"tangkal user create {org}/{username}: {r.stderr}{r.stdout}"

    def cli_process(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """The command as its own process, for a test of what the process does."""
        return run_cli(*args, env=self.env, input=input, cwd=str(self.workdir))

    def token(self, org: str, role: str) -> str:
        key = f"{org}/{role}"
        if key not in self.tokens:
            r = self.cli("token", "create", "--org", org, "--role", role)
            assert r.returncode == 0, r.stderr
            self.tokens[key] = r.stdout.strip()
        return self.tokens[key]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the test process dies, even if it is killed, so an
    interrupted run never leaves servers behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


#: The test receivers listen on 127.0.0.1 over plain http, which a real server refuses
#: (tangkal.delivery.webhook_url, tangkal.delivery.egress): every live server of the suite
#: allows them. A test of the refusals overrides both in ``extra_env``.
TEST_WEBHOOK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
TEST_WEBHOOK_ENV = {
    "TANGKAL_WEBHOOK_ALLOW_HTTP": "true",
    "TANGKAL_WEBHOOK_ALLOW_NETWORKS": ",".join(str(n) for n in TEST_WEBHOOK_NETWORKS),
}


@contextmanager
def live_server(
    database_url: str,
    extra_env: dict[str, str] | None = None,
    serve_args: tuple[str, ...] = (),
) -> Iterator[LiveServer]:
    workdir = Path(tempfile.mkdtemp(prefix="tangkal-live-"))
    port, dns_port = free_port(), free_port()
    env = {
        "TANGKAL_DATABASE_URL": database_url,
        "TANGKAL_DATA_DIR": str(workdir),
        "TANGKAL_SCHEDULER_INTERVAL": "0.2",
        "TANGKAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **TEST_WEBHOOK_ENV,
        **(extra_env or {}),
    }
    log_path = workdir / "server.log"
    upgrade = run_cli("db", "upgrade", env=env, cwd=str(workdir))
    assert upgrade.returncode == 0, upgrade.stderr
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tangkal.cli.main",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dns-port",
                str(dns_port),
                *serve_args,
            ],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=_die_with_parent,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", dns_port, env, proc, workdir, log_path)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("tangkal serve did not start:\n" + server.log())
        time.sleep(0.1)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
