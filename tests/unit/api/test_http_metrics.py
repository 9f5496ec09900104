"""Requests are counted by method, route template and status (bounded labels)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.settings import Settings


def _counts(text: str) -> dict[tuple[str, str, str], float]:
    for family in text_string_to_metric_families(text):
        if family.name == "tangkal_http_requests":
            return {
                (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
                for s in family.samples
                if s.name == "tangkal_http_requests_total"
            }
    return {}


def test_requests_by_route_template_and_status(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/m.db")
    app = create_app(db, Settings(), background=False)
    try:
        with TestClient(app) as client:
            before = _counts(client.get("/metrics").text)
            client.get("/healthz")
            client.get("/api/v1/orders/123")  # no token: refused, counted by template
            client.get("/no/such/path")
            after = _counts(client.get("/metrics").text)
    finally:
        db.dispose()

    def grew(key: tuple[str, str, str]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert grew(("GET", "/healthz", "200")) == 1
    assert grew(("GET", "/metrics", "200")) == 1  # the first scrape, counted after it
    assert grew(("GET", "unmatched", "404")) == 1
    # the counters are the process's: other tests in this worker may have counted before
    orders = [k for k in after if k[1].startswith("/api/v1/orders/{") and grew(k)]
    assert orders and all(k[2] == "401" for k in orders), after
    assert not any("123" in k[1] for k in after)  # never the raw path
