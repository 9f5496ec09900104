"""``tangkal serve --workers 2``: every scrape of ``/metrics`` shows every worker's values
(prometheus-client's multiprocess mode), so the RPZ primary's metrics, which only one
worker has, are in each scrape, and a counter is the sum over the workers; the text parses
with prometheus-client's own parser."""

from __future__ import annotations

import os

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import live_server, pg_available, server_database

SCRAPES = 12


@pytest.mark.postgres
def test_every_scrape_under_two_workers_has_all_metrics() -> None:
    if not pg_available():
        pytest.skip("--workers needs PostgreSQL")
    with (
        server_database("postgresql") as url,
        live_server(url, serve_args=("--workers", "2")) as server,
    ):
        seen: list[set[str]] = []
        counted: list[float] = []
        for _ in range(SCRAPES):
            # A fresh connection each time: the kernel spreads them over the workers.
            r = httpx.get(server.url + "/metrics", timeout=30, headers={"Connection": "close"})
            assert r.status_code == 200
            families = {f.name: f for f in text_string_to_metric_families(r.text)}
            seen.append(set(families))
            serial = families["tangkal_rpz_serial"].samples
            assert serial and serial[0].value > 0  # set by the one worker running the primary
            scrapes = [
                sample.value
                for sample in families["tangkal_http_requests"].samples
                if sample.name == "tangkal_http_requests_total"
                and sample.labels == {"method": "GET", "route": "/metrics", "status": "200"}
            ]
            counted.append(scrapes[0] if scrapes else 0.0)
        log = server.log()
    assert all(names == seen[0] for names in seen), "scrapes differ by worker"
    assert {"tangkal_rpz_serial", "tangkal_rpz_names"} <= seen[0]
    # the database's counts are asked at scrape time: the same families from either worker
    assert {
        "tangkal_orders",
        "tangkal_orders_overdue",
        "tangkal_delivery_messages",
        "tangkal_metrics_database_up",
        "tangkal_delivery_attempts",
        "tangkal_match_seconds",
    } <= seen[0]
    # Each scrape counts the ones before it, whichever worker answered them: summed.
    assert counted == [float(n) for n in range(SCRAPES)], counted
    # The directory was serve's own and is gone with it; the test's environment never had it.
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert "Traceback" not in log
