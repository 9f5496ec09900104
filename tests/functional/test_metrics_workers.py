"""``tangkal serve --workers 2``: every scrape of ``/metrics`` shows every worker's values
(prometheus-client's multiprocess mode), so the RPZ primary's metrics, which only one
worker has, are in each scrape, and a counter is the sum over the workers; the text parses
with prometheus-client's own parser."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
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
        warm = _until_serving(server.url)  # both workers up, the primary's serial set
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
    assert counted == [float(warm + n) for n in range(SCRAPES)], counted
    # The directory was serve's own and is gone with it; the test's environment never had it.
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert "Traceback" not in log


_scrapes = [0]  # scrapes made by this module's second test, counted by the server too


def _scrape(server_url: str) -> dict[str, Any]:
    _scrapes[0] += 1
    r = httpx.get(server_url + "/metrics", timeout=30, headers={"Connection": "close"})
    assert r.status_code == 200
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def _workers(families: dict[str, Any]) -> dict[int, str]:
    """pid -> background label, from the one gauge that keeps a series per live worker."""
    family = families.get("tangkal_worker_start_time_seconds")
    return {int(s.labels["pid"]): s.labels["background"] for s in family.samples} if family else {}


def _until_serving(server_url: str, dead: int | None = None) -> int:
    """Scrape until two workers (neither ``dead``) are up and the RPZ primary has set its
    serial (it starts a moment after its worker does); how many scrapes that took."""
    deadline = time.monotonic() + 60
    made = 0
    while True:
        families = _scrape(server_url)
        made += 1
        workers = _workers(families)
        serial = families.get("tangkal_rpz_serial")
        if len(workers) == 2 and dead not in workers and serial and serial.samples:
            return made
        assert time.monotonic() < deadline, f"not serving: {workers}, {serial}"
        time.sleep(0.2)


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


@pytest.mark.postgres
def test_a_dead_workers_gauges_leave_the_scrape_and_none_is_counted_twice(
    tmp_path: Path,
) -> None:
    """SIGKILL the worker running the RPZ primary: uvicorn's supervisor starts another, which
    takes the primary over, and marks the dead pid dead for prometheus-client
    (tangkal.api.workers). No scrape after that shows a series of the dead pid, the
    primary's gauges are one series each (not one per worker that ever ran it), the counters
    keep the dead worker's counts, and a stale value file in an operator's directory from a
    previous run is gone at start."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    _scrapes[0] = 0
    stale_pid = 4_000_000  # above Linux's pid_max: a pid no live process has
    # A value file of a previous run, as prometheus-client writes it.
    stale = MmapedDict(str(metrics_dir / f"gauge_liveall_{stale_pid}.db"))
    stale.write_value(
        mmap_key("tangkal_worker_start_time_seconds", "tangkal_worker_start_time_seconds",
                 ["background"], ["true"], "stale"),
        1.0, 0.0,
    )  # fmt: skip
    stale.close()
    with (
        server_database("postgresql") as url,
        live_server(
            url,
            extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
            serve_args=("--workers", "2"),
        ) as server,
    ):
        _until_serving(server.url)
        families = _scrape(server.url)
        workers = _workers(families)
        assert stale_pid not in workers  # the directory was emptied at start
        assert set(workers) <= _children(server.process.pid)
        assert sorted(workers.values()) == ["false", "true"]
        serial = families["tangkal_rpz_serial"].samples
        assert len(serial) == 1 and "pid" not in serial[0].labels and serial[0].value > 0
        for _ in range(10):  # counts of /metrics in both workers, the one to die too
            _scrape(server.url)
        primary = next(pid for pid, background in workers.items() if background == "true")
        os.kill(primary, signal.SIGKILL)

        _until_serving(server.url, dead=primary)  # the replacement is up and took over
        workers = _workers(_scrape(server.url))
        assert sorted(workers.values()) == ["false", "true"]  # the new worker took it over
        assert set(workers) <= _children(server.process.pid)
        for _ in range(4):  # either worker may answer: the same from both
            families = _scrape(server.url)
            pids = {
                s.labels["pid"]
                for family in families.values()
                for s in family.samples
                if "pid" in s.labels
            }
            assert pids == {str(pid) for pid in workers}, pids  # the dead pid is gone
            for name in ("tangkal_rpz_serial", "tangkal_rpz_names"):
                samples = families[name].samples
                assert len(samples) == 1 and "pid" not in samples[0].labels, (name, samples)
            assert families["tangkal_rpz_serial"].samples[0].value == serial[0].value
        # Every scrape but this one (and perhaps the one the killed worker was counting as it
        # died) is counted: the dead worker's counts stay in the sum.
        assert _metrics_scrapes(families) >= _scrapes[0] - 2, (families, _scrapes)
        log = server.log()
    assert not any(metrics_dir.glob(f"gauge_live*_{primary}.db"))
    assert "Traceback" not in log


def _metrics_scrapes(families: dict[str, Any]) -> float:
    return sum(
        s.value
        for s in families["tangkal_http_requests"].samples
        if s.name == "tangkal_http_requests_total" and s.labels.get("route") == "/metrics"
    )
