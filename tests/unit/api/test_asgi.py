"""With several worker processes, exactly one live process runs the background services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tangkal.api import asgi

HOLD = (
    "import sys\n"
    "from tangkal.api.asgi import claim_primary\n"
    "print(claim_primary(sys.argv[1]), flush=True)\n"
    "sys.stdin.read()\n"
)


def test_only_one_process_is_primary_and_another_takes_over_when_it_dies(tmp_path: Path) -> None:
    lock = str(tmp_path / "primary.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, lock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        other = subprocess.run(
            [sys.executable, "-c", HOLD, lock], input="", capture_output=True, text=True, timeout=60
        )
        assert other.stdout.strip() == "False"
    finally:
        holder.kill()
        holder.wait(timeout=30)
    again = subprocess.run(
        [sys.executable, "-c", HOLD, lock], input="", capture_output=True, text=True, timeout=60
    )
    assert again.stdout.strip() == "True"


def test_the_primary_keeps_its_claim(tmp_path: Path) -> None:
    lock = str(tmp_path / "p.lock")
    assert asgi._held is None
    try:
        assert asgi.claim_primary(lock) and asgi.claim_primary(lock)
    finally:
        if asgi._held is not None:
            asgi._held.close()
            asgi._held = None
