"""``/metrics`` under ``tangkal serve --workers N``: prometheus-client's multiprocess mode.

Each worker is its own process with its own counters, and a scrape reaches whichever worker
the kernel hands the connection to: without help, a scrape shows one worker's requests and,
unless it lands on the worker that runs the background services, no RPZ, scheduler or
compliance metrics at all (issue 11 saw 4 scrapes of 10 without them). In multiprocess mode
every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` and any worker's
``/metrics`` reads them all: counters and histograms summed over the workers (also those
that have died and been replaced, so totals never go back), gauges per process with a
``pid`` label (prometheus-client's default ``all`` mode; only the worker running the
background services sets the RPZ and compliance gauges, so there is one series each).

``tangkal serve --workers N`` (N > 1) sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh
directory before the workers start and removes it when the server stops. An operator may
set it instead (a directory that survives the server, for a tmpfs of their choosing); its
old value files are removed at start, as prometheus-client requires, since values of a
previous run would otherwise be added to this one's. One process (``--workers 1``) keeps the
plain in-process registry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir_in_use() -> str | None:
    """The directory the workers write their values to, when in multiprocess mode."""
    return os.environ.get(ENV) or None


def exposition(*collectors: Collector) -> bytes:
    """The Prometheus text for ``/metrics``: every worker's values in multiprocess mode,
    this process's otherwise, followed by ``collectors`` asked afresh (the database's
    counts, :mod:`tangkal.api.dbmetrics`), which are the same whichever worker answers."""
    path = multiprocess_dir_in_use()
    if path is None:
        text = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)
        text = generate_latest(registry)
    if collectors:
        extra = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            extra.register(collector)
        text += generate_latest(extra)
    return text


@contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """For the life of a multi-worker server: ``PROMETHEUS_MULTIPROC_DIR`` set and empty of
    value files before any worker starts (each worker imports prometheus-client afresh and
    sees it); a directory made here is removed afterwards, one an operator gave is kept."""
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    made = Path(tempfile.mkdtemp(prefix="tangkal-metrics-"))
    os.environ[ENV] = str(made)
    try:
        yield made
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(made, ignore_errors=True)
