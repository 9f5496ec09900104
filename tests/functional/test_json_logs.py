"""``TANGKAL_LOG_FORMAT=json``: every line ``tangkal serve`` writes is one JSON object,
uvicorn's start-up lines and the access log included."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.support import live_server, server_database


def _events(text: str) -> list[dict[str, Any]]:
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        assert line.strip(), f"line {number} is empty"
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"line {number} is not JSON: {line!r}") from exc
        assert isinstance(event, dict), line
        assert {"timestamp", "level", "event"} <= set(event), line
        events.append(event)
    return events


def test_json_logs_one_object_per_line_with_the_access_log() -> None:
    with (
        server_database("sqlite") as url,
        live_server(url, {"TANGKAL_LOG_FORMAT": "json"}) as server,
    ):
        assert httpx.get(server.url + "/api/v1/public/lookup?domain=example.org").status_code
        assert httpx.get(server.url + "/readyz").status_code == 200
        deadline = time.monotonic() + 30
        while True:  # the access line is written after the answer is sent
            events = _events(server.log())
            access = [e for e in events if e["event"] == "http request"]
            if any(e["path"] == "/readyz" for e in access) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    readyz = [e for e in access if e["path"] == "/readyz"]
    assert readyz, events
    assert readyz[0]["method"] == "GET" and readyz[0]["status"] == 200
    assert readyz[0]["logger"] == "uvicorn.access" and readyz[0]["level"] == "info"
    assert any(e["path"].startswith("/api/v1/public/lookup") for e in access)
    said = {e["event"] for e in events}
    assert "tangkal serving" in said  # serve's own banner
    assert "rpz primary serving" in said  # a structlog event of tangkal's
    assert any(e.get("logger", "").startswith("uvicorn") and e not in access for e in events)
