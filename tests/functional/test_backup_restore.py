"""``tangkal db backup`` while the server runs and ``tangkal db restore`` after it stopped, on
SQLite and PostgreSQL (pg_dump/pg_restore): the restored database serves the zone of the
backup under a serial ahead of every serial served before, so secondaries take it, and its
audit chain verifies with the restore on the record."""

from __future__ import annotations

import time
from pathlib import Path

import dns.message
import dns.query
import httpx
import pytest

from tangkal.rpz.values import serial_lt
from tests.support import LiveServer, backends, live_server, run_cli, server_database, unique

ZONE = "rpz.tangkal."


def _serial(live: LiveServer) -> int:
    r = dns.query.udp(
        dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=live.dns_port, timeout=2
    )
    return int(r.answer[0][0].serial)


def _import(live: LiveServer, names: list[str]) -> None:
    path = live.workdir / f"{unique('list')}.txt"
    path.write_text("\n".join(names) + "\n")
    r = live.cli(
        "block",
        "import",
        str(path),
        "--legal-basis",
        "UU ITE Pasal 40",
        "--reason",
        "terrorist propaganda",
        "--by-official",
    )
    assert r.returncode == 0, r.stderr


def _blocked(live: LiveServer, name: str) -> bool:
    answer = httpx.get(live.url + "/api/v1/public/lookup", params={"domain": name}, timeout=10)
    return bool(answer.json()["blocked"])


def _wait_serial_past(live: LiveServer, serial: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = _serial(live)
        if serial_lt(serial, now):
            return now
        time.sleep(0.1)
    raise AssertionError(f"the served serial never moved past {serial}")


@pytest.mark.parametrize("backend", backends())
def test_a_restore_serves_the_backup_under_a_serial_ahead_of_all_served(
    backend: str, tmp_path: Path
) -> None:
    base = unique("bak")
    kept = [f"kept{i}.{base}.example.com" for i in range(3)]
    lost = [f"lost{i}.{base}.example.com" for i in range(2)]
    backup = tmp_path / "tangkal.backup"
    with server_database(backend) as url:
        with live_server(url) as live:
            _import(live, kept)
            at_backup = _wait_serial_past(live, 0)
            made = live.cli("db", "backup", str(backup))
            assert made.returncode == 0, made.stderr
            assert "sha256" in made.stdout and backup.stat().st_size > 0
            _import(live, lost)  # after the backup: lost by the restore
            served = _wait_serial_past(live, at_backup)
            env = dict(live.env)
        # the server is stopped, as the command asks
        done = run_cli("db", "restore", str(backup), env=env, cwd=str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert "RPZ serial" in done.stdout
        with live_server(url) as live:
            after = _serial(live)
            # ahead of what secondaries hold, though the backup's own serial is older
            assert serial_lt(served, after) and serial_lt(at_backup, after)
            assert all(_blocked(live, n) for n in kept)
            assert not any(_blocked(live, n) for n in lost)
            verify = live.cli("audit", "verify")
            assert verify.returncode == 0, verify.stdout + verify.stderr
            blocks = live.cli("block", "list", "--domain", lost[0])
            assert lost[0] not in blocks.stdout


def test_restore_refuses_a_missing_file_and_leaves_the_database(tmp_path: Path) -> None:
    with server_database("sqlite") as url, live_server(url) as live:
        r = live.cli("db", "restore", str(tmp_path / "nothing.backup"))
        assert r.returncode != 0
        assert "No backup file" in r.stderr + r.stdout
        assert _serial(live) > 0  # still serving
