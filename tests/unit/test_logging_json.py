"""JSON logs keep an event with a traceback on one line, for tangkal's structlog events
and for standard-library records alike (a subprocess: the set-up is process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import logging, warnings
import structlog
from tangkal.logging import configure_logging
configure_logging()
try:
    1 / 0
except ZeroDivisionError:
    structlog.get_logger("tangkal.test").exception("structlog failed", order=7)
    logging.getLogger("some.library").exception("stdlib failed")
warnings.warn("a warning")
logging.getLogger("uvicorn.access").info(
    '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", "/api/v1/orders?x=1", "1.1", 201
)
"""


def test_json_lines_with_tracebacks_warnings_and_access() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANGKAL_")}
    env["TANGKAL_LOG_FORMAT"] = "json"
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    events = [json.loads(line) for line in r.stderr.splitlines()]
    by_event = {e["event"]: e for e in events}
    assert len(events) == 4, r.stderr
    mine = by_event["structlog failed"]
    assert mine["order"] == 7 and mine["level"] == "error" and mine["logger"] == "tangkal.test"
    assert "ZeroDivisionError" in mine["exception"]
    theirs = by_event["stdlib failed"]
    assert theirs["logger"] == "some.library" and "ZeroDivisionError" in theirs["exception"]
    assert any("a warning" in e["event"] for e in events)
    access = by_event["http request"]
    assert access["method"] == "POST" and access["status"] == 201
    assert access["path"] == "/api/v1/orders?x=1" and access["client"] == "127.0.0.1:5"
